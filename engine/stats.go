package engine

import (
	"sync/atomic"
	"time"
)

// Stats is a snapshot of the store's size and activity since Open.
type Stats struct {
	StoreID   string
	Events    uint64 // events ever appended (= the head position)
	Streams   uint64
	DataBytes uint64 // sum of data+metadata bytes of all events
	LogBytes  uint64 // size of the segment files
	Segments  int
	// IndexBytes is the disk space of the index.
	IndexBytes uint64
	// Since Open:
	Appends        uint64 // commands applied (appends, metadata changes, deletes)
	EventsAppended uint64
	Fsyncs         uint64
	FsyncAvg       time.Duration
	FsyncMax       time.Duration
	// EventsDecoded counts event records read by iterators (including
	// ones skipped by filters): what a query cost.
	EventsDecoded uint64
	Uptime        time.Duration
}

type storeStats struct {
	appends, events, fsyncs atomic.Uint64
	decoded                 atomic.Uint64
	fsyncNanos, fsyncMax    atomic.Int64
}

func (st *storeStats) observeFsync(d time.Duration) {
	st.fsyncs.Add(1)
	st.fsyncNanos.Add(int64(d))
	for {
		m := st.fsyncMax.Load()
		if int64(d) <= m || st.fsyncMax.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Stats returns the store's statistics.
func (s *Store) Stats() Stats {
	h := s.head.Load()
	st := Stats{
		StoreID:        s.id,
		Events:         h.LastPosition,
		Streams:        h.Streams,
		DataBytes:      h.Bytes,
		Appends:        s.stats.appends.Load(),
		EventsAppended: s.stats.events.Load(),
		Fsyncs:         s.stats.fsyncs.Load(),
		FsyncMax:       time.Duration(s.stats.fsyncMax.Load()),
		EventsDecoded:  s.stats.decoded.Load(),
		Uptime:         time.Since(s.opened),
	}
	if st.Fsyncs > 0 {
		st.FsyncAvg = time.Duration(s.stats.fsyncNanos.Load() / int64(st.Fsyncs))
	}
	segs := s.log.segments()
	st.Segments = len(segs)
	st.LogBytes = h.LogEnd - segs[0].header.BaseOffset
	if !s.closed.Load() {
		s.readers.RLock()
		if !s.closed.Load() {
			st.IndexBytes = s.db.Metrics().DiskSpaceUsage()
		}
		s.readers.RUnlock()
	}
	return st
}
