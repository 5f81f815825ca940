package sqlfront

import (
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/eventsql/eventsql/engine"
)

// A row is a slice of interface values, and putting a string, a time or a
// number into an interface allocates. rowIter.row allocates what it can
// once per row (rowBlock) or once per result (rowBoxes): a SELECT * row
// went from eleven allocations to six or seven.

// rowBlock is one allocation holding a row of base columns and its JSON
// values (the row slice points into it).
type rowBlock struct {
	vals       [numBaseColumns]any
	data, meta jsonValue
}

// newRow returns a row of n columns, in a rowBlock when it has no more
// than the base columns (blk is then non-nil).
func newRow(n int) (row sql.Row, blk *rowBlock) {
	if n > numBaseColumns {
		return make(sql.Row, n), nil
	}
	blk = new(rowBlock)
	return blk.vals[:n:n], blk
}

// json returns the block's data (0) or metadata (1) value; nil without
// a block.
func (b *rowBlock) json(i int) *jsonValue {
	switch {
	case b == nil:
		return nil
	case i == 0:
		return &b.data
	}
	return &b.meta
}

// maxBoxedTypes bounds rowBoxes' event types (a store has few).
const maxBoxedTypes = 4096

// rowBoxes keeps the boxed values that repeat from row to row of one
// result: event types (the engine interns them), and the stream of the
// row before (a stream's rows come one after another).
type rowBoxes struct {
	types     map[string]any
	stream    string
	streamBox any
}

func (b *rowBoxes) eventType(t string) any {
	if v, ok := b.types[t]; ok {
		return v
	}
	var v any = t
	if b.types == nil {
		b.types = map[string]any{}
	}
	if len(b.types) < maxBoxedTypes {
		b.types[t] = v
	}
	return v
}

func (b *rowBoxes) streamName(s string) any {
	if b.streamBox == nil || s != b.stream {
		b.stream, b.streamBox = s, s
	}
	return b.streamBox
}

// payloads copies the event's data and metadata that the row needs into
// one allocation (e aliases the log only until the iterator moves on).
func payloads(e *engine.RecordedEvent, data, meta bool) (d, m []byte) {
	n := 0
	if data {
		n += len(e.Data)
	}
	if meta {
		n += len(e.Metadata)
	}
	if n == 0 {
		return nil, nil
	}
	b := make([]byte, 0, n)
	if data {
		b = append(b, e.Data...)
		d = b[:len(e.Data):len(e.Data)]
	}
	if meta {
		b = append(b, e.Metadata...)
		m = b[len(d):]
	}
	return d, m
}
