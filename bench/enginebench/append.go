//go:build linux

package main

import (
	"github.com/eventsql/eventsql/bench/benchfmt"

	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eventsql/eventsql/engine"
	"github.com/google/uuid"
)

// eventSize is the size of every event's data: a realistic JSON document
// padded to exactly this many bytes. MB/s figures count these bytes.
const eventSize = 200

// eventTypes are rotated over the appended events.
var eventTypes = []string{"OrderLineAdded", "OrderLineChanged", "OrderLineRemoved", "OrderPriced"}

// payloadPool is how many distinct payloads are generated and rotated.
const payloadPool = 4096

// makePayloads returns n distinct JSON documents of exactly eventSize
// bytes, e.g. {"orderId":"ord-00012345","sku":"SKU-04821","qty":3,
// "price":19.99,...,"note":"padding"}.
func makePayloads(n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyz "
	out := make([][]byte, n)
	for i := range out {
		b := fmt.Appendf(nil, `{"orderId":"ord-%08d","sku":"SKU-%05d","qty":%d,"price":%d.%02d,"currency":"EUR","warehouse":"wh-%02d","customer":"cust-%07d","channel":"web","note":"`,
			r.IntN(1e8), r.IntN(1e5), 1+r.IntN(20), r.IntN(500), r.IntN(100), r.IntN(40), r.IntN(1e7))
		for len(b) < eventSize-2 {
			b = append(b, letters[r.IntN(len(letters))])
		}
		b = append(b, `"}`...)
		if len(b) != eventSize {
			panic(fmt.Sprintf("payload is %d bytes, want %d", len(b), eventSize))
		}
		out[i] = b
	}
	return out
}

// fillEvent sets e to the k-th generated event. The ID is reset so the
// engine assigns a fresh one: reusing an id would make the append an
// idempotent replay.
func fillEvent(e *engine.EventData, payloads [][]byte, k int) {
	*e = engine.EventData{
		ID:         uuid.Nil,
		Type:       eventTypes[k%len(eventTypes)],
		Data:       payloads[k%len(payloads)],
		DataIsJSON: true,
	}
}

type appendCase struct{ writers, batch int }

var defaultAppendCases = []appendCase{
	{1, 1}, {1, 100},
	{16, 1}, {16, 100},
	{256, 1}, {256, 100},
}

// parseCases parses "1x1,16x100".
func parseCases(s string) ([]appendCase, error) {
	var out []appendCase
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var c appendCase
		w, b, ok := strings.Cut(f, "x")
		var err1, err2 error
		c.writers, err1 = strconv.Atoi(w)
		c.batch, err2 = strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || c.writers <= 0 || c.batch <= 0 {
			return nil, fmt.Errorf("append case %q: want WRITERSxBATCH, e.g. 16x100", f)
		}
		out = append(out, c)
	}
	return out, nil
}

func formatCases(cs []appendCase) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%dx%d", c.writers, c.batch)
	}
	return strings.Join(parts, ",")
}

// streamsPerWriter is how many streams each writer rotates over.
const streamsPerWriter = 1000

// AppendResult is one append case.
type AppendResult struct {
	Writers       int     `json:"writers"`
	Batch         int     `json:"batch"`
	Events        int64   `json:"events"`
	Appends       int64   `json:"appends"`
	Seconds       float64 `json:"seconds"`
	EventsPerSec  float64 `json:"eventsPerSec"`
	MBPerSec      float64 `json:"mbPerSec"`
	P50Ms         float64 `json:"latencyP50Ms"`
	P99Ms         float64 `json:"latencyP99Ms"`
	MaxMs         float64 `json:"latencyMaxMs"`
	Fsyncs        uint64  `json:"fsyncs"`
	FsyncAvgMs    float64 `json:"fsyncAvgMs"`
	FsyncMaxMs    float64 `json:"fsyncMaxMs"`
	EventsPerSync float64 `json:"eventsPerFsync"`
	// Ratios of EventsPerSec to the raw bounds of the same run (0 when
	// the raw scenario did not run).
	VsRawGroup float64 `json:"vsRawGroupCommit"` // raw, fdatasync every 1024 records
	VsRawEach  float64 `json:"vsRawEachRecord"`  // raw, fdatasync every record
}

func (r *AppendResult) relateToRaw(raw []RawResult) {
	for _, x := range raw {
		if x.RecordsPerSec <= 0 {
			continue
		}
		switch x.SyncEvery {
		case 1024:
			r.VsRawGroup = r.EventsPerSec / x.RecordsPerSec
		case 1:
			r.VsRawEach = r.EventsPerSec / x.RecordsPerSec
		}
	}
}

// runAppend runs one case on a fresh store: c.writers goroutines each
// append c.batch events per call to their own streams (ExpectAny) until
// d has elapsed, timing every call.
func runAppend(ctx context.Context, runDir string, c appendCase, d time.Duration) (res AppendResult, err error) {
	dir, err := os.MkdirTemp(runDir, fmt.Sprintf("append-w%d-b%d-*", c.writers, c.batch))
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	s, err := engine.Open(ctx, dir, storeOptions())
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := s.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}()

	payloads := makePayloads(payloadPool)
	// Preallocate the latency slices: ~2M samples across all writers
	// covers several seconds at hundreds of thousands of appends/s.
	latCap := max(4096, (2<<20)/c.writers)
	lats := make([][]time.Duration, c.writers)
	counts := make([]int64, c.writers)
	errs := make([]error, c.writers)
	streams := make([][]string, c.writers)
	for w := range c.writers {
		lats[w] = make([]time.Duration, 0, latCap)
		streams[w] = make([]string, streamsPerWriter)
		for j := range streamsPerWriter {
			streams[w][j] = fmt.Sprintf("order-%d_%d", w, j)
		}
	}

	var ready, wg sync.WaitGroup
	startGate := make(chan struct{})
	var start, deadline time.Time
	ready.Add(c.writers)
	for w := range c.writers {
		wg.Go(func() {
			evs := make([]engine.EventData, c.batch)
			k := w * 7919 // spread the payloads between writers
			ready.Done()
			<-startGate
			for call := 0; ; call++ {
				for i := range evs {
					fillEvent(&evs[i], payloads, k)
					k++
				}
				t0 := time.Now()
				_, err := s.Append(ctx, streams[w][call%streamsPerWriter], engine.ExpectAny, evs...)
				now := time.Now()
				if err != nil {
					errs[w] = err
					return
				}
				lats[w] = append(lats[w], now.Sub(t0))
				counts[w] += int64(c.batch)
				if !now.Before(deadline) {
					return
				}
			}
		})
	}
	ready.Wait()
	start = time.Now()
	deadline = start.Add(d)
	close(startGate)
	wg.Wait()
	elapsed := time.Since(start)
	for _, e := range errs {
		if e != nil {
			return res, e
		}
	}

	st := s.Stats()
	all := slices.Concat(lats...)
	slices.Sort(all)
	res = AppendResult{
		Writers:    c.writers,
		Batch:      c.batch,
		Appends:    int64(len(all)),
		Seconds:    elapsed.Seconds(),
		P50Ms:      ms(benchfmt.Percentile(all, 0.50)),
		P99Ms:      ms(benchfmt.Percentile(all, 0.99)),
		Fsyncs:     st.Fsyncs,
		FsyncAvgMs: ms(st.FsyncAvg),
		FsyncMaxMs: ms(st.FsyncMax),
	}
	if len(all) > 0 {
		res.MaxMs = ms(all[len(all)-1])
	}
	for _, n := range counts {
		res.Events += n
	}
	res.EventsPerSec = float64(res.Events) / res.Seconds
	res.MBPerSec = res.EventsPerSec * eventSize / 1e6
	if st.Fsyncs > 0 {
		res.EventsPerSync = float64(res.Events) / float64(st.Fsyncs)
	}
	if st.Events != uint64(res.Events) {
		return res, fmt.Errorf("store holds %d events, writers appended %d", st.Events, res.Events)
	}
	return res, nil
}
