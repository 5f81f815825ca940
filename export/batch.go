package export

import (
	"sync/atomic"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/internal/uuidtext"
)

// A batch is a run of events copied out of the log, shared read-only by
// the writers (events and by_type) and recycled when both are done.
type batch struct {
	rows  []evRow
	arena []byte // data and metadata bytes of the rows
	refs  atomic.Int32
}

// evRow is one event of a batch.
type evRow struct {
	pos      uint64
	version  int64
	created  int64 // unix µs
	stream   string
	typ      string
	id       span // the event id as 36-character text (both datasets write it)
	data     span
	meta     span
	dataJSON bool
	metaJSON bool
	shard    uint8  // the by_type writer of the event's type
	typeID   uint32 // the event type's number in the run
}

type span struct{ off, n uint32 }

const (
	batchRows  = 4096
	batchBytes = 4 << 20
	numBatches = 8
)

func (b *batch) reset() {
	b.rows = b.rows[:0]
	b.arena = b.arena[:0]
}

func (b *batch) full() bool { return len(b.rows) >= batchRows || len(b.arena) >= batchBytes }

func (b *batch) add(e *engine.RecordedEvent, shard uint8, typeID uint32) {
	r := evRow{pos: e.Position, version: e.Version, created: e.CreatedAt.UnixMicro(),
		stream: e.Stream, typ: e.Type, dataJSON: e.DataIsJSON, metaJSON: e.MetadataIsJSON, shard: shard, typeID: typeID}
	r.id = span{uint32(len(b.arena)), 36}
	b.arena = uuidtext.Append(b.arena, e.ID)
	r.data = span{uint32(len(b.arena)), uint32(len(e.Data))}
	b.arena = append(b.arena, e.Data...)
	r.meta = span{uint32(len(b.arena)), uint32(len(e.Metadata))}
	b.arena = append(b.arena, e.Metadata...)
	b.rows = append(b.rows, r)
}

func (b *batch) bytes(s span) []byte { return b.arena[s.off : s.off+s.n : s.off+s.n] }
