package engine

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// The write path is a three-stage pipeline, one goroutine per stage:
//
//	callers --queue--> committer --groups--> syncer --synced--> indexer --> head published
//	                                           └──> callers acknowledged
//
// The committer takes every queued command and applies each (deciding
// positions and versions and staging records in memory), writes the
// group's frames with one write call and hands the group on. The syncer
// fsyncs (one fsync covers every group written meanwhile) and then
// acknowledges the callers: an acknowledged append is durable. The
// indexer indexes the durable records from the group's own buffer (not the
// mapped log: no page faults, nothing to read back) and publishes the new
// head. A read that starts after an acknowledgement first waits for the
// head to cover every durable record (Store.catchUp), so callers still
// read their own writes. While the syncer waits on the disk, the committer
// applies and writes the next group and the indexer indexes the previous
// one: that is group commit, so throughput grows with the number of
// concurrent writers.

// request is a command waiting for its outcome.
type request struct {
	cmd  Command
	res  Result
	err  error
	done chan struct{}
}

// group is what the committer hands to the syncer.
type group struct {
	seq    uint64
	reqs   []*request
	frames framesOut // the group's records, written at frames.off
	// lastPosition is the position of the group's last event (or the last
	// one before it when it has none).
	lastPosition uint64
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
	rolledFor := -1 // the request a roll was made for
	for i := 0; i < len(batch); i++ {
		r := batch[i]
		r.res, r.err = a.apply(&r.cmd)
		var roll *errRollNeeded
		if errors.As(r.err, &roll) && rolledFor == i {
			// A fresh segment is sized for the command: never again.
			r.err = fmt.Errorf("engine: a command of %d bytes does not fit a new segment", roll.size)
		} else if errors.As(r.err, &roll) {
			// The command does not fit the active segment; nothing of it
			// is staged. Seal the segment with what it holds made durable,
			// then apply the command again in a new group and segment.
			if err := s.rollLog(g, roll.size); err != nil {
				s.fail(fmt.Errorf("roll the log: %w", err))
				s.answerNow(batch[i:], s.failure())
				return
			}
			g = &group{seq: a.beginGroup()}
			rolledFor = i
			i--
			continue
		}
		// Rejections need no fsync, nor do replays of events already
		// durable; a replay of events still in flight waits for them.
		if r.err != nil || r.res.Idempotent && r.res.LastPosition <= s.durablePosition.Load() {
			s.answerNow([]*request{r}, nil)
			continue
		}
		g.reqs = append(g.reqs, r)
	}
	if len(g.reqs) > 0 {
		s.handOn(g, false)
	}
}

// handOn writes the group's frames and passes the group to the syncer;
// with syncFirst (a roll) the segment is fsynced first. A failed write or
// fsync fails the store and the group's requests.
func (s *Store) handOn(g *group, syncFirst bool) error {
	g.frames = s.log.takeFrames()
	g.lastPosition = s.applier.nextPosition - 1
	g.created = s.applier.takeCreated()
	err := s.log.write(g.frames, s.durableEnd.Load())
	if err == nil && syncFirst {
		if serr := g.frames.seg.file.Sync(); serr != nil {
			err = fmt.Errorf("sync %s before sealing: %w", g.frames.seg.path, serr)
		}
	}
	if err != nil {
		s.fail(fmt.Errorf("write log: %w", err))
		s.answerNow(g.reqs, s.failure())
		return s.failure()
	}
	if len(g.reqs) == 0 {
		s.log.recycle(&g.frames)
		return nil
	}
	s.groups <- g
	return nil
}

// rollLog hands g on, with the active segment made durable (every frame
// staged in it is written by now), and rolls the log to a new segment:
// a sealed segment is complete on disk before the next one exists.
func (s *Store) rollLog(g *group, firstCommand int) error {
	if err := s.handOn(g, true); err != nil {
		return err
	}
	return s.log.roll(s.applier.nextPosition, firstCommand)
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
// since the last one. It then acknowledges them, and durable groups go
// on to the indexer, so the next fsync overlaps with indexing the
// previous groups.
func (s *Store) runSyncer() {
	defer close(s.synced)
	var gs []*group
	var recent recentMax
	// syncErr is sticky: after a failed fsync nothing written before it
	// may be trusted, even if a later fsync succeeds.
	var syncErr error
	for g := range s.groups {
		gs = drain(s.groups, append(gs[:0], g), 0)
		gs = s.waitForStragglers(gs, recent.max())
		n := countRequests(gs)
		recent.add(n)
		// Groups written before a failure elsewhere (a failed write of a
		// later group) are still synced and acknowledged normally.
		if syncErr == nil {
			syncErr = s.syncGroups(gs)
		}
		if syncErr == nil {
			// Reads wait for the index to cover this before they start.
			for _, g := range gs {
				if g.frames.size > 0 {
					s.durableEnd.Store(g.frames.end)
				}
			}
			s.durablePosition.Store(gs[len(gs)-1].lastPosition)
		}
		s.unsynced.Add(-n)
		ackGroups(gs, syncErr)
		if syncErr == nil {
			s.synced <- append([]*group(nil), gs...)
		}
	}
}

// syncGroups fsyncs the segments the groups' frames went to (one, except
// around a roll) and marks them durable.
func (s *Store) syncGroups(gs []*group) error {
	var seg *segment
	var end uint64
	sync := func() error {
		if seg == nil {
			return nil
		}
		start := time.Now()
		if err := seg.file.Sync(); err != nil {
			s.fail(fmt.Errorf("fsync log: %w", err))
			return s.failure()
		}
		s.stats.observeFsync(time.Since(start))
		s.log.markDurable(seg, end)
		return nil
	}
	for _, g := range gs {
		if g.frames.size == 0 {
			continue
		}
		if seg != nil && g.frames.seg != seg {
			if err := sync(); err != nil {
				return err
			}
		}
		seg, end = g.frames.seg, g.frames.end
	}
	return sync()
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
		case <-s.indexNow:
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

// runIndexer indexes durable (and acknowledged) groups and publishes the
// new head. When indexing fails the store fails, and reads stop waiting
// for records the index will never cover.
func (s *Store) runIndexer() {
	defer close(s.syncerDone)
	var indexErr error // sticky: later records cannot be indexed either
	for gs := range s.synced {
		// The syncer has just readied the callers it acknowledged, and
		// this goroutine would otherwise run before most of them on its
		// processor (a readied goroutine queues behind the one readied
		// last). Indexing is off their path: let them answer first.
		runtime.Gosched()
		for _, more := range drain(s.synced, nil, 0) {
			gs = append(gs, more...)
		}
		gs = s.gatherBulk(gs)
		if indexErr == nil {
			if indexErr = s.indexGroups(gs); indexErr != nil {
				s.indexStopped.Store(true)
				s.wakeReaders()
			}
		}
	}
}

// Bulk groups are indexed several at a time. An index batch writes, for
// every stream it touches, the stream's state and a posting block: two
// Pebble keys per stream whatever its number of events in the batch. A
// bulk import whose streams interleave widely (say 28k streams written
// round robin, so a 12k-event command touches each at most once) then
// costs two keys per event, and their flushes and compactions were most
// of its CPU. Indexing several commands' groups in one batch divides that
// by the number of times a stream recurs in it. Appends are acknowledged
// at the fsync, before indexing, so gathering delays no writer; a read
// waits for the index to cover what was acknowledged (catchUp), and a
// waiting read ends the gathering at once (indexNow).
const (
	// bulkGroupBytes is the size from which a group counts as bulk.
	bulkGroupBytes = 1 << 20
	// bulkGatherBytes is how many bytes of frames a gathered batch
	// covers at most.
	bulkGatherBytes = 48 << 20
	// bulkGatherWait is the longest the indexer waits for the next group
	// (a bulk import's groups come every 20-60 ms here).
	bulkGatherWait = 100 * time.Millisecond
)

// gatherBulk waits for more groups while gs ends with a bulk group,
// until bulkGatherBytes of frames are gathered, no group comes within
// bulkGatherWait, a read waits for the index, or the store closes its
// pipeline.
func (s *Store) gatherBulk(gs []*group) []*group {
	size := 0
	for _, g := range gs {
		size += g.frames.size
	}
	var timer *time.Timer
	for gs[len(gs)-1].frames.size >= bulkGroupBytes && size < bulkGatherBytes {
		if timer == nil {
			timer = time.NewTimer(bulkGatherWait)
			defer timer.Stop()
		} else {
			timer.Reset(bulkGatherWait)
		}
		select {
		case more, ok := <-s.synced:
			if !ok {
				return gs
			}
			for _, g := range more {
				size += g.frames.size
			}
			gs = append(gs, more...)
		case <-timer.C:
			return gs
		case <-s.indexNow:
			return gs
		}
	}
	return gs
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

// indexGroups indexes durable groups from their frames, publishes them
// and recycles their buffers.
func (s *Store) indexGroups(gs []*group) error {
	ix := s.indexer
	clear(ix.created)
	indexed := false
	for _, g := range gs {
		for _, name := range g.created {
			ix.created[name] = struct{}{}
		}
	}
	for _, g := range gs {
		f := &g.frames
		start := f.end - uint64(f.size) // global offset of the first chunk
		base := start
		for _, buf := range f.bufs {
			if err := indexFrames(ix, buf, base); err != nil {
				var ce *CorruptionError
				if errors.As(err, &ce) && ce.File == "" {
					ce.File, ce.Offset = f.seg.path, f.off+(ce.Offset-int64(start))
				}
				s.fail(fmt.Errorf("index appended records: %w", err))
				return s.failure()
			}
			base += uint64(len(buf))
			indexed = true
		}
	}
	if indexed {
		fb := ix.finishBatch()
		if err := commitBatch(fb.batch); err != nil {
			s.fail(fmt.Errorf("index appended records: %w", err))
			return s.failure()
		}
		s.afterIndexCommit(fb)
		if ix.cachesFull() {
			ix.trimCaches()
		}
		s.publish()
	}
	s.indexedGroup.Store(gs[len(gs)-1].seq)
	for _, g := range gs {
		s.log.recycle(&g.frames)
	}
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
