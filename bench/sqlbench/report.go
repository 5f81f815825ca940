//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/eventsql/eventsql/bench/benchfmt"
	"github.com/eventsql/eventsql/bench/mariadb"
)

// report prints the comparison as a Markdown table, to stdout and to the
// -out file.
type report struct {
	w   io.Writer
	f   *os.File
	cfg config
	ds  dataset
	md  *mariadb.Server
	// settled is how long each server took to go idle before the queries.
	settled map[string]time.Duration

	details []queryResult
}

func newReport(cfg config, ds dataset, md *mariadb.Server, settled map[string]time.Duration) (*report, error) {
	r := &report{w: os.Stdout, cfg: cfg, ds: ds, md: md, settled: settled}
	if cfg.out != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(cfg.out)
		if err != nil {
			return nil, err
		}
		r.f, r.w = f, io.MultiWriter(os.Stdout, f)
	}
	return r, nil
}

func (r *report) close() {
	if r.f != nil {
		r.f.Close()
		progress("report written to %s", r.cfg.out)
	}
}

func (r *report) printf(format string, args ...any) { fmt.Fprintf(r.w, format, args...) }

func (r *report) header() {
	ds := r.ds
	r.printf("# sqlbench %s\n\n", time.Now().Format(time.RFC3339))
	build := gitVersion()
	if r.cfg.eventsqlBin != "" {
		build = "binary " + r.cfg.eventsqlBin + " (-eventsql-bin; the source tree is at " + build + ")"
	}
	args := "arguments interpolated by the client"
	if r.cfg.prepared {
		args = "queries with arguments sent as server-side prepared statements (prepare, execute, close: -prepared)"
	}
	r.printf("eventsql %s vs MariaDB %s, go-sql-driver/mysql over loopback TCP, one connection each, %s.\n", build, r.md.Version(), args)
	r.printf("Machine: %d cores (GOMAXPROCS %d), %s.\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), cpuModel())
	r.printf("Data: %d events in %d streams (orders and carts, 5–100 events each; %s MB as NDJSON), seed %d.\n",
		ds.Events, ds.Streams, benchfmt.Num(float64(ds.NDJSONBytes)/1e6), ds.Seed)
	r.printf("Load: eventsql bulk import %s s (store %s MB); MariaDB LOAD DATA %s s + indexes %s s (table %s MB).\n",
		benchfmt.Num(ds.ImportSeconds), benchfmt.Num(float64(ds.StoreBytes)/1e6),
		benchfmt.Num(ds.LoadSeconds), benchfmt.Num(ds.IndexSeconds), benchfmt.Num(float64(ds.MariaDBBytes)/1e6))
	server := "the built binary (`eventsql serve`)"
	if r.cfg.inProcess {
		server = "in this process (-inprocess: RSS is the client's too)"
	}
	r.printf("eventsql serves from %s with --index-cache %s MiB. MariaDB settings: %s\n", server, benchfmt.Num(float64(r.cfg.indexCache)/(1<<20)), r.md.SettingsString())
	r.printf("Before the queries each server was left to go idle (< 0.05 cores over 1 s): eventsql after %s s (filling its in-memory indexes and warming its caches after opening the store), MariaDB after %s s (reading the table and both indexes once into its buffer pool).\n",
		benchfmt.Num(r.settled["eventsql"].Seconds()), benchfmt.Num(r.settled["MariaDB"].Seconds()))
	r.printf("Repetitions: %d for the point queries, %d for aggregates and JOINs (p99 is then the slowest), %d for SELECT *; the same arguments on both, the systems alternating run by run.\n\n",
		r.cfg.reps[repsFast], r.cfg.reps[repsSlow], r.cfg.reps[repsScan])
	r.printf("| query | eventsql p50 ms | eventsql p99 ms | MariaDB p50 ms | MariaDB p99 ms | eventsql/MariaDB (p50) | server CPU ms per query, eventsql / MariaDB | rows per query | results |\n")
	r.printf("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
}

func (r *report) row(q queryResult) {
	cell := func(s sysResult, p float64) string {
		if s.Err != nil || len(s.Durations) == 0 {
			return "error"
		}
		return benchfmt.Num(ms(s.p(p)))
	}
	ratio := "-"
	if q.es.Err == nil && q.md.Err == nil && len(q.es.Durations) > 0 && len(q.md.Durations) > 0 {
		ratio = benchfmt.Num(float64(q.es.p(0.5))/float64(q.md.p(0.5))) + "×"
	}
	rows := "-"
	if n := len(q.es.Durations); n > 0 {
		rows = benchfmt.Count(float64(q.es.Rows) / float64(n))
	}
	check := fmt.Sprintf("equal (%d compared)", q.verified)
	switch {
	case q.mismatch != nil:
		check = "**DIFFERENT**"
	case q.es.Err != nil || q.md.Err != nil:
		check = "**ERROR**"
	}
	cpu := func(s sysResult) string {
		if s.Err != nil || len(s.Durations) == 0 {
			return "-"
		}
		return benchfmt.Num(ms(s.CPU) / float64(len(s.Durations)))
	}
	r.printf("| %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |\n", q.q.name, cell(q.es, 0.5), cell(q.es, 0.99),
		cell(q.md, 0.5), cell(q.md, 0.99), ratio, cpu(q.es), cpu(q.md), rows, check)
	if q.q.scan && q.es.Err == nil && q.md.Err == nil && len(q.es.Durations) > 0 && len(q.md.Durations) > 0 {
		rate := func(s sysResult) string {
			secs := 0.0
			for _, d := range s.Durations {
				secs += d.Seconds()
			}
			return benchfmt.Count(float64(s.Rows)/secs) + " rows/s"
		}
		mem := func(s sysResult) string {
			return benchfmt.Num(float64(s.PeakRSS)/1e6) + " / " + benchfmt.Num(float64(s.PeakAnon)/1e6)
		}
		r.printf("| ↳ SELECT * rate | %s | | %s | | | | | |\n", rate(q.es), rate(q.md))
		r.printf("| ↳ SELECT * server peak RSS / anonymous MB | %s | | %s | | | | | |\n", mem(q.es), mem(q.md))
	}
	r.details = append(r.details, q)
}

func (r *report) footer() {
	r.printf("\nRatio < 1: eventsql is faster. Times run from sending the query to reading the last row. Server CPU: the user+system CPU time of the server process over all timed executions (/proc/<pid>/stat, counted in 10 ms ticks), divided by their number.\n")
	for _, q := range r.details {
		r.printf("\n%s (machine load average %s when it started)\n", q.q.name, q.loadAvg)
		r.printf("  eventsql: %s\n  MariaDB:  %s\n", q.q.eventsql, q.q.mariadb)
		for _, side := range []struct {
			name string
			s    sysResult
		}{{"eventsql", q.es}, {"MariaDB", q.md}} {
			s := side.s
			if s.Err != nil {
				r.printf("  %-8s error: %v\n", side.name, s.Err)
				continue
			}
			if len(s.Durations) == 0 {
				continue
			}
			r.printf("  %-8s first (untimed) %s ms; timed min %s, p50 %s, p99 %s, max %s ms over %d",
				side.name, benchfmt.Num(ms(s.First)), benchfmt.Num(ms(s.Durations[0])), benchfmt.Num(ms(s.p(0.5))),
				benchfmt.Num(ms(s.p(0.99))), benchfmt.Num(ms(s.Durations[len(s.Durations)-1])), len(s.Durations))
			if s.CPU > 0 {
				r.printf("; server CPU %s ms per execution", benchfmt.Num(ms(s.CPU)/float64(len(s.Durations))))
			}
			if q.q.scan {
				secs := 0.0
				for _, d := range s.Durations {
					secs += d.Seconds()
				}
				r.printf("; %s rows/s, %s MB/s of cells; server peak RSS %s MB, of it anonymous %s MB (sampled every 20 ms), VmHWM %s MB",
					benchfmt.Count(float64(s.Rows)/secs), benchfmt.Num(float64(s.Bytes)/1e6/secs),
					benchfmt.Num(float64(s.PeakRSS)/1e6), benchfmt.Num(float64(s.PeakAnon)/1e6), benchfmt.Num(float64(s.HWM)/1e6))
			}
			r.printf("\n")
		}
		if q.mismatch != nil {
			r.printf("  RESULTS DIFFER: %v\n", q.mismatch)
		}
	}
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }

func gitVersion() string {
	out, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		return "(unknown build)"
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
