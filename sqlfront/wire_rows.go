package sqlfront

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/dolthub/go-mysql-server/sql"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/google/uuid"
	"github.com/tidwall/gjson"

	"github.com/eventsql/eventsql/engine"
	server "github.com/eventsql/eventsql/sqlfront/internal/gmsserver"
	"github.com/eventsql/eventsql/typeinfer"
)

// wireRows builds the rows of a read whose rows go to the client
// untouched (wire_source.go) as wire values: each column's text is
// written once, as the server would have written it, into chunks of
// memory the iterator never reuses, and a row holds pointers to
// server.WireValues kept in chunks too. A row of events then costs no
// allocation of its own (a row of Go values cost six or seven: the row,
// the boxed numbers and time, the event id's text, the payload copy) and
// the server's conversion is a copy.
//
// Chunks are never reused because rows outlive the iterator's next call:
// they are handed to the connection's goroutine in batches and written
// later. The garbage collector frees a chunk once no row points into it.
// Chunks start small and double, so a point query does not allocate a
// scan's chunks.
//
// A value the fast writers do not cover (a time outside years
// 1000–9999) stays a Go value in the row, converted as before.
type wireRows struct {
	typs  []querypb.Type // per output column: its wire type
	buf   []byte         // text of values, appended
	vals  []server.WireValue
	slots []any // rows
	dt    server.DatetimeWriter
	// types keeps the value of each event type seen (types repeat), and
	// the last one; stream is the value of the last stream (a stream's
	// events come one after another). Their bytes are the strings'.
	types              map[string]*server.WireValue
	lastType, stream   string
	lastTypeV, streamV *server.WireValue
}

// Chunk sizes: the first, and the largest they double up to.
const (
	firstWireBuf, maxWireBuf     = 2 << 10, 64 << 10
	firstWireVals, maxWireVals   = 32, 1024
	firstWireSlots, maxWireSlots = 64, 2048
)

// newWireRows returns the writer of rows of cols, or nil when the session
// needs text converted to another character set (GMS converts it).
func newWireRows(ctx *sql.Context, t *eventsTable, cols []int) *wireRows {
	w := &wireRows{typs: make([]querypb.Type, len(cols))}
	for out, c := range cols {
		typ := t.schema[c].Type
		if _, ok := typ.(sql.StringType); ok && !server.TextAsIs(ctx, typ) {
			return nil
		}
		w.typs[out] = typ.Type()
	}
	return w
}

// wireRow is row for wire values.
func (it *rowIter) wireRow(e *engine.RecordedEvent) sql.Row {
	w := it.wire
	row := w.row(len(it.cols))
	for out, c := range it.cols {
		typ := w.typs[out]
		switch c {
		case colPosition:
			s := w.reserve(20)
			w.buf = strconv.AppendUint(w.buf, e.Position, 10)
			row[out] = w.val(typ, s)
		case colStream:
			if w.streamV == nil || e.Stream != w.stream {
				w.stream, w.streamV = e.Stream, w.valOf(typ, stringBytes(e.Stream))
			}
			row[out] = w.streamV
		case colVersion:
			s := w.reserve(20)
			w.buf = strconv.AppendInt(w.buf, e.Version, 10)
			row[out] = w.val(typ, s)
		case colEventID:
			s := w.reserve(36)
			w.buf = appendUUID(w.buf, e.ID)
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

// row returns a row of n columns, all NULL.
func (w *wireRows) row(n int) sql.Row {
	if cap(w.slots)-len(w.slots) < n {
		w.slots = make([]any, 0, max(n, grow(cap(w.slots), firstWireSlots, maxWireSlots)))
	}
	s := len(w.slots)
	w.slots = w.slots[:s+n]
	return w.slots[s : s+n : s+n]
}

// reserve makes room for n more bytes of text and returns where the next
// value starts.
func (w *wireRows) reserve(n int) int {
	if cap(w.buf)-len(w.buf) < n {
		w.buf = make([]byte, 0, max(n, grow(cap(w.buf), firstWireBuf, maxWireBuf)))
	}
	return len(w.buf)
}

// grow is the size of the chunk after one of size prev.
func grow(prev, first, largest int) int {
	return min(max(2*prev, first), largest)
}

// val is the value of type typ whose text was appended from start on.
// (Had an append outgrown the reserved room, the text would have moved
// to a new array with the text before it; both stay valid.)
func (w *wireRows) val(typ querypb.Type, start int) *server.WireValue {
	return w.valOf(typ, w.buf[start:len(w.buf):len(w.buf)])
}

// valOf is the value of type typ with text b, which must not change.
func (w *wireRows) valOf(typ querypb.Type, b []byte) *server.WireValue {
	if len(w.vals) == cap(w.vals) {
		w.vals = make([]server.WireValue, 0, grow(cap(w.vals), firstWireVals, maxWireVals))
	}
	w.vals = append(w.vals, server.MakeWireValue(typ, b))
	return &w.vals[len(w.vals)-1]
}

// stringBytes returns the bytes of s, which the value only reads.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func (w *wireRows) eventType(typ querypb.Type, t string) *server.WireValue {
	if w.lastTypeV != nil && t == w.lastType {
		return w.lastTypeV
	}
	v, ok := w.types[t]
	if !ok {
		v = w.valOf(typ, stringBytes(t))
		if w.types == nil {
			w.types = map[string]*server.WireValue{}
		}
		if len(w.types) < maxBoxedTypes {
			w.types[t] = v
		}
	}
	w.lastType, w.lastTypeV = t, v
	return v
}

// datetime is t as DATETIME(6); the time itself (GMS writes it) when it
// is not whole microseconds or outside years 1000–9999.
func (w *wireRows) datetime(typ querypb.Type, t time.Time) any {
	if t.Nanosecond()%1000 != 0 {
		return t
	}
	s := w.reserve(26)
	b, ok := w.dt.AppendMicros(w.buf, t.UnixMicro())
	if !ok {
		return t
	}
	w.buf = b
	return w.val(typ, s)
}

// payload is data or metadata as its JSON column shows it: as written
// when it is JSON, else the JSON string of its base64 text (as
// nonJSONValue).
func (w *wireRows) payload(typ querypb.Type, b []byte, isJSON bool) *server.WireValue {
	if isJSON {
		s := w.reserve(len(b))
		w.buf = append(w.buf, b...)
		return w.val(typ, s)
	}
	n := base64.StdEncoding.EncodedLen(len(b))
	s := w.reserve(n + 2)
	w.buf = append(w.buf, '"')
	w.buf = base64.StdEncoding.AppendEncode(w.buf, b)
	w.buf = append(w.buf, '"')
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
		w.buf = strconv.AppendInt(w.buf, i, 10)
		return w.val(typ, s)
	case typeinfer.KindFloat:
		if v.Type != gjson.Number {
			return nil
		}
		f := v.Float()
		if math.IsInf(f, 0) {
			return nil
		}
		s := w.reserve(24)
		w.buf = server.AppendDouble(w.buf, f)
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
		w.buf = append(w.buf, v.Str...)
		return w.val(typ, s)
	}
	s := w.reserve(len(v.Raw))
	w.buf = append(w.buf, v.Raw...)
	return w.val(typ, s)
}

// appendUUID writes u as uuid.UUID.String does.
func appendUUID(dst []byte, u uuid.UUID) []byte {
	const hex = "0123456789abcdef"
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[b>>4], hex[b&0xf])
	}
	return dst
}
