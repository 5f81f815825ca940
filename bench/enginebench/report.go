//go:build linux

package main

import (
	"github.com/eventsql/eventsql/bench/benchenv"
	"github.com/eventsql/eventsql/bench/benchfmt"

	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Report is everything a run measured; -json writes it.
type Report struct {
	Env          Env            `json:"env"`
	Started      time.Time      `json:"started"`
	Finished     time.Time      `json:"finished"`
	Raw          []RawResult    `json:"raw,omitempty"`
	Append       []AppendResult `json:"append,omitempty"`
	Store        *StoreReport   `json:"store,omitempty"`
	PeakRSSBytes int64          `json:"peakRssBytes"` // VmHWM at the end (since the reset before the bulk load, if any)
}

// Env describes where the run happened.
type Env struct {
	GoVersion   string  `json:"goVersion"`
	OS          string  `json:"os"`
	Arch        string  `json:"arch"`
	NumCPU      int     `json:"numCpu"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
	Kernel      string  `json:"kernel"`
	Dir         string  `json:"dir"`
	FSType      string  `json:"fsType"`
	Duration    float64 `json:"appendDurationSeconds"`
	RawDuration float64 `json:"rawDurationSeconds"`
	EventSize   int     `json:"eventDataBytes"`
}

func environment(cfg config, runDir string) Env {
	e := Env{
		GoVersion:   runtime.Version(),
		OS:          runtime.GOOS,
		Arch:        runtime.GOARCH,
		NumCPU:      runtime.NumCPU(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		Dir:         runDir,
		Duration:    cfg.duration.Seconds(),
		RawDuration: cfg.rawDuration.Seconds(),
		EventSize:   eventSize,
	}
	if abs, err := filepath.Abs(runDir); err == nil {
		e.Dir = abs
	}
	e.Kernel = benchenv.Kernel()
	e.FSType = benchenv.FSType(runDir)
	return e
}

// table prints the report, one line per scenario, as results come in.
type table struct{ w io.Writer }

func newTable(w io.Writer) *table { return &table{w: w} }

const rowFormat = "%-36s %10s %8s %8s %8s %8s  %s\n"

func (t *table) header(e Env) {
	fmt.Fprintf(t.w, "eventsql engine benchmark — %s %s/%s, %d CPUs (GOMAXPROCS %d), kernel %s\n",
		e.GoVersion, e.OS, e.Arch, e.NumCPU, e.GOMAXPROCS, e.Kernel)
	fmt.Fprintf(t.w, "data: %s (%s); events carry %d bytes of JSON data; MB = 1e6 bytes of event data; latencies in ms\n\n",
		e.Dir, e.FSType, e.EventSize)
	fmt.Fprintf(t.w, rowFormat, "scenario", "events/s", "MB/s", "p50", "p99", "max", "notes")
	fmt.Fprintf(t.w, rowFormat, strings.Repeat("-", 36), strings.Repeat("-", 10), strings.Repeat("-", 8),
		strings.Repeat("-", 8), strings.Repeat("-", 8), strings.Repeat("-", 8), strings.Repeat("-", 40))
}

// row prints one line; NaN numbers print as "-".
func (t *table) row(name string, evps, mbps, p50, p99, maxv float64, notes string) {
	fmt.Fprintf(t.w, rowFormat, name, benchfmt.Count(evps), benchfmt.Num(mbps), benchfmt.Num(p50), benchfmt.Num(p99), benchfmt.Num(maxv), notes)
}

var none = math.NaN()

func (t *table) raw(r RawResult) {
	t.row(fmt.Sprintf("raw write+fdatasync every %d", r.SyncEvery), r.RecordsPerSec, r.MBPerSec, r.SyncP50Ms, r.SyncP99Ms, none,
		fmt.Sprintf("%dB records, %d syncs; latency per write+fdatasync", r.RecordSize, r.Syncs))
}

func (t *table) append(r AppendResult) {
	notes := fmt.Sprintf("%s fsyncs (avg %sms, max %sms), %s ev/fsync", benchfmt.Count(float64(r.Fsyncs)), benchfmt.Num(r.FsyncAvgMs), benchfmt.Num(r.FsyncMaxMs), benchfmt.Num(r.EventsPerSync))
	if r.VsRawGroup > 0 {
		notes = fmt.Sprintf("%sx raw/1024, %sx raw/1; %s", benchfmt.Num(r.VsRawGroup), benchfmt.Num(r.VsRawEach), notes)
	}
	t.row(fmt.Sprintf("append %d writers x batch %d", r.Writers, r.Batch), r.EventsPerSec, r.MBPerSec, r.P50Ms, r.P99Ms, r.MaxMs, notes)
}

func (t *table) load(r LoadResult) {
	t.row(fmt.Sprintf("bulk import (AppendMulti %d ev)", r.BatchEvents), r.EventsPerSec, r.MBPerSec, r.BatchP50Ms, r.BatchP99Ms, r.BatchMaxMs,
		fmt.Sprintf("%s events, %s streams, %d ev/stream/batch, %d writers, %ss; latency per batch",
			benchfmt.Count(float64(r.Events)), benchfmt.Count(float64(r.Streams)), r.Chunk, r.Writers, benchfmt.Num(r.Seconds)))
}

func (t *table) scan(r ScanResult) {
	t.row("read $all (warm, 2nd run)", r.EventsPerSec, r.MBPerSec, none, none, none,
		fmt.Sprintf("%s events in %ss, one goroutine", benchfmt.Count(float64(r.Events)), benchfmt.Num(r.Seconds)))
}

func (t *table) streams(r StreamReadResult) {
	t.row(fmt.Sprintf("read random stream (%d ev)", r.StreamLen), r.EventsPerSec, none, r.P50Ms, r.P99Ms, r.MaxMs,
		fmt.Sprintf("%s reads, %s streams/s; latency per full stream read", benchfmt.Count(float64(r.Reads)), benchfmt.Count(r.StreamsPerSec)))
}

func (t *table) open(r OpenResult, closeSeconds float64) {
	t.row("open after clean close", none, none, none, none, none,
		fmt.Sprintf("open %ss (close before it took %ss)", benchfmt.Num(r.CleanOpenSeconds), benchfmt.Num(closeSeconds)))
	t.row("open after deleting index (rebuild)", r.RebuildEventsPerSec, none, none, none, none,
		fmt.Sprintf("open %ss re-indexing %s events; close %ss", benchfmt.Num(r.RebuildSeconds), benchfmt.Count(float64(r.Events)), benchfmt.Num(r.RebuildCloseSeconds)))
}

func (t *table) sizes(r SizeResult) {
	t.row("disk size", none, none, none, none, none,
		fmt.Sprintf("index %s/M events (%s total), log %s/M events (%s B/event)",
			bytesIEC(r.IndexBytesPerM), bytesIEC(float64(r.IndexBytes)), bytesIEC(r.LogBytesPerM), benchfmt.Num(r.LogBytesPerEvent)))
}

func (t *table) memory(m MemoryResult, events int) {
	per := float64(events) / 1e6
	peak := "peak RSS"
	if !m.PeakResetWorked {
		peak += " (whole process)"
	}
	t.row("memory after load", none, none, none, none, none,
		fmt.Sprintf("Go heap in use %s (%s/M ev); %s %s (%s/M ev), with reads %s; RSS now %s (anon %s, mapped files %s)",
			bytesIEC(float64(m.HeapInuseBytes)), bytesIEC(float64(m.HeapInuseBytes)/per),
			peak, bytesIEC(float64(m.PeakRSSLoad)), bytesIEC(float64(m.PeakRSSLoad)/per), bytesIEC(float64(m.PeakRSSReads)),
			bytesIEC(float64(m.RSSBytes)), bytesIEC(float64(m.RSSAnonBytes)), bytesIEC(float64(m.RSSFileBytes))))
}

func (t *table) footer(r *Report) {
	peak := fmt.Sprintf("process peak RSS (VmHWM) %s", bytesIEC(float64(r.PeakRSSBytes)))
	if r.Store != nil && r.Store.Memory.PeakResetWorked {
		peak = fmt.Sprintf("process peak RSS (VmHWM) %s before the bulk load, %s after it (reset in between)",
			bytesIEC(float64(r.Store.Memory.PeakRSSBefore)), bytesIEC(float64(r.PeakRSSBytes)))
	}
	fmt.Fprintf(t.w, "\nrun took %s; %s\n", r.Finished.Sub(r.Started).Round(100*time.Millisecond), peak)
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// bytesIEC formats a byte count as KiB/MiB/GiB.
func bytesIEC(v float64) string {
	switch {
	case v >= 1<<30:
		return benchfmt.Num(v/(1<<30)) + " GiB"
	case v >= 1<<20:
		return benchfmt.Num(v/(1<<20)) + " MiB"
	case v >= 1<<10:
		return benchfmt.Num(v/(1<<10)) + " KiB"
	}
	return benchfmt.Num(v) + " B"
}
