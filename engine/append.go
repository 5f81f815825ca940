package engine

import (
	"context"
)

// Append appends events to one stream if its version matches expected.
// It returns after the events are durable (fsynced) and readable.
//
// Events without an ID get a random one, written into the slice, so that
// retrying with the same slice is idempotent. Retrying an append whose
// events were already written (same ids, same stream, same place) returns
// the original positions and writes nothing.
func (s *Store) Append(ctx context.Context, stream string, expected ExpectedVersion, events ...EventData) (Result, error) {
	return s.AppendMulti(ctx, []StreamAppend{{Stream: stream, Expected: expected, Events: events}})
}

// AppendMulti appends to several streams atomically: every part's
// expected version must match, or nothing is written. The same stream may
// appear in several parts; each sees the parts before it. This is also
// the bulk-import path: one call can carry many streams' events (up to
// Options.MaxAppendSize bytes).
func (s *Store) AppendMulti(ctx context.Context, parts []StreamAppend) (Result, error) {
	return s.Apply(ctx, Command{Appends: parts})
}

// SetStreamMetadata replaces a stream's metadata ($maxCount, $maxAge, $tb
// and custom properties). Reads honour it at once. The stream need not
// exist yet.
func (s *Store) SetStreamMetadata(ctx context.Context, stream string, meta StreamMetadata) error {
	_, err := s.Apply(ctx, Command{Metadata: &MetadataChange{Stream: stream, Metadata: meta}})
	return err
}

// DeleteStream soft-deletes a stream (hard = false): its events are hidden
// and a later append starts it again with the next version. A hard delete
// tombstones it: reads and appends fail with ErrStreamDeleted forever.
func (s *Store) DeleteStream(ctx context.Context, stream string, expected ExpectedVersion, hard bool) error {
	_, err := s.Apply(ctx, Command{Delete: &StreamDelete{Stream: stream, Expected: expected, Hard: hard}})
	return err
}

// Apply validates and applies one command. A zero cmd.Time is stamped
// with the store's clock. Apply is what a replicated log feeds: given the
// same commands in the same order, stores end identical.
func (s *Store) Apply(ctx context.Context, cmd Command) (Result, error) {
	p, err := s.Submit(ctx, cmd)
	if err != nil {
		return Result{}, err
	}
	select {
	case <-p.req.done:
	case <-ctx.Done():
		// The command may still be applied; a retry with the same event
		// ids is idempotent.
		return Result{}, ctx.Err()
	}
	return p.Wait()
}

// Pending is a submitted command whose outcome is not known yet.
type Pending struct {
	s   *Store
	req *request
}

// Submit validates cmd and queues it, returning without waiting for its
// outcome: commands submitted one after the other by one goroutine are
// applied in that order, so a caller can keep several in flight (the
// bulk-import path does, to overlap decoding, applying, fsyncing and
// indexing). Every submitted command is decided, even if the store is
// closed meanwhile; Wait returns its outcome.
func (s *Store) Submit(ctx context.Context, cmd Command) (*Pending, error) {
	if cmd.Time.IsZero() {
		cmd.Time = s.opts.Clock()
	}
	if err := cmd.prepare(&s.opts); err != nil {
		return nil, err
	}
	req := &request{cmd: cmd, done: make(chan struct{})}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.unsynced.Add(1)
	select {
	case s.queue <- req:
	case <-ctx.Done():
		s.unsynced.Add(-1)
		return nil, ctx.Err()
	}
	return &Pending{s: s, req: req}, nil
}

// Wait blocks until the command is durable and readable (or rejected)
// and returns its outcome. Call it once.
func (p *Pending) Wait() (Result, error) {
	<-p.req.done
	if p.req.err != nil {
		return Result{}, p.req.err
	}
	res := p.req.res
	p.s.stats.appends.Add(1)
	if !res.Idempotent && res.LastPosition > 0 {
		p.s.stats.events.Add(res.LastPosition - res.FirstPosition + 1)
	}
	return res, nil
}

// ExpectEvents is a hint from a bulk writer (an import) that about n more
// events will follow. The store sizes its in-memory structures for them
// now, while the index is as small as it will be: the existence filter
// of event ids and stream names is otherwise rebuilt, from the whole
// index, each time it fills up. A wrong hint costs memory (two bytes per
// event announced) or a later rebuild, never a wrong answer.
func (s *Store) ExpectEvents(n int) {
	if n > 0 {
		s.applier.expected.Store(uint64(n))
	}
}
