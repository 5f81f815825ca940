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
	// FsyncLatency is the distribution of fsync durations since Open.
	FsyncLatency LatencyHistogram
	// EventsDecoded counts event records read by iterators (including
	// ones skipped by filters): what a query cost.
	EventsDecoded uint64
	// StreamsRead counts stream states read by ListStreams and
	// StreamInfo: what a query of eventsql.streams cost.
	StreamsRead uint64
	// LogReads counts the preads of random-access reads (stream, type and
	// category reads, GetEvent, id checks): nearby frames of one read
	// share one (see span_reader.go).
	LogReads uint64
	// MappedReads counts random-access reads of frames served from
	// populated log mappings, without a system call (resident.go).
	MappedReads uint64
	// RestrictedStreams counts streams whose events reads may hide
	// ($maxCount, $maxAge, $tb, deleted). When it is 0 every event ever
	// appended is visible, so counts from the indexes are exact.
	RestrictedStreams int64
	// Warming is true after Open until the background warm-up (the event
	// id filter, the index cache, the log mapping) is done; reads and
	// appends work meanwhile, only slower.
	Warming bool
	Uptime  time.Duration
}

// latencyBounds are the upper bounds of the LatencyHistogram buckets.
var latencyBounds = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
}

// LatencyHistogram counts durations into fixed buckets (see Bounds),
// from 50µs to 2.5s.
type LatencyHistogram struct {
	Counts [len(latencyBounds) + 1]uint64
	Sum    time.Duration
}

// Bounds returns the buckets' upper bounds: Counts[i] counts durations
// in (Bounds()[i-1], Bounds()[i]], and the last count those above all.
func (h *LatencyHistogram) Bounds() []time.Duration {
	b := latencyBounds
	return b[:]
}

// Count returns the number of observations.
func (h *LatencyHistogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile estimates the q-quantile (0..1) by linear interpolation within
// its bucket; 0 when there are no observations. Values above the last
// bound are reported as that bound.
func (h *LatencyHistogram) Quantile(q float64) time.Duration {
	total := h.Count()
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	for i, c := range h.Counts {
		if c == 0 || seen+float64(c) < rank {
			seen += float64(c)
			continue
		}
		if i == len(latencyBounds) {
			return latencyBounds[i-1]
		}
		lo := time.Duration(0)
		if i > 0 {
			lo = latencyBounds[i-1]
		}
		frac := (rank - seen) / float64(c)
		return lo + time.Duration(frac*float64(latencyBounds[i]-lo))
	}
	return latencyBounds[len(latencyBounds)-1]
}

type storeStats struct {
	appends, events, fsyncs atomic.Uint64
	decoded                 atomic.Uint64
	streamsRead             atomic.Uint64
	fsyncNanos, fsyncMax    atomic.Int64
	fsyncBuckets            [len(latencyBounds) + 1]atomic.Uint64
}

func (st *storeStats) observeFsync(d time.Duration) {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	st.fsyncBuckets[i].Add(1)
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
	h := s.catchUp()
	st := Stats{
		StoreID:           s.id,
		Events:            h.LastPosition,
		Streams:           h.Streams,
		DataBytes:         h.Bytes,
		Appends:           s.stats.appends.Load(),
		EventsAppended:    s.stats.events.Load(),
		Fsyncs:            s.stats.fsyncs.Load(),
		FsyncMax:          time.Duration(s.stats.fsyncMax.Load()),
		EventsDecoded:     s.stats.decoded.Load(),
		StreamsRead:       s.stats.streamsRead.Load(),
		LogReads:          s.log.reads.Load(),
		MappedReads:       s.log.mappedReads.Load(),
		RestrictedStreams: s.restricted.n.Load(),
		Warming:           s.warming.Load(),
		Uptime:            time.Since(s.opened),
	}
	for i := range s.stats.fsyncBuckets {
		st.FsyncLatency.Counts[i] = s.stats.fsyncBuckets[i].Load()
	}
	st.FsyncLatency.Sum = time.Duration(s.stats.fsyncNanos.Load())
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

// RestrictedStreams is Stats().RestrictedStreams without the rest: 0
// means no read hides any event, so index counts are exact.
func (s *Store) RestrictedStreams() int64 { return s.restricted.n.Load() }
