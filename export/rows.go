package export

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/tidwall/gjson"

	"github.com/eventsql/eventsql/internal/jsonscan"
	"github.com/eventsql/eventsql/typeinfer"
)

// rowBuilder makes the text of row values (base64 of non-JSON data) in a
// scratch buffer: values it makes stay valid until reset.
type rowBuilder struct {
	ts      Timestamps
	scratch []byte
}

func (rb *rowBuilder) reset() {
	rb.scratch = rb.scratch[:0]
}

// keep copies b into scratch and returns the copy.
func (rb *rowBuilder) keep(n int, fill func(dst []byte)) []byte {
	if cap(rb.scratch)-len(rb.scratch) < n {
		rb.scratch = make([]byte, 0, max(2*cap(rb.scratch), 1<<16, n))
	}
	start := len(rb.scratch)
	rb.scratch = rb.scratch[:start+n]
	dst := rb.scratch[start : start+n : start+n]
	fill(dst)
	return dst
}

func strBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// text is data or metadata as text: JSON as written, other bytes base64.
func (rb *rowBuilder) text(b []byte, isJSON bool) []byte {
	if isJSON {
		return b
	}
	return rb.keep(base64.StdEncoding.EncodedLen(len(b)), func(dst []byte) { base64.StdEncoding.Encode(dst, b) })
}

func (rb *rowBuilder) timestamp(micros int64) parquet.Value {
	if rb.ts == TimestampsInt96 {
		return parquet.Int96Value(toInt96(micros))
	}
	return parquet.Int64Value(micros)
}

// toInt96 encodes a time as Parquet's legacy INT96: nanoseconds of the day
// (8 bytes, little endian) then the Julian day number (4 bytes).
func toInt96(micros int64) deprecated.Int96 {
	const microsPerDay = 86_400_000_000
	const julianEpoch = 2_440_588 // Julian day of 1970-01-01
	day := micros / microsPerDay
	rem := micros % microsPerDay
	if rem < 0 {
		rem += microsPerDay
		day--
	}
	nanos := uint64(rem) * 1000
	return deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(day + julianEpoch)}
}

// typedValue converts a JSON value (of kind jk, raw as written) to a
// column kind like the SQL tables: a null value, or one that does not
// fit, is NULL (false).
func (rb *rowBuilder) typedValue(kind typeinfer.Kind, jk gjson.Type, raw string, escaped bool) (parquet.Value, bool) {
	if jk == gjson.Null || raw == "" {
		return parquet.Value{}, false
	}
	switch kind {
	case typeinfer.KindInt:
		if jk == gjson.Number {
			if i, err := strconv.ParseInt(raw, 10, 64); err == nil {
				return parquet.Int64Value(i), true
			}
		}
	case typeinfer.KindFloat:
		if jk == gjson.Number {
			// As gjson's Float: out of range is ±Inf (NULL here).
			if f, _ := strconv.ParseFloat(raw, 64); !math.IsInf(f, 0) {
				return parquet.DoubleValue(f), true
			}
		}
	case typeinfer.KindBool:
		switch jk {
		case gjson.True:
			return parquet.BooleanValue(true), true
		case gjson.False:
			return parquet.BooleanValue(false), true
		}
	case typeinfer.KindDatetime:
		if jk == gjson.String {
			if tm, err := time.Parse(time.RFC3339Nano, jsonscan.Unquote(raw, escaped)); err == nil {
				return rb.timestamp(tm.UnixMicro()), true
			}
		}
	case typeinfer.KindString:
		if jk == gjson.String {
			return parquet.ByteArrayValue(strBytes(jsonscan.Unquote(raw, escaped))), true
		}
	default:
		return parquet.ByteArrayValue(strBytes(raw)), true
	}
	return parquet.Value{}, false
}
