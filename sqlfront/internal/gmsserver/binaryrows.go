// eventsql: this file is eventsql's own (not upstream's); see doc.go.

package server

import (
	"context"
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// Rows of prepared statements (COM_STMT_EXECUTE) go to the client in the
// binary protocol: integers and floats as little-endian bytes, dates as
// packed fields, text length-prefixed. Upstream hands vitess text values,
// and vitess's writeBinaryRow turns each one into its binary form
// (val2MySQL): it parses the text back (strconv for a BIGINT, eight
// ParseUint calls for a DATETIME) and allocates twice per value. With
// GMS's own conversion to text before it, that was half of the server's
// CPU for a 100-row prepared range query.
//
// Here the batch writes each value's binary form itself, from the Go
// value, into the batch's byte slice. Vitess has no entry point for bytes
// already in binary form, but it copies a value of a type it does not
// know (EXPRESSION, which no column has) as it is: a run of adjacent
// non-NULL columns written here goes to vitess as one such value, at the
// run's first column, and empty ones for the rest of the run. Vitess
// still writes the row's header and NULL bitmap from the row's NULL
// values. A value written another way (GMS's text, for the types not
// handled here and not sent as length-prefixed text, such as TIME) goes
// to vitess as text, as upstream's.
//
// The bytes are vitess's, byte for byte (TestBinaryRowsSendTheSameBytes
// compares whole packets with a server that leaves them to vitess).

// encodedType marks a value holding binary-protocol bytes (see above).
const encodedType = sqltypes.Expression

// binaryProtocolKey marks the context of a statement whose results are
// sent with the binary protocol (COM_STMT_EXECUTE).
type binaryProtocolKey struct{}

func withBinaryProtocol(ctx context.Context) context.Context {
	return context.WithValue(ctx, binaryProtocolKey{}, true)
}

func isBinaryProtocol(ctx context.Context) bool {
	return ctx.Value(binaryProtocolKey{}) != nil
}

// binarySegment is a value of a binary row: bytes bin[from:to] of type
// typ, at column col.
type binarySegment struct {
	col      int
	typ      querypb.Type
	from, to int
}

// binaryMem is the memory of a connection's first batch of binary rows,
// kept in its mysql.Conn (ClientData, which nothing else uses) for the
// connection's next prepared statement. It is safe to reuse then: vitess
// runs a COM_STMT_EXECUTE only when no cursor of the connection is open,
// so no earlier result of it is still referenced. (Within a statement, a
// cursor may keep a batch while the next is converted: later batches get
// new memory.) Without it, a 100-row prepared query allocated its batch
// from scratch, growing the slices (BenchmarkSelect/range-prepared: 255
// KB per query before, 107 KB after, the client's included).
type binaryMem struct {
	vals []sqltypes.Value
	rows [][]sqltypes.Value
	bin  []byte
	segs []binarySegment
}

// maxKeptBinaryBytes bounds the bytes a connection keeps between
// statements (a batch of large documents is dropped).
const maxKeptBinaryBytes = 256 << 10

// useConnMemory takes the memory c kept from its last prepared
// statement for the batch's first rows.
func (b *wireBatch) useConnMemory(c *mysql.Conn) {
	m, _ := c.ClientData.(*binaryMem)
	if m == nil {
		return
	}
	c.ClientData = nil
	b.vals, b.res.Rows, b.bin, b.segs = m.vals[:0], m.rows[:0], m.bin[:0], m.segs[:0]
}

// keepConnMemory gives c the memory of the statement's first batch.
func (b *wireBatch) keepConnMemory(c *mysql.Conn) {
	m := b.first
	if m == nil {
		m = &binaryMem{vals: b.vals, rows: b.res.Rows, bin: b.bin, segs: b.segs}
	}
	if cap(m.bin) > maxKeptBinaryBytes {
		// The values point into bin: drop them with it.
		m.bin = nil
		clear(m.vals[:cap(m.vals)])
		clear(m.rows[:cap(m.rows)])
	}
	c.ClientData = m
}

// firstBinaryBytes is the capacity of a binary batch's first byte slice;
// later batches start with the size the one before reached.
const firstBinaryBytes = 4 << 10

// addBinary converts row into out as binary-protocol values written into
// the batch's byte slice.
func (b *wireBatch) addBinary(ctx *sql.Context, sch sql.Schema, row sql.Row, projs []sql.Expression, out []sqltypes.Value) error {
	if b.bin == nil {
		b.bin = make([]byte, 0, max(b.binCap, firstBinaryBytes))
	}
	b.segs = b.segs[:0]
	run := -1 // the segment of the current run of encoded columns
	for i, col := range sch {
		var v any
		if len(projs) == 0 {
			v = row[i]
		} else {
			var err error
			if v, err = projs[i].Eval(ctx, row); err != nil {
				return err
			}
		}
		if v == nil {
			out[i], run = sqltypes.NULL, -1
			continue
		}
		start := len(b.bin)
		w, isWire := v.(*WireValue)
		if isWire || !b.appendBinary(b.wcols[i], v) {
			var text sqltypes.Value
			if isWire {
				text = sqltypes.Value(*w)
			} else {
				var err error
				if text, err = toSqlHelper(ctx, col.Type, b.buf, v); err != nil {
					return err
				}
			}
			if text.IsNull() {
				out[i], run = sqltypes.NULL, -1
				continue
			}
			var ok bool
			b.bin, ok = appendTextAsBinary(b.bin, text)
			// buf only holds temporaries: text is copied below, before
			// anything is written into buf again.
			b.buf.Reset()
			if !ok {
				// Left to vitess, as text.
				b.bin = append(b.bin[:start], text.Raw()...)
				b.segs = append(b.segs, binarySegment{col: i, typ: text.Type(), from: start, to: len(b.bin)})
				run = -1
				continue
			}
		}
		if run >= 0 {
			b.segs[run].to = len(b.bin)
			out[i] = sqltypes.MakeTrusted(encodedType, nil)
			continue
		}
		run = len(b.segs)
		b.segs = append(b.segs, binarySegment{col: i, typ: encodedType, from: start, to: len(b.bin)})
	}
	// b.bin may have moved while the row was written: the values point
	// into it once the row is complete.
	for _, s := range b.segs {
		out[s.col] = sqltypes.MakeTrusted(s.typ, b.bin[s.from:s.to:s.to])
	}
	return nil
}

// appendBinary writes v as column c's binary-protocol value; false when
// v is left to GMS's text (a value of another Go type than expected, or
// outside what is handled here).
func (b *wireBatch) appendBinary(c wireCol, v any) bool {
	switch c.kind {
	case wireInt64:
		x, ok := v.(int64)
		if ok {
			b.bin = binary.LittleEndian.AppendUint64(b.bin, uint64(x))
		}
		return ok
	case wireUint64:
		x, ok := v.(uint64)
		if ok {
			b.bin = binary.LittleEndian.AppendUint64(b.bin, x)
		}
		return ok
	case wireFloat64:
		x, ok := v.(float64)
		switch {
		case !ok:
			return false
		case x == 0:
			x = 0 // -0 too: the text protocol writes "0" (appendDouble)
		case math.IsNaN(x):
			x = math.NaN()
		}
		b.bin = binary.LittleEndian.AppendUint64(b.bin, math.Float64bits(x))
		return true
	case wireText:
		x, ok := v.(string)
		if ok {
			b.bin = appendLengthPrefixed(b.bin, x)
		}
		return ok
	case wireDatetime6:
		x, ok := v.(time.Time)
		if !ok || x.Nanosecond()%1000 != 0 {
			return false
		}
		b.bin, ok = b.dt.appendBinary(b.bin, x.UnixMicro())
		return ok
	}
	return false
}

// appendBinary writes the DATETIME(6) us microseconds after the Unix
// epoch, in UTC, in the binary protocol's 11-byte form (vitess writes
// every DATETIME(6) so, also at a whole second); false outside years
// 1000–9999, which GMS writes differently. Like the text writer, it
// keeps the date of the last value's day: a result's rows mostly share
// it.
func (w *datetimeWriter) appendBinary(dst []byte, us int64) ([]byte, bool) {
	if us < minDatetime6 || us > maxDatetime6 {
		return dst, false
	}
	const secsPerDay = 86_400
	sec, frac := us/1_000_000, us%1_000_000
	if frac < 0 {
		sec, frac = sec-1, frac+1_000_000
	}
	day, rem := sec/secsPerDay, sec%secsPerDay
	if rem < 0 {
		day, rem = day-1, rem+secsPerDay
	}
	if !w.binSet || day != w.binDay {
		y, m, d := time.Unix(sec, 0).UTC().Date()
		w.binDate = [4]byte{byte(y), byte(y >> 8), byte(m), byte(d)}
		w.binDay, w.binSet = day, true
	}
	dst = append(dst, 11)
	dst = append(dst, w.binDate[:]...)
	dst = append(dst, byte(rem/3600), byte(rem/60%60), byte(rem%60))
	return binary.LittleEndian.AppendUint32(dst, uint32(frac)), true
}

// appendTextAsBinary writes the binary-protocol form of v, a text value
// (or one already in binary form, which it copies),
// as vitess's val2MySQL makes it, without its allocations: the text of
// strings, JSON and decimals with a length prefix, numbers parsed into
// little-endian bytes, dates and times of day parsed into packed fields.
// It returns false, with dst unchanged in its first len(dst) bytes, for
// a type or text it does not handle (TIME, a malformed number): vitess
// then converts it (or reports its error) as before.
func appendTextAsBinary(dst []byte, v sqltypes.Value) ([]byte, bool) {
	raw := v.Raw()
	s := unsafe.String(unsafe.SliceData(raw), len(raw)) // parsed, not kept
	switch v.Type() {
	case encodedType: // in binary form already (BinaryWireType)
		return append(dst, raw...), true
	case sqltypes.Decimal, sqltypes.Text, sqltypes.Blob, sqltypes.VarChar,
		sqltypes.VarBinary, sqltypes.Char, sqltypes.Bit, sqltypes.Enum,
		sqltypes.Set, sqltypes.Geometry, sqltypes.Binary, sqltypes.TypeJSON, sqltypes.Vector:
		return appendLengthPrefixed(dst, raw), true
	case sqltypes.Int8:
		x, err := strconv.ParseInt(s, 10, 8)
		return append(dst, byte(x)), err == nil
	case sqltypes.Uint8:
		x, err := strconv.ParseUint(s, 10, 8)
		return append(dst, byte(x)), err == nil
	case sqltypes.Int16, sqltypes.Year:
		x, err := strconv.ParseInt(s, 10, 16)
		return binary.LittleEndian.AppendUint16(dst, uint16(x)), err == nil
	case sqltypes.Uint16:
		x, err := strconv.ParseUint(s, 10, 16)
		return binary.LittleEndian.AppendUint16(dst, uint16(x)), err == nil
	case sqltypes.Int24, sqltypes.Int32:
		x, err := strconv.ParseInt(s, 10, 32)
		return binary.LittleEndian.AppendUint32(dst, uint32(x)), err == nil
	case sqltypes.Uint24, sqltypes.Uint32:
		x, err := strconv.ParseUint(s, 10, 32)
		return binary.LittleEndian.AppendUint32(dst, uint32(x)), err == nil
	case sqltypes.Int64:
		x, err := strconv.ParseInt(s, 10, 64)
		return binary.LittleEndian.AppendUint64(dst, uint64(x)), err == nil
	case sqltypes.Uint64:
		x, err := strconv.ParseUint(s, 10, 64)
		return binary.LittleEndian.AppendUint64(dst, x), err == nil
	case sqltypes.Float32:
		x, err := strconv.ParseFloat(s, 32)
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(x))), err == nil
	case sqltypes.Float64:
		x, err := strconv.ParseFloat(s, 64)
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(x)), err == nil
	case sqltypes.Timestamp, sqltypes.Date, sqltypes.Datetime:
		return appendTextDatetime(dst, raw)
	}
	return dst, false
}

// appendTextDatetime is val2MySQL of a date or datetime's text: by its
// length, 11 bytes with microseconds ("2006-01-02 15:04:05.999999",
// fewer digits padded with zeros), 7 without ("2006-01-02 15:04:05"), 4
// for a date, 0 for an empty value; the fields are read at fixed
// offsets, as vitess reads them.
func appendTextDatetime(dst, raw []byte) ([]byte, bool) {
	n := len(raw)
	switch {
	case n == 0:
		return append(dst, 0), true
	case n == 10, n == 19, n >= 20 && n <= 26:
	default:
		return dst, false // vitess's other cases: leave them to it
	}
	year, ok1 := digits(raw[0:4])
	month, ok2 := digits(raw[5:7])
	day, ok3 := digits(raw[8:10])
	if !ok1 || !ok2 || !ok3 {
		return dst, false
	}
	if n == 10 {
		dst = append(dst, 4)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(year))
		return append(dst, byte(month), byte(day)), true
	}
	hour, ok1 := digits(raw[11:13])
	minute, ok2 := digits(raw[14:16])
	second, ok3 := digits(raw[17:19])
	if !ok1 || !ok2 || !ok3 {
		return dst, false
	}
	if n == 19 {
		dst = append(dst, 7)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(year))
		return append(dst, byte(month), byte(day), byte(hour), byte(minute), byte(second)), true
	}
	frac := [6]byte{'0', '0', '0', '0', '0', '0'}
	copy(frac[:], raw[20:])
	micros, ok := digits(frac[:])
	if !ok {
		return dst, false
	}
	dst = append(dst, 11)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(year))
	dst = append(dst, byte(month), byte(day), byte(hour), byte(minute), byte(second))
	return binary.LittleEndian.AppendUint32(dst, uint32(micros)), true
}

// digits is the number b's decimal digits make; false when b is empty or
// holds anything else.
func digits(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var x uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		x = x*10 + uint64(c-'0')
	}
	return x, true
}

// appendLengthPrefixed writes s as a length-encoded string.
func appendLengthPrefixed[S string | []byte](dst []byte, s S) []byte {
	n := uint64(len(s))
	switch {
	case n < 251:
		dst = append(dst, byte(n))
	case n < 1<<16:
		dst = append(dst, 0xfc, byte(n), byte(n>>8))
	case n < 1<<24:
		dst = append(dst, 0xfd, byte(n), byte(n>>8), byte(n>>16))
	default:
		dst = binary.LittleEndian.AppendUint64(append(dst, 0xfe), n)
	}
	return append(dst, s...)
}
