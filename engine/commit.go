package engine

import (
	"fmt"
	"time"
)

// The write path is a two-stage pipeline:
//
//	callers --queue--> committer --groups--> syncer --> callers acknowledged
//
// The committer takes every queued command, applies each (deciding
// positions and versions and staging records), writes the group with one
// write call and hands it on. The syncer fsyncs (one fsync covers every
// group written meanwhile), indexes the new records from the mapped log,
// publishes the new head and only then acknowledges. While the syncer
// waits on the disk, the committer builds the next group: that is group
// commit, so throughput grows with the number of concurrent writers.

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
		batch = append(batch[:0], req)
	drain:
		for len(batch) < maxGroupRequests {
			select {
			case r, ok := <-s.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.commitGroup(batch)
	}
}

func (s *Store) commitGroup(batch []*request) {
	if err := s.failure(); err != nil {
		for _, r := range batch {
			r.err = err
			close(r.done)
		}
		return
	}
	a := s.applier
	a.forget(s.indexedGroup.Load())
	g := &group{seq: a.beginGroup()}
	for _, r := range batch {
		r.res, r.err = a.apply(&r.cmd)
		// Rejections need no fsync, nor do replays of events already
		// durable; a replay of events still in flight waits for them.
		if r.err != nil || r.res.Idempotent && r.res.LastPosition <= s.head.Load().LastPosition {
			close(r.done)
			continue
		}
		g.reqs = append(g.reqs, r)
	}
	seg, end, err := s.log.flush()
	if err != nil {
		s.fail(fmt.Errorf("write log: %w", err))
		for _, r := range g.reqs {
			r.err = s.failure()
			close(r.done)
		}
		return
	}
	if len(g.reqs) == 0 {
		return
	}
	g.seg, g.end = seg, end
	g.created = a.takeCreated()
	s.groups <- g
}

func (s *Store) runSyncer() {
	defer close(s.syncerDone)
	var gs []*group
	for g := range s.groups {
		gs = append(gs[:0], g)
	drain:
		for {
			select {
			case g2, ok := <-s.groups:
				if !ok {
					break drain
				}
				gs = append(gs, g2)
			default:
				break drain
			}
		}
		err := s.syncGroups(gs)
		for _, g := range gs {
			for _, r := range g.reqs {
				if err != nil && r.err == nil {
					r.err = err
				}
				close(r.done)
			}
		}
	}
}

// syncGroups makes the groups durable, indexes them and publishes them.
func (s *Store) syncGroups(gs []*group) error {
	if err := s.failure(); err != nil {
		return err
	}
	last := gs[len(gs)-1]
	if last.end > s.head.Load().LogEnd {
		start := time.Now()
		if err := last.seg.file.Sync(); err != nil {
			s.fail(fmt.Errorf("fsync log: %w", err))
			return s.failure()
		}
		s.stats.observeFsync(time.Since(start))
		s.log.markDurable(last.seg, last.end)
		clear(s.indexer.created)
		for _, g := range gs {
			for _, name := range g.created {
				s.indexer.created[name] = struct{}{}
			}
		}
		if err := indexRange(s.log, s.indexer, s.indexer.cp.LogEnd, last.end, 0, s.restricted.apply); err != nil {
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
