package export

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/tidwall/gjson"

	"github.com/eventsql/eventsql/typeinfer"
)

// rowBuilder builds parquet rows. Values it makes point into the batch
// and into its scratch buffer, so rows stay valid until reset.
type rowBuilder struct {
	ts      Timestamps
	values  []parquet.Value // backing store of the rows built since reset
	scratch []byte
}

func (rb *rowBuilder) reset() {
	clear(rb.values)
	rb.values = rb.values[:0]
	rb.scratch = rb.scratch[:0]
}

// alloc returns n values for one row. Growing the backing store leaves
// rows handed out earlier on the old array, which stays valid.
func (rb *rowBuilder) alloc(n int) parquet.Row {
	if cap(rb.values)-len(rb.values) < n {
		rb.values = make([]parquet.Value, 0, max(2*cap(rb.values), 64*n))
	}
	start := len(rb.values)
	rb.values = rb.values[:start+n]
	return rb.values[start : start+n : start+n]
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

func (rb *rowBuilder) uuid(id *[16]byte) []byte {
	return rb.keep(36, func(dst []byte) {
		hex.Encode(dst[0:8], id[0:4])
		dst[8] = '-'
		hex.Encode(dst[9:13], id[4:6])
		dst[13] = '-'
		hex.Encode(dst[14:18], id[6:8])
		dst[18] = '-'
		hex.Encode(dst[19:23], id[8:10])
		dst[23] = '-'
		hex.Encode(dst[24:36], id[10:16])
	})
}

// text is data or metadata as text: JSON as written, other bytes base64.
func (rb *rowBuilder) text(b []byte, isJSON bool) []byte {
	if isJSON {
		return b
	}
	return rb.keep(base64.StdEncoding.EncodedLen(len(b)), func(dst []byte) { base64.StdEncoding.Encode(dst, b) })
}

func (rb *rowBuilder) timestamp(micros int64) parquet.Value {
	if rb.ts == TimestampsInt96 {
		return parquet.Int96Value(int96(micros))
	}
	return parquet.Int64Value(micros)
}

// int96 encodes a time as Parquet's legacy INT96: nanoseconds of the day
// (8 bytes, little endian) then the Julian day number (4 bytes).
func int96(micros int64) deprecated.Int96 {
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

func required(v parquet.Value, col int) parquet.Value { return v.Level(0, 0, col) }
func optional(v parquet.Value, col int) parquet.Value { return v.Level(0, 1, col) }
func null(col int) parquet.Value                      { return parquet.NullValue().Level(0, 0, col) }

// typedRow builds a by_type row of r with columns cols, whose typed
// columns take fields[src[i]] (values by field index, unset = missing).
func (rb *rowBuilder) typedRow(b *batch, r *evRow, cols []Column, src []int, fields []gjson.Result) parquet.Row {
	row := rb.alloc(len(cols))
	row[tyPosition] = required(parquet.Int64Value(int64(r.pos)), tyPosition)
	row[tyStream] = required(parquet.ByteArrayValue(strBytes(r.stream)), tyStream)
	row[tyVersion] = required(parquet.Int64Value(r.version), tyVersion)
	row[tyEventID] = required(parquet.ByteArrayValue(rb.uuid(&r.id)), tyEventID)
	row[tyCreatedAt] = required(rb.timestamp(r.created), tyCreatedAt)
	if r.meta.n == 0 {
		row[tyMetadata] = null(tyMetadata)
	} else {
		row[tyMetadata] = optional(parquet.ByteArrayValue(rb.text(b.bytes(r.meta), r.metaJSON)), tyMetadata)
	}
	for i := numTypedBaseColumns; i < len(cols); i++ {
		var v gjson.Result
		if f := src[i-numTypedBaseColumns]; f < len(fields) {
			v = fields[f]
		}
		val, ok := rb.typedValue(kindOf(cols[i]), v)
		if ok {
			row[i] = optional(val, i)
		} else {
			row[i] = null(i)
		}
	}
	return row
}

// typedValue converts a JSON value to a column kind like the SQL tables:
// a missing or null value, or one that does not fit, is NULL.
func (rb *rowBuilder) typedValue(kind typeinfer.Kind, v gjson.Result) (parquet.Value, bool) {
	if v.Type == gjson.Null || v.Raw == "" {
		return parquet.Value{}, false
	}
	switch kind {
	case typeinfer.KindInt:
		if v.Type == gjson.Number {
			if i, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
				return parquet.Int64Value(i), true
			}
		}
	case typeinfer.KindFloat:
		if v.Type == gjson.Number {
			if f := v.Float(); !math.IsInf(f, 0) {
				return parquet.DoubleValue(f), true
			}
		}
	case typeinfer.KindBool:
		switch v.Type {
		case gjson.True:
			return parquet.BooleanValue(true), true
		case gjson.False:
			return parquet.BooleanValue(false), true
		}
	case typeinfer.KindDatetime:
		if v.Type == gjson.String {
			if tm, err := time.Parse(time.RFC3339Nano, v.Str); err == nil {
				return rb.timestamp(tm.UnixMicro()), true
			}
		}
	case typeinfer.KindString:
		if v.Type == gjson.String {
			return parquet.ByteArrayValue(strBytes(v.Str)), true
		}
	default:
		return parquet.ByteArrayValue(strBytes(v.Raw)), true
	}
	return parquet.Value{}, false
}
