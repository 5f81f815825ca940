//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/eventsql/eventsql/bench/benchfmt"
	"github.com/eventsql/eventsql/bench/benchproc"
)

// Report is everything a run measured; -json writes it.
type Report struct {
	Env         Env           `json:"env"`
	Subscribers int           `json:"subscribers"`
	Stalled     int           `json:"stalledSubscribers"`
	Writers     int           `json:"writers"`
	Batch       int           `json:"batch"`
	EventSize   int           `json:"eventDataBytes"`
	Baseline    *WriterResult `json:"baseline,omitempty"`
	Phases      []PhaseResult `json:"phases"`
	// RSS after the baseline, before any subscriber.
	RSSBeforeSubscribers int64 `json:"rssBeforeSubscribersBytes"`
	// VmHWM at the end: everything in the process, mapped log pages
	// included.
	PeakRSS int64 `json:"peakRssBytes"`
	// The largest anonymous RSS sampled (heap, stacks, buffers: what
	// subscribers could grow), and the largest Go heap (live and not yet
	// collected objects) sampled.
	PeakRSSAnon int64 `json:"peakRssAnonBytes"`
	PeakHeap    int64 `json:"peakHeapBytes"`

	subs []*subscriber
}

// Env describes where the run happened.
type Env struct {
	GoVersion  string `json:"goVersion"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	NumCPU     int    `json:"numCpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
}

func environment() Env {
	return Env{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
}

func (r *Report) print(w io.Writer) {
	fmt.Fprintf(w, "ssebench: %d subscribers on /subscribe/$all (+%d that never read), %d writer(s), batches of %d events (%d-byte JSON data) over HTTP;\n"+
		"%s %s/%s, %d CPUs; server, store, writers and subscribers in one process\n\n",
		r.Subscribers, r.Stalled, r.Writers, r.Batch, r.EventSize, r.Env.GoVersion, r.Env.OS, r.Env.Arch, r.Env.NumCPU)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tevents\twriter ev/s\tdelivered ev/s\tper subscriber ev/s\tlatency from 201 ms\tfrom request sent ms\tCPU\tCPU per")
	fmt.Fprintln(tw, "\t\t\t(all subscribers)\t(min / median)\tp50 / p99 / max\tp50 / p99\ts\tdelivery µs")
	if b := r.Baseline; b != nil {
		fmt.Fprintf(tw, "writer alone, no subscriber\t%s\t%s\t\t\t\t\t\t\n", benchfmt.Count(float64(b.Events)), benchfmt.Count(b.EventsPerSec))
	}
	for _, p := range r.Phases {
		writer, ack, send := "-", "-", "-"
		if p.Writer != nil {
			writer = benchfmt.Count(p.Writer.EventsPerSec)
			ack = benchfmt.Num(p.AckLatency.P50) + " / " + benchfmt.Num(p.AckLatency.P99) + " / " + benchfmt.Num(p.AckLatency.Max)
			send = benchfmt.Num(p.SendLatency.P50) + " / " + benchfmt.Num(p.SendLatency.P99)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s / %s\t%s\t%s\t%s\t%s\n", p.Name, benchfmt.Count(float64(p.Events)), writer,
			benchfmt.Count(p.DeliveredPerSec), benchfmt.Count(p.PerSubscriberMin), benchfmt.Count(p.PerSubscriberMedian), ack, send,
			benchfmt.Num(p.CPUSeconds), benchfmt.Num(p.CPUMicrosPerDeliver))
	}
	tw.Flush()
	mib := func(b int64) string { return benchfmt.Num(float64(b)/(1<<20)) + " MiB" }
	fmt.Fprintf(w, "\nRSS before subscribers %s; peak RSS %s (VmHWM: everything, mapped log pages included); peak anonymous RSS %s; peak Go heap %s\n",
		mib(r.RSSBeforeSubscribers), mib(r.PeakRSS), mib(r.PeakRSSAnon), mib(r.PeakHeap))
	for _, p := range r.Phases {
		if p.Writer != nil {
			fmt.Fprintf(w, "%s: %d latency samples; %d read before the writer had its 201 (counted as 0 ms)\n", p.Name, p.AckLatency.Samples, p.BeforeAck)
		}
	}
}

// procStatus returns a /proc/self/status field in bytes (0 if unknown).
func procStatus(field string) int64 { return benchproc.StatusBytes(os.Getpid(), field) }

// memSampler records the peak anonymous RSS and Go heap.
type memSampler struct {
	peak, peakHeap atomic.Int64
	quit           chan struct{}
	wg             sync.WaitGroup
}

func startMemSampler(every time.Duration) *memSampler {
	m := &memSampler{quit: make(chan struct{})}
	m.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			m.observe()
			select {
			case <-t.C:
			case <-m.quit:
				return
			}
		}
	})
	return m
}

func (m *memSampler) observe() {
	if v := procStatus("RssAnon"); v > m.peak.Load() {
		m.peak.Store(v)
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		if v := int64(s[0].Value.Uint64()); v > m.peakHeap.Load() {
			m.peakHeap.Store(v)
		}
	}
}

func (m *memSampler) current() int64 { return procStatus("VmRSS") }

func (m *memSampler) peakAnon() int64 {
	m.observe()
	return m.peak.Load()
}

func (m *memSampler) stop() {
	close(m.quit)
	m.wg.Wait()
}
