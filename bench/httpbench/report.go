//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/eventsql/eventsql/bench/benchenv"
	"github.com/eventsql/eventsql/bench/benchfmt"
)

// Report is everything a run measured; -json writes it.
type Report struct {
	Env       Env        `json:"env"`
	Started   time.Time  `json:"started"`
	Finished  time.Time  `json:"finished"`
	Scenarios []Scenario `json:"scenarios"`
}

// Env describes where and how the run happened.
type Env struct {
	GoVersion       string  `json:"goVersion"`
	NumCPU          int     `json:"numCpu"`
	Kernel          string  `json:"kernel"`
	Dir             string  `json:"dir"`
	FSType          string  `json:"fsType"`
	Seed            uint64  `json:"seed"`
	DurationSeconds float64 `json:"appendDurationSeconds"`
	EventsqlServer  string  `json:"eventsqlServer"` // "binary PATH" or "inprocess"
	MariaDBVersion  string  `json:"mariadbVersion,omitempty"`
	MariaDBSettings string  `json:"mariadbSettings,omitempty"`
	MariaDBSchema   string  `json:"mariadbSchema,omitempty"`
	DuckDBVersion   string  `json:"duckdbVersion,omitempty"`
	DuckDBThreads   int     `json:"duckdbThreads,omitempty"`
	// RawFsync is the disk's raw write+fdatasync latency at the start of
	// the run, the floor under every durable append.
	RawFsync *RawFsync `json:"rawFsync,omitempty"`
}

// RawFsync is a raw write+fdatasync measurement, one record per sync.
type RawFsync struct {
	RecordSize int     `json:"recordSize"`
	PerSec     float64 `json:"syncsPerSec"`
	P50Ms      float64 `json:"p50Ms"`
	P99Ms      float64 `json:"p99Ms"`
}

// Scenario is one scenario's results, one per system.
type Scenario struct {
	Name    string         `json:"name"`
	Title   string         `json:"title"`
	Clients int            `json:"clients,omitempty"`
	Batch   int            `json:"batch,omitempty"`
	Target  string         `json:"target,omitempty"`
	Met     *bool          `json:"targetMet,omitempty"`
	Results []SystemResult `json:"results"`
	// Throughput ratios, eventsql / the other system (0: not measured).
	VsMariaDB float64 `json:"eventsqlToMariadb,omitempty"`
	VsDuckDB  float64 `json:"eventsqlToDuckdb,omitempty"`
	Notes     string  `json:"notes,omitempty"`
}

// SystemResult is one system in one scenario. MB/s counts the events'
// NDJSON form (stream, type, id, data, metadata), whatever went over the
// wire, so the systems' figures compare.
type SystemResult struct {
	System       string  `json:"system"`
	Skipped      string  `json:"skipped,omitempty"`
	Events       int64   `json:"events"`
	Requests     int64   `json:"requests"`
	Bytes        int64   `json:"bytes"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"eventsPerSec"`
	MBPerSec     float64 `json:"mbPerSec"`
	P50Ms        float64 `json:"latencyP50Ms,omitempty"`
	P99Ms        float64 `json:"latencyP99Ms,omitempty"`
	MaxMs        float64 `json:"latencyMaxMs,omitempty"`
	PeakRSSBytes int64   `json:"peakRssBytes,omitempty"`
	CPU          *CPUUse `json:"cpu,omitempty"`
	// CPU time per request of the server and of the load generator (in
	// process: both in the first), in µs (append scenarios).
	ServerCPUMicrosPerRequest float64 `json:"serverCpuMicrosPerRequest,omitempty"`
	ClientCPUMicrosPerRequest float64 `json:"clientCpuMicrosPerRequest,omitempty"`
	Notes                     string  `json:"notes,omitempty"`
}

func (s *Scenario) result(system string) *SystemResult {
	for i := range s.Results {
		if s.Results[i].System == system && s.Results[i].Skipped == "" {
			return &s.Results[i]
		}
	}
	return nil
}

// relate fills the ratios and whether the target was met.
func (s *Scenario) relate(check func(*SystemResult) bool) {
	e := s.result("eventsql")
	if e == nil {
		return
	}
	if m := s.result("mariadb"); m != nil && m.EventsPerSec > 0 {
		s.VsMariaDB = e.EventsPerSec / m.EventsPerSec
	}
	if d := s.result("duckdb"); d != nil && d.EventsPerSec > 0 {
		s.VsDuckDB = e.EventsPerSec / d.EventsPerSec
	}
	if check != nil {
		met := check(e)
		s.Met = &met
	}
}

func environment(cfg config, runDir string) Env {
	e := Env{
		GoVersion:       runtime.Version(),
		NumCPU:          runtime.NumCPU(),
		Dir:             runDir,
		Seed:            cfg.seed,
		DurationSeconds: cfg.duration.Seconds(),
	}
	if abs, err := filepath.Abs(runDir); err == nil {
		e.Dir = abs
	}
	e.Kernel = benchenv.Kernel()
	e.FSType = benchenv.FSType(runDir)
	return e
}

// table prints the report as results come in: a row per system, then a
// ratio row per scenario.
type table struct{ w io.Writer }

const rowFormat = "%-16s %-9s %9s %8s %8s %8s %8s %9s  %s\n"

func (t *table) header(e Env) {
	fmt.Fprintf(t.w, "eventsql HTTP vs MariaDB — %s, %d CPUs, kernel %s; data in %s (%s)\n",
		e.GoVersion, e.NumCPU, e.Kernel, e.Dir, e.FSType)
	fmt.Fprintf(t.w, "eventsql: %s. MariaDB: %s. Seed %d; appends run %ss each.\n", e.EventsqlServer, orDash(e.MariaDBVersion), e.Seed, benchfmt.Num(e.DurationSeconds))
	if r := e.RawFsync; r != nil {
		fmt.Fprintf(t.w, "Disk at the start: write+fdatasync of one %d-byte record p50 %s ms, p99 %s ms (%s/s).\n",
			r.RecordSize, benchfmt.Num(r.P50Ms), benchfmt.Num(r.P99Ms), benchfmt.Count(r.PerSec))
	}
	fmt.Fprintf(t.w, "MB = 1e6 bytes of the events' NDJSON form; latencies in ms per request; peak RSS of the server process;\n")
	fmt.Fprintf(t.w, "cores = average CPU use of the server, the load generator (this process) and everything else on the machine.\n\n")
	fmt.Fprintf(t.w, rowFormat, "scenario", "system", "events/s", "MB/s", "p50", "p99", "max", "peak RSS", "notes")
	fmt.Fprintf(t.w, rowFormat, strings.Repeat("-", 16), strings.Repeat("-", 9), strings.Repeat("-", 9), strings.Repeat("-", 8),
		strings.Repeat("-", 8), strings.Repeat("-", 8), strings.Repeat("-", 8), strings.Repeat("-", 9), strings.Repeat("-", 30))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// system prints one system's row; the scenario's title goes on its first.
func (t *table) system(s *Scenario, r SystemResult) {
	name := ""
	if len(s.Results) == 1 {
		name = s.Title
	}
	if r.Skipped != "" {
		fmt.Fprintf(t.w, rowFormat, name, r.System, "-", "-", "-", "-", "-", "-", r.Skipped)
		return
	}
	p50, p99, maxv := math.NaN(), math.NaN(), math.NaN()
	if r.Requests > 1 {
		p50, p99, maxv = r.P50Ms, r.P99Ms, r.MaxMs
	}
	rss := "-"
	if r.PeakRSSBytes > 0 {
		rss = bytesIEC(float64(r.PeakRSSBytes))
	}
	notes := r.Notes
	if r.CPU != nil {
		notes += "; " + r.CPU.String()
	}
	if r.ServerCPUMicrosPerRequest > 0 {
		notes += fmt.Sprintf("; CPU µs/request: server %s", benchfmt.Num(r.ServerCPUMicrosPerRequest))
		if r.ClientCPUMicrosPerRequest > 0 {
			notes += fmt.Sprintf(", client %s", benchfmt.Num(r.ClientCPUMicrosPerRequest))
		}
	}
	fmt.Fprintf(t.w, rowFormat, name, r.System, benchfmt.Count(r.EventsPerSec), benchfmt.Num(r.MBPerSec),
		benchfmt.Num(p50), benchfmt.Num(p99), benchfmt.Num(maxv), rss, notes)
}

// ratios prints the scenario's ratio line and target.
func (t *table) ratios(s *Scenario) {
	var parts []string
	if s.VsMariaDB > 0 {
		parts = append(parts, benchfmt.Num(s.VsMariaDB)+"x MariaDB")
	}
	if s.VsDuckDB > 0 {
		parts = append(parts, benchfmt.Num(s.VsDuckDB)+"x DuckDB")
	}
	if len(parts) > 0 {
		parts = []string{"eventsql = " + strings.Join(parts, ", ") + " (events/s)"}
	}
	if s.Met != nil {
		parts = append(parts, "target "+s.Target+": "+map[bool]string{true: "met", false: "MISSED"}[*s.Met])
	}
	if len(parts) > 0 {
		fmt.Fprintf(t.w, "%-16s %-9s %s\n", "", "ratio", strings.Join(parts, "; "))
	}
	fmt.Fprintln(t.w)
}

func (t *table) footer(r *Report) {
	fmt.Fprintf(t.w, "run took %s\n", r.Finished.Sub(r.Started).Round(100*time.Millisecond))
}

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
