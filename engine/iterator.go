package engine

import (
	"context"
	"time"
)

// Direction of a read.
type Direction int

const (
	Forward Direction = iota
	Backward
)

// EventIterator streams events. It holds a snapshot: events appended after
// it was created are not returned (use Store.WaitForEvents and a new
// iterator to follow the log live). Close it when done: an open iterator
// keeps Store.Close waiting.
//
//	it, err := store.ReadAll(ctx, 1, engine.ReadOptions{})
//	defer it.Close()
//	for it.Next() {
//		e := it.Event()
//	}
//	if err := it.Err(); err != nil { ... }
type EventIterator struct {
	s      *Store
	ctx    context.Context
	src    recordSource
	filter func(r *record) bool
	limit  int
	n      int
	ev     RecordedEvent
	err    error
	done   bool

	lastStream string
	types      map[string]string
	decoded    uint64
}

// recordSource yields event records in the order of a read.
type recordSource interface {
	// next returns the next event record; ok is false at the end.
	next() (r *record, ok bool, err error)
	close() error
}

// ReadOptions bound a read.
type ReadOptions struct {
	// Limit is the maximum number of events returned; 0 means no limit.
	Limit int
	// Direction is Forward (default) or Backward. $all reads are forward only.
	Direction Direction
	// EventType, on a stream read, returns only the stream's events of
	// this type; the type index tells which they are, so the others are
	// not read. Other reads refuse it (ErrInvalidInput).
	EventType string
	// SkipExistenceCheck, on a stream read, does not load the stream's
	// state from the index unless the stream is restricted (deleted, or
	// with $maxCount, $maxAge or $tb: those are kept in memory). A stream
	// that does not exist (and is not restricted) then reads as no events
	// instead of giving ErrStreamNotFound; deleted streams still give
	// their errors. It
	// spares a point read of the index per stream read (SQL lookups by
	// stream, which show a missing stream as no rows).
	SkipExistenceCheck bool
}

func (s *Store) newIterator(ctx context.Context, src recordSource, filter func(*record) bool, limit int) *EventIterator {
	return &EventIterator{s: s, ctx: ctx, src: src, filter: filter, limit: limit, types: make(map[string]string)}
}

// Next advances to the next event, returning false at the end or on error.
func (it *EventIterator) Next() bool {
	if it.done {
		return false
	}
	if it.limit > 0 && it.n >= it.limit {
		it.done = true
		return false
	}
	for {
		if it.n&1023 == 0 {
			if err := it.ctx.Err(); err != nil {
				it.err, it.done = err, true
				return false
			}
		}
		r, ok, err := it.src.next()
		if err != nil || !ok {
			it.err, it.done = err, true
			return false
		}
		it.decoded++
		if it.filter != nil && !it.filter(r) {
			continue
		}
		it.set(r)
		it.n++
		return true
	}
}

func (it *EventIterator) set(r *record) {
	e := &it.ev
	e.Position = r.Position
	if string(r.Stream) != it.lastStream {
		it.lastStream = string(r.Stream)
	}
	e.Stream = it.lastStream
	e.Version = r.Version
	e.ID = r.ID
	t, ok := it.types[string(r.Type)]
	if !ok {
		t = string(r.Type)
		it.types[t] = t
	}
	e.Type = t
	e.CreatedAt = time.UnixMicro(r.CreatedAt).UTC()
	e.Data = r.Data
	e.Metadata = r.Metadata
	e.DataIsJSON = r.Flags&flagDataJSON != 0
	e.MetadataIsJSON = r.Flags&flagMetadataJSON != 0
}

// Event returns the current event. It is valid until the next call to
// Next or Close; use Clone to keep it.
func (it *EventIterator) Event() *RecordedEvent { return &it.ev }

// Err returns the error that ended the iteration, if any.
func (it *EventIterator) Err() error { return it.err }

// Close releases the iterator. It is safe to call twice.
func (it *EventIterator) Close() error {
	if it.src == nil {
		return nil
	}
	err := it.src.close()
	it.src = nil
	it.done = true
	if it.s != nil { // nil for a LogReader's iterator
		it.s.stats.decoded.Add(it.decoded)
		it.s.readers.RUnlock()
	}
	return err
}
