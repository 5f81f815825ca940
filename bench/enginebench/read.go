//go:build linux

package main

import (
	"github.com/eventsql/eventsql/bench/benchfmt"

	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventsql/eventsql/engine"
)

const (
	// streamLen is the number of events of every loaded stream.
	streamLen = 100
	// loadBatch is the number of events of one bulk AppendMulti.
	loadBatch = 1000
)

// StoreReport covers the scenarios run on the bulk-loaded store.
type StoreReport struct {
	Load         LoadResult        `json:"load"`
	Memory       MemoryResult      `json:"memory"`
	ScanFirst    *ScanResult       `json:"readAllFirst,omitempty"`
	ScanWarm     *ScanResult       `json:"readAllWarm,omitempty"`
	StreamReads  *StreamReadResult `json:"streamReads,omitempty"`
	CloseSeconds float64           `json:"closeSeconds"`
	Sizes        SizeResult        `json:"sizes"`
	Open         *OpenResult       `json:"open,omitempty"`
}

// LoadResult is the bulk import.
type LoadResult struct {
	Events       int     `json:"events"`
	Streams      int     `json:"streams"`
	BatchEvents  int     `json:"batchEvents"`
	Chunk        int     `json:"eventsPerStreamPerBatch"`
	Writers      int     `json:"writers"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"eventsPerSec"`
	MBPerSec     float64 `json:"mbPerSec"`
	BatchP50Ms   float64 `json:"batchP50Ms"`
	BatchP99Ms   float64 `json:"batchP99Ms"`
	BatchMaxMs   float64 `json:"batchMaxMs"`
}

// MemoryResult is the process memory after the load and after the reads.
type MemoryResult struct {
	// VmHWM before the load (the raw and append scenarios, if run), then
	// reset so the figures below cover this store only.
	PeakRSSBefore   int64 `json:"peakRssBeforeLoadBytes"`
	PeakResetWorked bool  `json:"peakResetWorked"`
	// After the load, after a GC:
	HeapInuseBytes int64 `json:"heapInuseBytes"`
	RSSBytes       int64 `json:"rssBytes"`
	RSSAnonBytes   int64 `json:"rssAnonBytes"`
	RSSFileBytes   int64 `json:"rssFileBytes"` // mostly mapped log pages
	PeakRSSLoad    int64 `json:"peakRssLoadBytes"`
	// VmHWM after the $all scans and stream reads.
	PeakRSSReads int64 `json:"peakRssReadsBytes"`
}

// ScanResult is one sequential read of $all.
type ScanResult struct {
	Events       int     `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"eventsPerSec"`
	MBPerSec     float64 `json:"mbPerSec"`
}

// StreamReadResult is the random full-stream reads.
type StreamReadResult struct {
	Reads         int     `json:"reads"`
	StreamLen     int     `json:"streamLen"`
	Seconds       float64 `json:"seconds"`
	StreamsPerSec float64 `json:"streamsPerSec"`
	EventsPerSec  float64 `json:"eventsPerSec"`
	P50Ms         float64 `json:"latencyP50Ms"`
	P99Ms         float64 `json:"latencyP99Ms"`
	MaxMs         float64 `json:"latencyMaxMs"`
}

// runStoreScenarios loads a store and runs the read and open scenarios on
// it (the load is shared; either may be deselected).
func runStoreScenarios(ctx context.Context, cfg config, runDir string, rep *Report, tab *table) (err error) {
	dir, err := os.MkdirTemp(runDir, "store-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := engine.Open(ctx, dir, storeOptions())
	if err != nil {
		return err
	}
	defer func() {
		if s != nil {
			s.Close()
		}
	}()
	sr := &StoreReport{}
	rep.Store = sr

	runtime.GC()
	debug.FreeOSMemory()
	sr.Memory.PeakRSSBefore = procStatus("VmHWM")
	sr.Memory.PeakResetWorked = resetPeakRSS()

	streams := cfg.events / streamLen
	progress("bulk load of %d events (%d streams of %d)", streams*streamLen, streams, streamLen)
	if sr.Load, err = bulkLoad(ctx, s, streams, cfg.chunk, cfg.loadWriters); err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	tab.load(sr.Load)
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	sr.Memory.HeapInuseBytes = int64(m.HeapInuse)
	sr.Memory.RSSBytes = procStatus("VmRSS")
	sr.Memory.RSSAnonBytes = procStatus("RssAnon")
	sr.Memory.RSSFileBytes = procStatus("RssFile")
	sr.Memory.PeakRSSLoad = procStatus("VmHWM")

	if cfg.scenarios["read"] {
		for i := range 2 {
			progress("read $all, run %d of 2", i+1)
			r, err := scanAll(ctx, s, sr.Load.Events)
			if err != nil {
				return fmt.Errorf("read $all: %w", err)
			}
			if i == 0 {
				sr.ScanFirst = &r
			} else {
				sr.ScanWarm = &r
			}
		}
		tab.scan(*sr.ScanWarm)
		progress("read %d random streams", cfg.streamReads)
		r, err := readStreams(ctx, s, streams, cfg.streamReads)
		if err != nil {
			return fmt.Errorf("read streams: %w", err)
		}
		sr.StreamReads = &r
		tab.streams(r)
	}
	sr.Memory.PeakRSSReads = procStatus("VmHWM")

	t0 := time.Now()
	cerr := s.Close()
	s = nil
	sr.CloseSeconds = time.Since(t0).Seconds()
	if cerr != nil {
		return fmt.Errorf("close: %w", cerr)
	}
	if sr.Sizes, err = measureSizes(dir, sr.Load.Events); err != nil {
		return err
	}
	if cfg.scenarios["open"] {
		o, err := runOpen(ctx, dir, sr.Load.Events)
		if err != nil {
			return err
		}
		sr.Open = &o
		tab.open(o, sr.CloseSeconds)
	}
	tab.sizes(sr.Sizes)
	tab.memory(sr.Memory, sr.Load.Events)
	return nil
}

// bulkLoad appends streams x streamLen events with AppendMulti batches of
// loadBatch events: each batch carries chunk events for each of
// loadBatch/chunk streams, and a stream gets its next chunk only after
// every stream got the previous one, so a stream's events are spread over
// streamLen/chunk places across the whole log.
func bulkLoad(ctx context.Context, s *engine.Store, streams, chunk, writers int) (LoadResult, error) {
	names := make([]string, streams)
	for i := range names {
		names[i] = streamName(i)
	}
	payloads := makePayloads(payloadPool)
	partsPerBatch := loadBatch / chunk
	batchesPerRound := (streams + partsPerBatch - 1) / partsPerBatch
	rounds := streamLen / chunk
	total := rounds * batchesPerRound

	var next atomic.Int64
	var wg sync.WaitGroup
	lats := make([][]time.Duration, writers)
	errs := make([]error, writers)
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			evs := make([]engine.EventData, loadBatch)
			parts := make([]engine.StreamAppend, 0, partsPerBatch)
			lats[w] = make([]time.Duration, 0, total/writers+1)
			for {
				b := int(next.Add(1) - 1)
				if b >= total {
					return
				}
				round, first := b/batchesPerRound, (b%batchesPerRound)*partsPerBatch
				parts = parts[:0]
				k := 0
				for st := first; st < min(first+partsPerBatch, streams); st++ {
					for i := range chunk {
						fillEvent(&evs[k+i], payloads, st*streamLen+round*chunk+i)
					}
					parts = append(parts, engine.StreamAppend{Stream: names[st], Expected: engine.ExpectAny, Events: evs[k : k+chunk]})
					k += chunk
				}
				t0 := time.Now()
				if _, err := s.AppendMulti(ctx, parts); err != nil {
					errs[w] = err
					return
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return LoadResult{}, err
		}
	}
	n := streams * streamLen
	if got := s.Stats().Events; got != uint64(n) {
		return LoadResult{}, fmt.Errorf("store holds %d events after loading %d", got, n)
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	r := LoadResult{
		Events:       n,
		Streams:      streams,
		BatchEvents:  loadBatch,
		Chunk:        chunk,
		Writers:      writers,
		Seconds:      elapsed.Seconds(),
		EventsPerSec: float64(n) / elapsed.Seconds(),
		BatchP50Ms:   ms(benchfmt.Percentile(all, 0.50)),
		BatchP99Ms:   ms(benchfmt.Percentile(all, 0.99)),
		BatchMaxMs:   ms(all[len(all)-1]),
	}
	r.MBPerSec = r.EventsPerSec * eventSize / 1e6
	return r, nil
}

func streamName(i int) string { return fmt.Sprintf("cart-%d", i) }

// scanAll reads $all from the start to the end on one goroutine.
func scanAll(ctx context.Context, s *engine.Store, want int) (ScanResult, error) {
	start := time.Now()
	it, err := s.ReadAll(ctx, 0, engine.ReadOptions{})
	if err != nil {
		return ScanResult{}, err
	}
	n, bytes := 0, 0
	var last uint64
	for it.Next() {
		e := it.Event()
		n++
		bytes += len(e.Data)
		last = e.Position
	}
	err = it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	elapsed := time.Since(start)
	if err != nil {
		return ScanResult{}, err
	}
	if n != want || last != uint64(want) {
		return ScanResult{}, fmt.Errorf("read %d events ending at position %d, want %d", n, last, want)
	}
	return ScanResult{
		Events:       n,
		Seconds:      elapsed.Seconds(),
		EventsPerSec: float64(n) / elapsed.Seconds(),
		MBPerSec:     float64(bytes) / elapsed.Seconds() / 1e6,
	}, nil
}

// readStreams reads reads random streams fully, forward from version 0,
// timing each read (open, iterate, close).
func readStreams(ctx context.Context, s *engine.Store, streams, reads int) (StreamReadResult, error) {
	r := rand.New(rand.NewPCG(3, 4))
	names := make([]string, reads)
	for i := range names {
		names[i] = streamName(r.IntN(streams))
	}
	lats := make([]time.Duration, 0, reads)
	start := time.Now()
	for _, name := range names {
		t0 := time.Now()
		it, err := s.ReadStream(ctx, name, 0, engine.ReadOptions{})
		if err != nil {
			return StreamReadResult{}, err
		}
		n := 0
		for it.Next() {
			if it.Event().Version != int64(n) {
				it.Close()
				return StreamReadResult{}, fmt.Errorf("stream %s: event %d has version %d", name, n, it.Event().Version)
			}
			n++
		}
		err = it.Err()
		if cerr := it.Close(); err == nil {
			err = cerr
		}
		lats = append(lats, time.Since(t0))
		if err != nil {
			return StreamReadResult{}, err
		}
		if n != streamLen {
			return StreamReadResult{}, fmt.Errorf("stream %s has %d events, want %d", name, n, streamLen)
		}
	}
	elapsed := time.Since(start)
	slices.Sort(lats)
	return StreamReadResult{
		Reads:         reads,
		StreamLen:     streamLen,
		Seconds:       elapsed.Seconds(),
		StreamsPerSec: float64(reads) / elapsed.Seconds(),
		EventsPerSec:  float64(reads*streamLen) / elapsed.Seconds(),
		P50Ms:         ms(benchfmt.Percentile(lats, 0.50)),
		P99Ms:         ms(benchfmt.Percentile(lats, 0.99)),
		MaxMs:         ms(lats[len(lats)-1]),
	}, nil
}

// SizeResult is the disk footprint of the closed store.
type SizeResult struct {
	IndexBytes       int64   `json:"indexBytes"`
	LogBytes         int64   `json:"logBytes"`
	IndexBytesPerM   float64 `json:"indexBytesPerMillionEvents"`
	LogBytesPerM     float64 `json:"logBytesPerMillionEvents"`
	LogBytesPerEvent float64 `json:"logBytesPerEvent"`
}

func measureSizes(dir string, events int) (SizeResult, error) {
	idx, err := dirSize(filepath.Join(dir, "index"))
	if err != nil {
		return SizeResult{}, err
	}
	lg, err := dirSize(filepath.Join(dir, "log"))
	if err != nil {
		return SizeResult{}, err
	}
	m := float64(events) / 1e6
	return SizeResult{
		IndexBytes:       idx,
		LogBytes:         lg,
		IndexBytesPerM:   float64(idx) / m,
		LogBytesPerM:     float64(lg) / m,
		LogBytesPerEvent: float64(lg) / float64(events),
	}, nil
}
