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
	for {
		ch := *s.notify.Load()
		if end := s.head.Load().LogEnd; end > mark {
			return end, nil
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
