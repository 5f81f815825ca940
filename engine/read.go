package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// acquire registers a reader, once the head covers every acknowledged
// append (catchUp); release with s.readers.RUnlock.
func (s *Store) acquire() error {
	s.catchUp()
	s.readers.RLock()
	if s.closed.Load() && s.syncerStopped() {
		s.readers.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) syncerStopped() bool {
	select {
	case <-s.syncerDone:
		return true
	default:
		return false
	}
}

// ReadStream reads a stream from version from. Forward reads start at
// max(from, first visible version); backward reads start at from, or at
// the last version when from < 0. Soft-deleted streams and streams with
// no events give ErrStreamNotFound, hard-deleted ones ErrStreamDeleted
// (both wrapped in *StreamError).
func (s *Store) ReadStream(ctx context.Context, stream string, from int64, opts ReadOptions) (*EventIterator, error) {
	if err := validateName("stream", stream, MaxStreamNameLen); err != nil {
		return nil, err
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	st, h, err := s.readStreamState(stream, opts.SkipExistenceCheck)
	if err != nil {
		s.readers.RUnlock()
		return nil, err
	}
	switch {
	case st.Deleted == hardDeleted:
		s.readers.RUnlock()
		return nil, &StreamError{Stream: stream, Err: ErrStreamDeleted}
	case st.Version < 0 || st.Deleted == softDeleted:
		s.readers.RUnlock()
		return nil, &StreamError{Stream: stream, Err: ErrStreamNotFound}
	}
	lo, hi := st.firstVisibleVersion(), st.Version
	if opts.Direction == Backward {
		if from >= 0 {
			hi = min(hi, from)
		}
	} else {
		lo = max(lo, from)
	}
	src, err := s.newPostingSource(prefixStreamPost, stream, true, uint64(max(lo, 0)), uint64(max(hi, 0)), h, opts.Direction)
	if err != nil {
		s.readers.RUnlock()
		return nil, err
	}
	if lo > hi {
		src.exhausted = true
	}
	if opts.EventType != "" {
		if err := ValidateEventType(opts.EventType); err != nil {
			src.close()
			s.readers.RUnlock()
			return nil, err
		}
		src.only = s.newTypeMembership(opts.EventType)
	}
	var filter func(*record) bool
	if st.Meta.MaxAge > 0 {
		now := time.Now()
		filter = func(r *record) bool { return st.visible(r.Version, r.CreatedAt, now) }
	}
	return s.newIterator(ctx, src, filter, opts.Limit), nil
}

// readStreamState returns the state a read of stream goes by and the
// head it reads up to. Without skipIndex, the state is the index's (a
// point read). With it, a restricted stream's state comes from the
// restricted view, and any other stream is taken to exist with every
// version visible (postings and the head bound what is read): the head
// is loaded first, and restrictions are applied to the view before the
// head that covers them is published (afterIndexCommit, publish), so
// the read sees every restriction its head covers.
func (s *Store) readStreamState(stream string, skipIndex bool) (streamState, *head, error) {
	if !skipIndex {
		st, _, err := loadStreamState(s.db, stream)
		return st, s.head.Load(), err
	}
	h := s.head.Load()
	if st, ok := s.restricted.state(stream); ok {
		return st, h, nil
	}
	return streamState{Version: math.MaxInt64 - 1}, h, nil
}

// ReadAll reads the $all log forward from position from (0 or 1: the
// start). Events of deleted streams or hidden by stream metadata are
// skipped.
func (s *Store) ReadAll(ctx context.Context, from uint64, opts ReadOptions) (*EventIterator, error) {
	if opts.EventType != "" {
		return nil, errEventTypeOption
	}
	if opts.Direction == Backward {
		return nil, invalid("direction", "backward reads of $all are not supported")
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	h := s.head.Load()
	start, err := s.offsetAtOrBefore(from)
	if err != nil {
		s.readers.RUnlock()
		return nil, err
	}
	src := &scanSource{sc: s.log.scan(start, h.LogEnd), from: from}
	return s.newIterator(ctx, src, s.visibleFilter(), opts.Limit), nil
}

// ReadType reads the events of one type from position from.
func (s *Store) ReadType(ctx context.Context, eventType string, from uint64, opts ReadOptions) (*EventIterator, error) {
	if err := ValidateEventType(eventType); err != nil {
		return nil, err
	}
	return s.readPositions(ctx, prefixTypePost, eventType, from, opts)
}

// ReadCategory reads the events of all streams of a category (see
// Category) from position from.
func (s *Store) ReadCategory(ctx context.Context, category string, from uint64, opts ReadOptions) (*EventIterator, error) {
	if err := validateName("category", category, MaxStreamNameLen); err != nil {
		return nil, err
	}
	return s.readPositions(ctx, prefixCategoryPost, category, from, opts)
}

func (s *Store) readPositions(ctx context.Context, prefix byte, name string, from uint64, opts ReadOptions) (*EventIterator, error) {
	if opts.EventType != "" {
		return nil, errEventTypeOption
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	h := s.head.Load()
	lo, hi := from, h.LastPosition
	if opts.Direction == Backward {
		lo, hi = 0, min(hi, from)
		if from == 0 {
			hi = h.LastPosition
		}
	}
	src, err := s.newPostingSource(prefix, name, false, lo, hi, h, opts.Direction)
	if err != nil {
		s.readers.RUnlock()
		return nil, err
	}
	return s.newIterator(ctx, src, s.visibleFilter(), opts.Limit), nil
}

// errEventTypeOption: only stream reads filter by type (ReadType reads
// one type already).
var errEventTypeOption = invalid("eventType", "only stream reads can be limited to an event type")

// visibleFilter hides events of restricted streams; nil when none exist.
func (s *Store) visibleFilter() func(*record) bool {
	if s.restricted.n.Load() == 0 {
		return nil
	}
	now := time.Now()
	return func(r *record) bool { return s.restricted.visible(r.Stream, r.Version, r.CreatedAt, now) }
}

// GetEvent looks an event up by id.
func (s *Store) GetEvent(ctx context.Context, id uuid.UUID) (*RecordedEvent, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.readers.RUnlock()
	e, ok, err := s.ids.lookup(id)
	if err != nil {
		return nil, err
	}
	h := s.head.Load()
	if !ok || e.pos > h.LastPosition {
		return nil, fmt.Errorf("%w: %s", ErrEventNotFound, id)
	}
	fr := newFrameReader(s.log)
	payload, err := fr.read(e.off, h.LogEnd)
	if err != nil {
		return nil, err
	}
	var r record
	if err := decodeRecord(payload, &r); err != nil {
		return nil, err
	}
	if !s.restricted.visible(r.Stream, r.Version, r.CreatedAt, time.Now()) {
		return nil, fmt.Errorf("%w: %s", ErrEventNotFound, id)
	}
	it := EventIterator{types: map[string]string{}}
	it.set(&r)
	return it.ev.Clone(), nil
}

// PositionAt returns the position of the first event created at or after
// t, or Head()+1 when there is none. Stamps never go backwards, so a time
// range maps to a position range.
func (s *Store) PositionAt(ctx context.Context, t time.Time) (uint64, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.readers.RUnlock()
	h := s.head.Load()
	micros := t.UnixMicro()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixTime}, UpperBound: []byte{prefixTime + 1}})
	if err != nil {
		return 0, err
	}
	start := uint64(1)
	if it.SeekLT(timeKey(nil, micros, 0)) {
		start = binary.BigEndian.Uint64(it.Key()[9:])
	}
	if err := it.Close(); err != nil {
		return 0, err
	}
	off, err := s.offsetAtOrBefore(start)
	if err != nil {
		return 0, err
	}
	sc := s.log.scan(off, h.LogEnd)
	for {
		r, _, ok, err := sc.next()
		if err != nil {
			return 0, err
		}
		if !ok {
			return h.LastPosition + 1, nil
		}
		if r.Kind == kindEvent && r.CreatedAt >= micros {
			return r.Position, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
}

// offsetAtOrBefore returns the log offset of the nearest indexed position
// at or before pos (0: the start of the log).
func (s *Store) offsetAtOrBefore(pos uint64) (uint64, error) {
	if pos <= 1 {
		return 0, nil
	}
	// The entry of pos's run of positionIndexEvery positions, from the
	// cache or by key. It is missing when pos is past what the index holds
	// yet, and in stores indexed before entries were aligned (their
	// entries are found by the seek below).
	run := (pos - 1) / positionIndexEvery
	if off, ok := s.positions.get(run); ok {
		return off, nil
	}
	v, closer, err := s.db.Get(positionKey(nil, run*positionIndexEvery+1))
	switch {
	case err == nil:
		off, err := positionEntryOffset(v)
		closer.Close()
		if err == nil {
			s.positions.put(run, off)
		}
		return off, err
	case !errors.Is(err, pebble.ErrNotFound):
		return 0, err
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPosition}, UpperBound: []byte{prefixPosition + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.SeekLT(positionKey(nil, pos+1)) {
		return 0, it.Error()
	}
	return positionEntryOffset(it.Value())
}

// positionEntryOffset is the log offset in a position entry's value.
func positionEntryOffset(v []byte) (uint64, error) {
	if len(v) != 16 {
		return 0, errors.New("engine: malformed position entry in the index")
	}
	return binary.BigEndian.Uint64(v), nil
}

// scanSource reads the log sequentially.
type scanSource struct {
	sc   *logScanner
	from uint64
}

func (s *scanSource) next() (*record, bool, error) {
	for {
		r, _, ok, err := s.sc.next()
		if err != nil || !ok {
			return nil, false, err
		}
		if r.Kind == kindEvent && r.Position >= s.from {
			return r, true, nil
		}
	}
}

func (s *scanSource) close() error { return nil }

// postingSource reads events through posting blocks of one name, with
// sequence numbers (versions for streams, positions otherwise) in [lo, hi].
// The events it points at lie anywhere in the log, so it reads them with
// pread (spanReader, frameReader), not through the mapping.
//
// Going forward it holds a window of postings of at least
// minPostingWindow entries when the name has them, gathered from
// consecutive blocks (live appends write small blocks, one per group
// commit), so nearby frames can share a read however the blocks fall.
type postingSource struct {
	s            *Store
	it           *pebble.Iterator
	prefix       []byte
	seqIsVersion bool
	lo, hi       uint64
	head         *head
	backward     bool

	block     []posting // the window
	seqs      []uint64  // versions of block's entries (stream reads)
	i         int
	started   bool
	itDone    bool // the index iterator has no more blocks
	exhausted bool
	// only, when set, skips postings of events of other types (stream
	// reads with ReadOptions.EventType) without reading them.
	only *typeMembership
	// last is the index of the window's last posting inside the read's
	// bounds (forward reads); spans never fetch past it.
	last   int
	rec    record
	frames spanReader // rec aliases its buffers
}

// minPostingWindow is the fewest postings a forward read gathers before
// reading their events, when the name has them.
const minPostingWindow = 64

func (s *Store) newPostingSource(prefix byte, name string, seqIsVersion bool, lo, hi uint64, h *head, dir Direction) (*postingSource, error) {
	p := postingPrefix(prefix, name)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixUpperBound(p)})
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return &postingSource{s: s, it: it, prefix: p, seqIsVersion: seqIsVersion, lo: lo, hi: hi, head: h,
		backward: dir == Backward, frames: newSpanReader(s.log)}, nil
}

func (p *postingSource) seq(i int) uint64 {
	if p.seqIsVersion {
		return p.seqs[i]
	}
	return p.block[i].Pos
}

// load appends the block under the iterator to the window, reporting
// false at the end.
func (p *postingSource) load(valid bool) (bool, error) {
	if !valid {
		p.itDone = true
		return false, p.it.Error()
	}
	n := len(p.block)
	var err error
	p.block, err = decodePostingBlock(p.block, p.it.Value())
	if err != nil {
		return false, err
	}
	if p.seqIsVersion {
		first := postingSeq(p.it.Key())
		for k := range len(p.block) - n {
			p.seqs = append(p.seqs, first+uint64(k))
		}
	}
	return true, nil
}

// advance replaces the window with the next block(s) in the read's
// direction and starts at its first entry; false at the end or on error.
func (p *postingSource) advance() (bool, error) {
	var valid bool
	switch {
	case !p.started:
		p.started = true
		if !p.backward && p.lo == 0 {
			// From the start (a stream's version 0): no reverse seek,
			// which Pebble makes costly to turn forward from.
			valid = p.it.First()
			break
		}
		valid = p.it.SeekLT(binary.BigEndian.AppendUint64(append([]byte(nil), p.prefix...), min(p.pick(p.lo, p.hi), math.MaxUint64-1)+1))
		if !valid && !p.backward {
			valid = p.it.First()
		}
	case p.itDone:
		valid = false
	case p.backward:
		valid = p.it.Prev()
	default:
		valid = p.it.Next()
	}
	p.block, p.seqs = p.block[:0], p.seqs[:0]
	ok, err := p.load(valid)
	if err != nil || !ok {
		p.exhausted = true
		return false, err
	}
	if p.backward {
		p.i = len(p.block) - 1
		return true, nil
	}
	p.i = 0
	// Gather following blocks while the window is short and still inside
	// the read's bounds.
	for len(p.block) < minPostingWindow {
		k := len(p.block) - 1
		if p.seq(k) >= p.hi || p.block[k].Pos >= p.head.LastPosition {
			break
		}
		ok, err := p.load(p.it.Next())
		if err != nil {
			p.exhausted = true
			return false, err
		}
		if !ok {
			break
		}
	}
	// Sequence numbers and positions both increase through the window.
	p.last = sort.Search(len(p.block), func(k int) bool {
		return p.seq(k) > p.hi || p.block[k].Pos > p.head.LastPosition
	}) - 1
	return true, nil
}

func (p *postingSource) next() (*record, bool, error) {
	if p.exhausted {
		return nil, false, nil
	}
	for {
		if !p.started || p.i < 0 || p.i >= len(p.block) {
			if ok, err := p.advance(); !ok {
				return nil, false, err
			}
		}
		i := p.i
		if p.backward {
			p.i--
		} else {
			p.i++
		}
		seq, post := p.seq(i), p.block[i]
		if p.backward {
			if seq > p.hi || post.Pos > p.head.LastPosition {
				continue
			}
			if seq < p.lo {
				p.exhausted = true
				return nil, false, nil
			}
		} else {
			if seq < p.lo {
				continue
			}
			if seq > p.hi || post.Pos > p.head.LastPosition {
				p.exhausted = true
				return nil, false, nil
			}
		}
		if p.only != nil {
			in, err := p.only.has(post.Pos)
			if err != nil {
				return nil, false, err
			}
			if !in {
				continue
			}
		}
		last := i
		if !p.backward {
			last = max(i, p.last)
		}
		payload, err := p.frames.read(p.block, i, last, p.head.LogEnd)
		if err != nil {
			return nil, false, err
		}
		if err := decodeRecord(payload, &p.rec); err != nil {
			return nil, false, err
		}
		if p.rec.Kind != kindEvent || p.rec.Position != post.Pos {
			return nil, false, fmt.Errorf("engine: index points at offset %d for position %d but the log holds position %d there", post.Off, post.Pos, p.rec.Position)
		}
		return &p.rec, true, nil
	}
}

// pick returns the sequence number to seek to: lo going forward, hi going back.
func (p *postingSource) pick(lo, hi uint64) uint64 {
	if p.backward {
		return hi
	}
	return lo
}

func (p *postingSource) close() error {
	err := p.it.Close()
	if p.only != nil {
		err = errors.Join(err, p.only.close())
	}
	return err
}
