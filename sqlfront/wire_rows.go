package sqlfront

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/dolthub/go-mysql-server/sql"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/tidwall/gjson"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/internal/uuidtext"
	server "github.com/eventsql/eventsql/sqlfront/internal/gmsserver"
	"github.com/eventsql/eventsql/typeinfer"
)

// wireRows builds the rows of a read whose rows go to the client
// untouched (wire_source.go) as wire values: each column's text is
// written once, as the server would have written it, into chunks of
// memory, and a row holds pointers to server.WireValues kept in chunks
// too. A row of events then costs no allocation (a row of Go values
// cost six or seven: the row, the boxed numbers and time, the event id's
// text, the payload copy) and the server's conversion is a copy.
//
// Rows outlive the call that made them: they are handed to the
// connection's goroutine in batches and written later. A chunk is
// reused only once every row that used it is on the wire (the server's
// count, written); until then new chunks are allocated (they start small
// and double, so a point query does not allocate a scan's chunks). A
// scan thus recycles a few chunks' worth of rows in flight and allocates
// nothing per row, which also spares the garbage collector: the
// server's heap, not only its CPU, is what each allocated byte costs.
//
// A value the fast writers do not cover (a time outside years
// 1000–9999) stays a Go value in the row, converted as before.
type wireRows struct {
	typs []querypb.Type     // per output column: its wire type
	ww   *server.WireWrites // rows on the wire
	// binary writes BIGINT and DATETIME(6) columns in the binary
	// protocol's form for a prepared statement (server.WireWrites.Binary),
	// which the server would otherwise parse back from the text.
	binary bool
	n      uint64      // rows made
	buf    arena[byte] // text of values
	vals   arena[server.WireValue]
	slots  arena[any] // rows
	dt     server.DatetimeWriter
	// types keeps the value of each event type seen (types repeat), and
	// recent the last few; their bytes are the strings' and they live
	// outside the chunks (and from statement to statement).
	types  map[string]*server.WireValue
	recent [8]recentType
	next   int // recent's entry replaced next
}

// recentType is an event type's value and its string's address.
type recentType struct {
	p *byte
	n int
	v *server.WireValue
}

// newWireRows returns the writer of rows of cols, or nil when the session
// needs text converted to another character set (GMS converts it). It
// takes the memory of an earlier statement's from the pool.
func (fe *Front) newWireRows(ctx *sql.Context, t *eventsTable, cols []int, ww *server.WireWrites) *wireRows {
	for _, c := range cols {
		typ := t.schema[c].Type
		if _, ok := typ.(sql.StringType); ok && !server.TextAsIs(ctx, typ) {
			return nil
		}
	}
	w, _ := fe.wireRows.Get().(*wireRows)
	if w == nil {
		w = &wireRows{
			buf:   arena[byte]{first: 2 << 10, largest: 64 << 10},
			vals:  arena[server.WireValue]{first: 32, largest: 1024},
			slots: arena[any]{first: 64, largest: 2048}}
	}
	w.ww, w.n, w.binary = ww, 0, ww.Binary()
	w.typs = w.typs[:0]
	for _, c := range cols {
		w.typs = append(w.typs, t.schema[c].Type.Type())
	}
	return w
}

// releaseWireRows keeps w's memory for a later statement: every row it
// made is on the wire or dropped.
func (fe *Front) releaseWireRows(w *wireRows) {
	w.ww = nil
	w.buf.release()
	w.vals.release()
	w.slots.release()
	fe.wireRows.Put(w)
}

// wireRow is row for wire values.
func (it *rowIter) wireRow(e *engine.RecordedEvent) sql.Row {
	w := it.wire
	row := w.row(len(it.cols))
	for out, c := range it.cols {
		typ := w.typs[out]
		switch c {
		case colPosition:
			row[out] = w.uint64Val(typ, e.Position)
		case colStream:
			row[out] = w.valOf(typ, stringBytes(e.Stream))
		case colVersion:
			row[out] = w.int64Val(typ, e.Version)
		case colEventID:
			s := w.reserve(36)
			w.buf.mem = uuidtext.Append(w.buf.mem, e.ID)
			row[out] = w.val(typ, s)
		case colEventType:
			row[out] = w.eventType(typ, e.Type)
		case colCreatedAt:
			row[out] = w.datetime(typ, e.CreatedAt)
		case colData:
			row[out] = w.payload(typ, e.Data, e.DataIsJSON)
		case colMetadata:
			if len(e.Metadata) > 0 {
				row[out] = w.payload(typ, e.Metadata, e.MetadataIsJSON)
			}
		}
	}
	if !it.typed.empty() && e.DataIsJSON {
		it.typed.scan(e.Data, func(out int, v gjson.Result) {
			row[out] = w.typed(w.typs[out], it.t.typed[it.cols[out]-numBaseColumns].kind, v)
		})
	}
	return row
}

// arena is memory for values of rows, in chunks that are reused once the
// rows that used them are on the wire.
type arena[T any] struct {
	mem            []T // the chunk being filled
	full           []arenaChunk[T]
	first, largest int // chunk sizes: the first, and the most they double to
}

// arenaChunk is a full chunk and the last row that used it.
type arenaChunk[T any] struct {
	mem  []T
	last uint64
}

// room makes room for n more elements in a.mem, for row (the row being
// made); ww says which rows are on the wire.
func (a *arena[T]) room(n int, row uint64, ww *server.WireWrites) {
	if cap(a.mem)-len(a.mem) >= n {
		return
	}
	a.grow(n, row, ww.Written())
}

// grow is room's slow path: a.mem is full; rows up to written are on the
// wire.
func (a *arena[T]) grow(n int, row, written uint64) {
	size := max(n, min(max(2*cap(a.mem), a.first), a.largest))
	if a.mem != nil {
		a.full = append(a.full, arenaChunk[T]{a.mem, row})
	}
	for len(a.full) > 0 && a.full[0].last <= written {
		c := a.full[0].mem
		a.full[0] = arenaChunk[T]{}
		a.full = a.full[1:]
		if cap(c) >= n {
			a.mem = c[:0]
			return
		}
	}
	a.mem = make([]T, 0, size)
}

// maxKeptChunks bounds the chunks of each kind kept between statements.
const maxKeptChunks = 16

// release makes every chunk free for the next statement's first rows
// (row numbers start again at 1), keeping at most maxKeptChunks.
func (a *arena[T]) release() {
	if a.mem != nil {
		a.full = append(a.full, arenaChunk[T]{mem: a.mem})
		a.mem = nil
	}
	if len(a.full) > maxKeptChunks {
		clear(a.full[maxKeptChunks:])
		a.full = a.full[:maxKeptChunks]
	}
	for i := range a.full {
		a.full[i].last = 0
	}
}

// row returns a row of n columns, all NULL.
func (w *wireRows) row(n int) sql.Row {
	w.n++
	w.slots.room(n, w.n, w.ww)
	s := len(w.slots.mem)
	w.slots.mem = w.slots.mem[:s+n]
	row := w.slots.mem[s : s+n : s+n]
	clear(row)
	return row
}

// reserve makes room for n more bytes of text and returns where the next
// value starts.
func (w *wireRows) reserve(n int) int {
	w.buf.room(n, w.n, w.ww)
	return len(w.buf.mem)
}

// val is the value of type typ whose text was appended from start on.
// (Had an append outgrown the reserved room, the text would have moved
// to a new array with the text before it; both stay valid.)
func (w *wireRows) val(typ querypb.Type, start int) *server.WireValue {
	return w.valOf(typ, w.buf.mem[start:len(w.buf.mem):len(w.buf.mem)])
}

// valOf is the value of type typ with text b, which must not change
// until the row is on the wire.
func (w *wireRows) valOf(typ querypb.Type, b []byte) *server.WireValue {
	w.vals.room(1, w.n, w.ww)
	w.vals.mem = append(w.vals.mem, server.MakeWireValue(typ, b))
	return &w.vals.mem[len(w.vals.mem)-1]
}

// stringBytes returns the bytes of s, which the value only reads.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func (w *wireRows) eventType(typ querypb.Type, t string) *server.WireValue {
	// The engine interns event types: the same type is mostly the same
	// string, found by its address before it is hashed.
	p := unsafe.StringData(t)
	for i := range w.recent {
		if r := &w.recent[i]; r.p == p && r.n == len(t) {
			return r.v
		}
	}
	v, ok := w.types[t]
	if !ok {
		if len(w.types) >= maxBoxedTypes {
			return w.valOf(typ, stringBytes(t))
		}
		wv := server.MakeWireValue(typ, stringBytes(t))
		v = &wv
		if w.types == nil {
			w.types = map[string]*server.WireValue{}
		}
		w.types[t] = v
	}
	w.recent[w.next%len(w.recent)] = recentType{p, len(t), v}
	w.next++
	return v
}

// uint64Val is a BIGINT UNSIGNED column's value.
func (w *wireRows) uint64Val(typ querypb.Type, x uint64) *server.WireValue {
	s := w.reserve(20)
	if w.binary {
		w.buf.mem = binary.LittleEndian.AppendUint64(w.buf.mem, x)
		return w.val(server.BinaryWireType, s)
	}
	w.buf.mem = strconv.AppendUint(w.buf.mem, x, 10)
	return w.val(typ, s)
}

// int64Val is a BIGINT column's value.
func (w *wireRows) int64Val(typ querypb.Type, x int64) *server.WireValue {
	s := w.reserve(20)
	if w.binary {
		w.buf.mem = binary.LittleEndian.AppendUint64(w.buf.mem, uint64(x))
		return w.val(server.BinaryWireType, s)
	}
	w.buf.mem = strconv.AppendInt(w.buf.mem, x, 10)
	return w.val(typ, s)
}

// datetime is t as DATETIME(6); the time itself (GMS writes it) when it
// is not whole microseconds or outside years 1000–9999.
func (w *wireRows) datetime(typ querypb.Type, t time.Time) any {
	if t.Nanosecond()%1000 != 0 {
		return t
	}
	s := w.reserve(26)
	if w.binary {
		b, ok := w.dt.AppendBinaryMicros(w.buf.mem, t.UnixMicro())
		if !ok {
			return t
		}
		w.buf.mem = b
		return w.val(server.BinaryWireType, s)
	}
	b, ok := w.dt.AppendMicros(w.buf.mem, t.UnixMicro())
	if !ok {
		return t
	}
	w.buf.mem = b
	return w.val(typ, s)
}

// payload is data or metadata as its JSON column shows it: as written
// when it is JSON, else the JSON string of its base64 text (as
// nonJSONValue).
func (w *wireRows) payload(typ querypb.Type, b []byte, isJSON bool) *server.WireValue {
	if isJSON {
		s := w.reserve(len(b))
		w.buf.mem = append(w.buf.mem, b...)
		return w.val(typ, s)
	}
	n := base64.StdEncoding.EncodedLen(len(b))
	s := w.reserve(n + 2)
	w.buf.mem = append(w.buf.mem, '"')
	w.buf.mem = base64.StdEncoding.AppendEncode(w.buf.mem, b)
	w.buf.mem = append(w.buf.mem, '"')
	return w.val(typ, s)
}

var wireTrue, wireFalse = []byte("1"), []byte("0")

// typed is a typed by_type column's value of v (as typedValue, then
// written as the server writes it).
func (w *wireRows) typed(typ querypb.Type, kind typeinfer.Kind, v gjson.Result) any {
	if !v.Exists() || v.Type == gjson.Null {
		return nil
	}
	switch kind {
	case typeinfer.KindInt:
		if v.Type != gjson.Number {
			return nil
		}
		i, err := strconv.ParseInt(v.Raw, 10, 64)
		if err != nil {
			return nil
		}
		s := w.reserve(20)
		w.buf.mem = strconv.AppendInt(w.buf.mem, i, 10)
		return w.val(typ, s)
	case typeinfer.KindFloat:
		if v.Type != gjson.Number {
			return nil
		}
		f := v.Float()
		if math.IsInf(f, 0) {
			return nil
		}
		s := w.reserve(32)
		w.buf.mem = server.AppendDouble(w.buf.mem, f)
		return w.val(typ, s)
	case typeinfer.KindBool:
		switch v.Type {
		case gjson.True:
			return w.valOf(typ, wireTrue)
		case gjson.False:
			return w.valOf(typ, wireFalse)
		}
		return nil
	case typeinfer.KindDatetime:
		if v.Type != gjson.String {
			return nil
		}
		tm, err := time.Parse(time.RFC3339Nano, v.Str)
		if err != nil {
			return nil
		}
		return w.datetime(typ, tm.UTC().Truncate(time.Microsecond))
	case typeinfer.KindString:
		if v.Type != gjson.String {
			return nil
		}
		s := w.reserve(len(v.Str))
		w.buf.mem = append(w.buf.mem, v.Str...)
		return w.val(typ, s)
	}
	s := w.reserve(len(v.Raw))
	w.buf.mem = append(w.buf.mem, v.Raw...)
	return w.val(typ, s)
}
