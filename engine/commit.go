package engine

import (
	"errors"
	"fmt"
	"time"
)

// The write path is a three-stage pipeline, one goroutine per stage:
//
//	callers --queue--> committer --groups--> syncer --synced--> indexer --> callers acknowledged
//
// The committer takes every queued command, applies each (deciding
// positions and versions and staging records), writes the group with one
// write call and hands it on. The syncer fsyncs (one fsync covers every
// group written meanwhile). The indexer indexes the durable records from
// the mapped log, publishes the new head and only then acknowledges.
// While the syncer waits on the disk, the committer builds the next group
// and the indexer indexes the previous one: that is group commit, so
// throughput grows with the number of concurrent writers.

// request is a command waiting for its outcome.
type request struct {
	cmd  Command
	res  Result
	err  error
	done chan struct{}
}

// group is what the committer hands to the syncer.
type group struct {
	seq  uint64
	reqs []*request
	seg  *segment // active segment after the write
	end  uint64   // global log offset just past the group
	// created lists the streams this group writes first.
	created []string
}

// maxGroupRequests bounds one group so acknowledgements keep flowing
// under a flood of tiny appends.
const maxGroupRequests = 4096

func (s *Store) runCommitter() {
	defer close(s.groups)
	var batch []*request
	for {
		req, ok := <-s.queue
		if !ok {
			return
		}
		batch = drain(s.queue, append(batch[:0], req), maxGroupRequests)
		s.commitGroup(batch)
	}
}

// answerNow answers requests that never reach the syncer (rejections,
// replays of durable events, failures), with err when it is not nil.
func (s *Store) answerNow(reqs []*request, err error) {
	s.unsynced.Add(-int64(len(reqs)))
	for _, r := range reqs {
		if err != nil {
			r.err = err
		}
		close(r.done)
	}
}

func (s *Store) commitGroup(batch []*request) {
	if err := s.failure(); err != nil {
		s.answerNow(batch, err)
		return
	}
	a := s.applier
	a.forget(s.indexedGroup.Load())
	g := &group{seq: a.beginGroup()}
	for i, r := range batch {
		r.res, r.err = a.apply(&r.cmd)
		var ioErr *logIOError
		if errors.As(r.err, &ioErr) {
			// The log is in an unknown state: commands staged before this
			// one may not have been written. Nothing in this group, nor
			// anything after it, may be acknowledged.
			s.fail(ioErr.err)
			s.answerNow(append(g.reqs, batch[i:]...), s.failure())
			return
		}
		// Rejections need no fsync, nor do replays of events already
		// durable; a replay of events still in flight waits for them.
		if r.err != nil || r.res.Idempotent && r.res.LastPosition <= s.head.Load().LastPosition {
			s.answerNow([]*request{r}, nil)
			continue
		}
		g.reqs = append(g.reqs, r)
	}
	seg, end, err := s.log.flush()
	if err != nil {
		s.fail(fmt.Errorf("write log: %w", err))
		s.answerNow(g.reqs, s.failure())
		return
	}
	if len(g.reqs) == 0 {
		return
	}
	g.seg, g.end = seg, end
	g.created = a.takeCreated()
	s.groups <- g
}

// drain appends to dst whatever else is queued on ch, without blocking,
// stopping at limit elements (0: no limit).
func drain[T any](ch <-chan T, dst []T, limit int) []T {
	for limit == 0 || len(dst) < limit {
		select {
		case v, ok := <-ch:
			if !ok {
				return dst
			}
			dst = append(dst, v)
		default:
			return dst
		}
	}
	return dst
}

// runSyncer makes groups durable: one fsync covers every group written
// since the last one. Durable groups go on to the indexer, so the next
// fsync overlaps with indexing the previous groups.
func (s *Store) runSyncer() {
	defer close(s.synced)
	var syncedEnd uint64
	var gs []*group
	var recent recentMax
	// syncErr is sticky: after a failed fsync nothing written before it may
	// be trusted, even if a later fsync succeeds.
	var syncErr error
	for g := range s.groups {
		gs = drain(s.groups, append(gs[:0], g), 0)
		gs = s.waitForStragglers(gs, recent.max())
		last := gs[len(gs)-1]
		n := countRequests(gs)
		recent.add(n)
		// Groups written before a failure elsewhere (a failed write of a
		// later group) are still synced and acknowledged normally.
		if syncErr == nil && last.end > syncedEnd {
			start := time.Now()
			if err := last.seg.file.Sync(); err != nil {
				s.fail(fmt.Errorf("fsync log: %w", err))
				syncErr = s.failure()
			} else {
				s.stats.observeFsync(time.Since(start))
				s.log.markDurable(last.seg, last.end)
				syncedEnd = last.end
			}
		}
		s.unsynced.Add(-n)
		if syncErr != nil {
			ackGroups(gs, syncErr)
			continue
		}
		s.synced <- append([]*group(nil), gs...)
	}
}

// waitForStragglers delays an fsync briefly (Postgres's commit_delay)
// while more appends are expected: ones already submitted but not in gs,
// or as many as recent fsyncs carried. Writers acknowledged together come
// back together, but not at the same instant, and without the wait the
// first of them gets an fsync alone and the rest wait for the next one.
// A lone writer never waits; the window bounds the cost when load drops.
func (s *Store) waitForStragglers(gs []*group, expected int64) []*group {
	window := s.opts.GroupCommitWindow
	more := func() bool {
		n := countRequests(gs)
		return s.unsynced.Load() > n || n < expected
	}
	if window <= 0 || !more() {
		return gs
	}
	timer := time.NewTimer(window)
	defer timer.Stop()
	for more() {
		select {
		case g, ok := <-s.groups:
			if !ok {
				return gs
			}
			gs = append(gs, g)
		case <-timer.C:
			return gs
		}
	}
	return gs
}

// recentMax remembers how many appends recent fsyncs carried.
type recentMax struct {
	counts [8]int64
	i      int
}

func (r *recentMax) add(n int64) { r.counts[r.i%len(r.counts)] = n; r.i++ }

func (r *recentMax) max() int64 {
	m := int64(0)
	for _, c := range r.counts {
		m = max(m, c)
	}
	return m
}

func countRequests(gs []*group) int64 {
	n := 0
	for _, g := range gs {
		n += len(g.reqs)
	}
	return int64(n)
}

// runIndexer indexes durable groups from the mapped log, publishes the
// new head and acknowledges the groups' requests.
func (s *Store) runIndexer() {
	defer close(s.syncerDone)
	var indexErr error // sticky: later records cannot be indexed either
	for gs := range s.synced {
		for _, more := range drain(s.synced, nil, 0) {
			gs = append(gs, more...)
		}
		if indexErr == nil {
			indexErr = s.indexGroups(gs)
		}
		ackGroups(gs, indexErr)
	}
}

func ackGroups(gs []*group, err error) {
	for _, g := range gs {
		for _, r := range g.reqs {
			if err != nil && r.err == nil {
				r.err = err
			}
			close(r.done)
		}
	}
}

// indexGroups indexes durable groups and publishes them.
func (s *Store) indexGroups(gs []*group) error {
	last := gs[len(gs)-1]
	if last.end > s.indexer.cp.LogEnd {
		clear(s.indexer.created)
		for _, g := range gs {
			for _, name := range g.created {
				s.indexer.created[name] = struct{}{}
			}
		}
		if err := indexRange(s.log, s.indexer, s.indexer.cp.LogEnd, last.end, 0, s.afterIndexCommit); err != nil {
			s.fail(fmt.Errorf("index appended records: %w", err))
			return s.failure()
		}
		s.publish()
	}
	s.indexedGroup.Store(last.seq)
	return nil
}

// fail makes an I/O error sticky: the store accepts no more writes.
func (s *Store) fail(err error) {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	if s.failErr == nil {
		s.failErr = fmt.Errorf("%w: %w", ErrStoreFailed, err)
		s.logger.Error("store stopped accepting writes", "err", err)
	}
}

func (s *Store) failure() error {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	return s.failErr
}
