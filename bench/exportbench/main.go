//go:build linux

// Command exportbench measures the Parquet export (package export) of a
// generated store: events/s, MB/s, peak RSS, CPU and files, side by side
// in the same run with DuckDB writing the same events to Parquet
// (COPY ... TO ... (FORMAT parquet, COMPRESSION snappy)):
//
//   - eventsql's whole export (events + by_type datasets) against DuckDB
//     doing the same work from a loaded table (the events file and one
//     file per event type with the JSON fields extracted into the same
//     typed columns);
//
//   - eventsql's events dataset alone (--datasets events) against
//     DuckDB's COPY of the events columns;
//
//   - both against DuckDB's read_ndjson + COPY end to end.
//
//     go run ./bench/exportbench -events 10000000
//
// The events are the bulk-import generator's (bench/importbench/gen,
// ~330-byte NDJSON lines, 4 event types), imported into a fresh store
// with ndjsonimport; the same NDJSON file is what DuckDB loads.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/eventsql/eventsql/bench/benchproc"
	"github.com/eventsql/eventsql/bench/benchprof"
	"github.com/eventsql/eventsql/bench/duckdbnode"
	"github.com/eventsql/eventsql/bench/importbench/gen"
	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/export"
	"github.com/eventsql/eventsql/ndjsonimport"
)

type config struct {
	events      int64
	dir         string
	keep        bool
	duckdb      bool
	install     bool
	nodeDir     string
	compression string
	rounds      int
	jsonOut     string
	cpuprofile  string
	trace       string
	eventsOnly  bool
	typedMode   string
}

// Result is one measured export.
type Result struct {
	Tool          string  `json:"tool"`
	Events        uint64  `json:"events"`
	Seconds       float64 `json:"seconds"`
	EventsPerSec  float64 `json:"eventsPerSecond"`
	OutputBytes   int64   `json:"outputBytes"`
	OutputMBPerS  float64 `json:"outputMBPerSecond"`
	InputMBPerS   float64 `json:"inputMBPerSecond"` // log bytes (or NDJSON bytes for DuckDB end to end)
	Files         int     `json:"files"`
	PeakRSSBytes  int64   `json:"peakAnonRSSBytes"` // RssAnon: the mapped log is page cache, not counted
	CPUSecondsPer float64 `json:"cpuSeconds"`
	Note          string  `json:"note,omitempty"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "exportbench:", err)
		}
		os.Exit(1)
	}
}

func run(args []string) error {
	var c config
	fs := flag.NewFlagSet("exportbench", flag.ContinueOnError)
	fs.Int64Var(&c.events, "events", 10_000_000, "events to generate and export")
	fs.StringVar(&c.dir, "dir", "bench-data/export", "working directory (store, NDJSON, outputs)")
	fs.BoolVar(&c.keep, "keep", true, "keep and reuse the generated store and NDJSON between runs")
	fs.BoolVar(&c.duckdb, "duckdb", true, "also time DuckDB's COPY TO parquet on the same events")
	fs.BoolVar(&c.install, "install", true, "install node/npm and @duckdb/node-api when missing")
	fs.StringVar(&c.nodeDir, "node-dir", filepath.Join(os.Getenv("HOME"), ".cache", "eventsql-e2e"), "where @duckdb/node-api is installed")
	fs.StringVar(&c.compression, "compression", "snappy", "compression for both")
	fs.IntVar(&c.rounds, "rounds", 2, "export rounds (the best and the worst are reported)")
	fs.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the eventsql exports")
	fs.StringVar(&c.trace, "trace", "", "write an execution trace of the eventsql exports")
	fs.BoolVar(&c.eventsOnly, "events-only", true, "also export the events dataset alone (--datasets events) each round")
	fs.StringVar(&c.typedMode, "duckdb-typed", "transform", "how DuckDB extracts the typed columns: transform (json_transform, one parse per event) or extract (json_extract_string per field)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	ndjson := filepath.Join(c.dir, fmt.Sprintf("events-%d.ndjson", c.events))
	storeDir := filepath.Join(c.dir, fmt.Sprintf("store-%d", c.events))
	if err := prepare(ctx, ndjson, storeDir, c.events); err != nil {
		return err
	}
	var results []Result
	stopCPU, err := benchprof.CPU(c.cpuprofile)
	if err != nil {
		return err
	}
	stopTrace, err := benchprof.Trace(c.trace)
	if err != nil {
		stopCPU()
		return err
	}
	// Rounds alternate the whole export (events + by_type) and, with
	// -events-only, the events dataset alone.
	out := filepath.Join(c.dir, "out-eventsql")
	for r := range c.rounds {
		datasets := [][]string{nil}
		if c.eventsOnly {
			datasets = append(datasets, []string{export.DatasetEvents})
		}
		for _, ds := range datasets {
			dir := out
			if ds != nil {
				dir = out + "-" + strings.Join(ds, "-") // out keeps the whole export's manifest for DuckDB
			}
			os.RemoveAll(dir)
			res, err := exportOnce(ctx, storeDir, dir, c.compression, ds)
			if err != nil {
				return err
			}
			res.Note = fmt.Sprintf("round %d", r+1)
			results = append(results, res)
			printResult(res)
		}
	}
	stopTrace()
	stopCPU()
	if c.duckdb {
		mod, err := duckdbnode.Ensure(ctx, c.nodeDir, c.install, progress)
		if err != nil {
			return err
		}
		// DuckDB writes the typed files with eventsql's typed schemas.
		if c.rounds == 0 {
			os.RemoveAll(out)
			if _, err := exportOnce(ctx, storeDir, out, c.compression, nil); err != nil {
				return err
			}
		}
		specs, err := typedSpecs(out)
		if err != nil {
			return err
		}
		for r := range c.rounds {
			rs, err := runDuckDB(ctx, mod, c.dir, ndjson, c.compression, specs, c.typedMode)
			if err != nil {
				return err
			}
			for i := range rs {
				rs[i].Note += fmt.Sprintf(" round %d", r+1)
				printResult(rs[i])
			}
			results = append(results, rs...)
		}
		best := func(tool string) float64 {
			b := 0.0
			for _, r := range results {
				if r.Tool == tool && r.EventsPerSec > b {
					b = r.EventsPerSec
				}
			}
			return b
		}
		worst := func(tool string) float64 {
			w := 0.0
			for _, r := range results {
				if r.Tool == tool && (w == 0 || r.EventsPerSec < w) {
					w = r.EventsPerSec
				}
			}
			return w
		}
		ratio := func(what, ours, theirs string) {
			if best(ours) == 0 || best(theirs) == 0 {
				return
			}
			fmt.Printf("ratio %-62s %.2f–%.2fx\n", what+":", worst(ours)/best(theirs), best(ours)/worst(theirs))
		}
		fmt.Println("ratios (events/s, worst–best pairing of rounds):")
		ratio("eventsql events+by_type / DuckDB same work (events + typed)", "eventsql", "duckdb-copy-all")
		ratio("eventsql events only / DuckDB COPY events (same work)", "eventsql-events", "duckdb-copy")
		ratio("eventsql events+by_type / DuckDB COPY events only", "eventsql", "duckdb-copy")
		ratio("eventsql events+by_type / DuckDB read_ndjson+COPY events", "eventsql", "duckdb-ndjson-copy")
		ratio("eventsql events only / DuckDB read_ndjson+COPY events", "eventsql-events", "duckdb-ndjson-copy")
	}
	if c.jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"events": c.events, "cpus": runtime.NumCPU(), "results": results}, "", "  ")
		if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func printResult(r Result) {
	fmt.Printf("%-20s %-10s %9d events %7.2f s %9.0f events/s %7.1f MB out (%6.1f MB/s) %4d files peak RSS %5.0f MB cpu %.1f s\n",
		r.Tool, r.Note, r.Events, r.Seconds, r.EventsPerSec, float64(r.OutputBytes)/1e6, r.OutputMBPerS, r.Files,
		float64(r.PeakRSSBytes)/1e6, r.CPUSecondsPer)
}

// prepare generates the NDJSON file and imports it into a store, unless
// both exist from an earlier run.
func prepare(ctx context.Context, ndjson, storeDir string, events int64) error {
	if _, err := os.Stat(filepath.Join(storeDir, "STORE")); err == nil {
		if _, err := os.Stat(ndjson); err == nil {
			return nil
		}
	}
	os.RemoveAll(storeDir)
	progress("generating %d events into %s", events, ndjson)
	f, err := os.Create(ndjson)
	if err != nil {
		return err
	}
	// Lines are ~330 bytes; generate a little more and cut at events lines.
	bw := bufio.NewWriterSize(f, 1<<20)
	lw := &lineLimiter{w: bw, max: events}
	if _, err := gen.Write(lw, events*400, gen.Options{}); err != nil && !errors.Is(err, errEnough) {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	f.Close()
	progress("importing into %s", storeDir)
	opts := engine.DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := engine.Open(ctx, storeDir, opts)
	if err != nil {
		return err
	}
	in, err := os.Open(ndjson)
	if err != nil {
		return err
	}
	defer in.Close()
	sum, err := ndjsonimport.Import(ctx, bufio.NewReaderSize(in, 1<<20), st, ndjsonimport.Options{})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	progress("imported %d events", sum.Written)
	return nil
}

var errEnough = errors.New("enough lines")

// lineLimiter passes whole lines until max lines went through.
type lineLimiter struct {
	w     *bufio.Writer
	max   int64
	lines int64
}

func (l *lineLimiter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if l.lines >= l.max {
			return n, errEnough
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			m, err := l.w.Write(p)
			return n + m, err
		}
		m, err := l.w.Write(p[:i+1])
		n += m
		if err != nil {
			return n, err
		}
		l.lines++
		p = p[i+1:]
	}
	return n, nil
}

// exportOnce exports the store (read-only, as `eventsql export --data`
// does) into out and measures it.
func exportOnce(ctx context.Context, storeDir, out, compression string, datasets []string) (Result, error) {
	runtime.GC()
	benchproc.ResetPeakRSS(os.Getpid())
	sampler := benchproc.SampleRSS(os.Getpid(), 50*time.Millisecond)
	cpu0 := benchproc.SelfCPU()
	start := time.Now()
	r, err := engine.OpenLogReader(ctx, storeDir)
	if err != nil {
		sampler.Stop()
		return Result{}, err
	}
	sum, err := export.Run(ctx, r, export.Options{Dir: out, Compression: compression, Datasets: datasets, Version: "bench", Build: "bench"})
	r.Close()
	elapsed := time.Since(start)
	_, peakAnon := sampler.Stop()
	if err != nil {
		return Result{}, err
	}
	logBytes := dirSize(filepath.Join(storeDir, "log"))
	tool := "eventsql"
	if len(datasets) == 1 && datasets[0] == export.DatasetEvents {
		tool = "eventsql-events"
	}
	res := Result{Tool: tool, Events: sum.Events, Seconds: elapsed.Seconds(), OutputBytes: sum.Bytes, Files: sum.Files,
		PeakRSSBytes: peakAnon, CPUSecondsPer: (benchproc.SelfCPU() - cpu0).Seconds()}
	res.EventsPerSec = float64(res.Events) / res.Seconds
	res.OutputMBPerS = float64(res.OutputBytes) / 1e6 / res.Seconds
	res.InputMBPerS = float64(logBytes) / 1e6 / res.Seconds
	return res, nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "exportbench: "+format+"\n", args...)
}
