// eventsql: this file is eventsql's own (not upstream's); see doc.go.

package server

import (
	"bytes"
	"math"
	"strconv"
	"time"

	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// wireKind is how a column's values become wire text: through GMS's
// Type.SQL (wireGeneric), or written straight into the batch's buffer
// for the types eventsql's tables use most. The text is GMS's, byte for
// byte (wireconv_test.go compares them), except for DOUBLE, written as
// MySQL writes it (appendDouble); a value of another Go type than
// expected, or outside the range handled here, takes GMS's path.
//
// GMS's path costs a type switch and conversion per value and, for
// DATETIME, a rounding, range check and eight strconv calls: ~10% of
// the server's CPU in a SELECT * of events.
type wireKind uint8

const (
	wireGeneric   wireKind = iota
	wireInt64              // BIGINT: int64
	wireUint64             // BIGINT UNSIGNED: uint64
	wireFloat64            // DOUBLE: float64
	wireText               // CHAR, VARCHAR, TEXT sent as utf8mb4: string
	wireDatetime6          // DATETIME(6): time.Time
)

// wireCol is a column's wireKind and wire type.
type wireCol struct {
	kind wireKind
	typ  querypb.Type
}

// wireCols returns how to convert each column of schema in this session.
func wireCols(ctx *sql.Context, schema sql.Schema) []wireCol {
	cols := make([]wireCol, len(schema))
	results := ctx.GetCharacterSetResults()
	for i, c := range schema {
		cols[i] = wireCol{kind: wireKindOf(c.Type, results), typ: c.Type.Type()}
	}
	return cols
}

func wireKindOf(t sql.Type, results sql.CharacterSetID) wireKind {
	switch t := t.(type) {
	case types.NumberTypeImpl_:
		switch t.Type() {
		case sqltypes.Int64:
			return wireInt64
		case sqltypes.Uint64:
			return wireUint64
		case sqltypes.Float64:
			return wireFloat64
		}
	case types.StringType:
		if types.IsBinaryType(t) {
			return wireGeneric
		}
		// As StringType.SQL: the results character set, else the column's.
		cs := results
		if cs == sql.CharacterSet_Unspecified || cs == sql.CharacterSet_binary {
			cs = t.Collation().CharacterSet()
		}
		if cs == sql.CharacterSet_utf8mb4 { // encoded as is
			return wireText
		}
	case sql.DatetimeType:
		if t.Type() == sqltypes.Datetime && t.Precision() == 6 {
			return wireDatetime6
		}
	}
	return wireGeneric
}

// fast writes v as column c's wire value into the batch's buffer; false
// when v is left to GMS.
func (b *wireBatch) fast(c wireCol, v any) (sqltypes.Value, bool) {
	dst := b.buf.Get()
	switch c.kind {
	case wireInt64:
		x, ok := v.(int64)
		if !ok {
			return sqltypes.Value{}, false
		}
		dst = strconv.AppendInt(dst, x, 10)
	case wireUint64:
		x, ok := v.(uint64)
		if !ok {
			return sqltypes.Value{}, false
		}
		dst = strconv.AppendUint(dst, x, 10)
	case wireFloat64:
		x, ok := v.(float64)
		if !ok {
			return sqltypes.Value{}, false
		}
		dst = appendDouble(dst, x)
	case wireText:
		x, ok := v.(string)
		if !ok {
			return sqltypes.Value{}, false
		}
		dst = append(dst, x...)
	case wireDatetime6:
		x, ok := v.(time.Time)
		if !ok {
			return sqltypes.Value{}, false
		}
		if dst, ok = b.dt.append(dst, x); !ok {
			return sqltypes.Value{}, false
		}
	default:
		return sqltypes.Value{}, false
	}
	b.buf.Grow(len(dst))
	return sqltypes.MakeTrusted(c.typ, dst), true
}

// datetimeWriter writes DATETIME(6) text, "2006-01-02 15:04:05.000000",
// keeping the text up to the second of the last value written: the rows
// of a result mostly share their day, and a scan's often their second.
type datetimeWriter struct {
	sec    int64    // seconds since the epoch of prefix
	prefix [20]byte // "2006-01-02 15:04:05."
	day    int64    // days since 1970-01-01 of the prefix's date
	set    bool
	// The binary protocol's date (appendBinary): year (2 bytes,
	// little-endian), month, day of binDay.
	binDate [4]byte
	binDay  int64
	binSet  bool
}

var (
	// The years written here have four digits; GMS writes others
	// differently (and zero dates specially), so they go its way.
	minDatetime6 = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	maxDatetime6 = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() - 1
)

// append writes t in UTC; false for a time GMS would round (below a
// microsecond) or that is outside years 1000–9999.
func (w *datetimeWriter) append(dst []byte, t time.Time) ([]byte, bool) {
	if t.Nanosecond()%1000 != 0 {
		return dst, false
	}
	return w.appendMicros(dst, t.UnixMicro())
}

// appendMicros writes the time us microseconds after the Unix epoch, in
// UTC; false outside years 1000–9999.
func (w *datetimeWriter) appendMicros(dst []byte, us int64) ([]byte, bool) {
	if us < minDatetime6 || us > maxDatetime6 {
		return dst, false
	}
	sec, frac := us/1_000_000, us%1_000_000
	if frac < 0 {
		sec, frac = sec-1, frac+1_000_000
	}
	if !w.set || sec != w.sec {
		w.setSecond(sec)
	}
	return append(append(dst, w.prefix[:]...),
		byte('0'+frac/100000), byte('0'+frac/10000%10), byte('0'+frac/1000%10),
		byte('0'+frac/100%10), byte('0'+frac/10%10), byte('0'+frac%10)), true
}

// setSecond sets the prefix to the second sec seconds after the epoch.
func (w *datetimeWriter) setSecond(sec int64) {
	const secsPerDay = 86_400
	day, rem := sec/secsPerDay, sec%secsPerDay
	if rem < 0 {
		day, rem = day-1, rem+secsPerDay
	}
	if !w.set || day != w.day {
		y, m, d := time.Unix(sec, 0).UTC().Date()
		copy(w.prefix[:11], []byte{
			byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
			byte('0' + int(m)/10), byte('0' + int(m)%10), '-',
			byte('0' + d/10), byte('0' + d%10), ' ',
		})
		w.day = day
	}
	h, m, s := rem/3600, rem/60%60, rem%60
	copy(w.prefix[11:], []byte{byte('0' + h/10), byte('0' + h%10), ':', byte('0' + m/10), byte('0' + m%10), ':',
		byte('0' + s/10), byte('0' + s%10), '.'})
	w.sec, w.set = sec, true
}

// appendDouble writes a DOUBLE as MySQL and MariaDB do: the shortest
// digits that read back as x, in fixed notation unless the decimal point
// lies more than 15 digits away ("4999950000", "0.0001", "1e15",
// "1.2345678901234568e17", "1e-16"). GMS wrote Go's %g, which switches to
// an exponent from 1e21 but, with the shortest precision, already at 1e6:
// a SUM of 4999950000 showed as "4.99995e+09" in the mysql CLI.
func appendDouble(dst []byte, x float64) []byte {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return strconv.AppendFloat(dst, x, 'g', -1, 64)
	}
	if x == 0 {
		return append(dst, '0') // also -0, as MariaDB writes it
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, x, 'e', -1, 64) // [-]d[.ddd]e±XX
	e := bytes.LastIndexByte(dst[start:], 'e') + start
	exp, _ := strconv.Atoi(string(dst[e+1:]))
	if decpt := exp + 1; decpt > -15 && decpt <= 15 {
		return strconv.AppendFloat(dst[:start], x, 'f', -1, 64)
	}
	// MySQL's exponent has no '+' and no leading zeros: 1e15, 1e-16.
	dst = dst[:e+1]
	if exp < 0 {
		dst = append(dst, '-')
		exp = -exp
	}
	return strconv.AppendInt(dst, int64(exp), 10)
}

// isDouble reports whether t is DOUBLE.
func isDouble(t sql.Type) bool {
	n, ok := t.(types.NumberTypeImpl_)
	return ok && n.Type() == sqltypes.Float64
}
