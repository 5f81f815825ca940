package engine

import "context"

// CommitMark returns a number that grows with every command readers can
// see — an append, a metadata change or a delete — as WaitForCommit's
// starting point: the end of the log the published index covers. Like
// Head, it covers every command acknowledged before the call.
func (s *Store) CommitMark() uint64 { return s.catchUp().LogEnd }

// WaitForCommit blocks until a command committed after mark (from
// CommitMark) is readable, then returns the new mark. It returns at once
// when there is one already, and with ctx's error or ErrClosed otherwise.
// Unlike WaitForEvents, which wakes only for new events, it wakes for
// metadata changes and deletes too, so that followers of a stream learn
// at once that it was deleted.
func (s *Store) WaitForCommit(ctx context.Context, mark uint64) (uint64, error) {
	return s.waitHead(ctx, mark, func(h *head) uint64 { return h.LogEnd })
}

// waitHead blocks until of(published head) passes after, then returns
// it; with ctx's error or ErrClosed when it cannot.
func (s *Store) waitHead(ctx context.Context, after uint64, of func(*head) uint64) (uint64, error) {
	for {
		ch := *s.notify.Load()
		if v := of(s.head.Load()); v > after {
			return v, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-s.closing:
			return 0, ErrClosed
		}
	}
}
