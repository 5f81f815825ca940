//go:build linux

// Command importbench measures bulk import of a generated NDJSON file
// (package gen: ~330-byte events, carts of 10 events) two ways, each into
// a fresh store:
//
//	http  POST /import over a loopback socket (server and client in this process)
//	data  ndjsonimport straight into the store (what `eventsql import --data` does)
//
// It reports events/s, MB/s of NDJSON input, and memory: peak RSS (VmHWM,
// which also counts the mapped log pages the indexer touched) and the
// peak of anonymous RSS sampled every 50 ms.
//
//	go run ./bench/importbench -size 1GB
//	go run ./bench/importbench -gen-only events.ndjson -size 1GB   # just the file, for other tools
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/eventsql/eventsql/bench/benchfmt"
	"github.com/eventsql/eventsql/bench/benchproc"
	"github.com/eventsql/eventsql/bench/benchprof"
	"github.com/eventsql/eventsql/bench/importbench/gen"
	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
	"github.com/eventsql/eventsql/ndjsonimport"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "importbench:", err)
		}
		os.Exit(1)
	}
}

type config struct {
	size       int64
	file       string
	genOnly    string
	dir        string
	modes      []string
	cpuProfile string
	memProfile string
	jsonPath   string
	imp        ndjsonimport.Options
}

func parseArgs(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("importbench", flag.ContinueOnError)
	size := fs.String("size", "1GB", "size of the generated NDJSON file (KB, MB, GB: powers of 1000)")
	fs.StringVar(&cfg.file, "file", "", "NDJSON file to import (default: generated into -dir, reused when present)")
	fs.StringVar(&cfg.genOnly, "gen-only", "", "only generate -size bytes of events into this file and exit")
	fs.StringVar(&cfg.dir, "dir", "./bench-data", "directory for the stores and the generated file")
	modes := fs.String("modes", "http,data", "comma-separated: http, data")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the imports to this file")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "write an allocation profile of the imports to this file")
	fs.StringVar(&cfg.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.IntVar(&cfg.imp.InFlight, "inflight", 0, "batches in flight (0: ndjsonimport's default)")
	fs.IntVar(&cfg.imp.BatchEvents, "batch-events", 0, "events per batch (0: default)")
	fs.IntVar(&cfg.imp.BatchBytes, "batch-bytes", 0, "data bytes per batch (0: default)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var err error
	if cfg.size, err = parseSize(*size); err != nil {
		return cfg, err
	}
	for _, m := range strings.Split(*modes, ",") {
		switch m = strings.TrimSpace(m); m {
		case "http", "data":
			cfg.modes = append(cfg.modes, m)
		case "":
		default:
			return cfg, fmt.Errorf("unknown mode %q (want http, data)", m)
		}
	}
	return cfg, nil
}

// parseSize reads "1GB", "300MB", "5000": decimal units, as disk sizes are.
func parseSize(s string) (int64, error) {
	v, mult := strings.ToUpper(strings.TrimSpace(s)), int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSuffix(v, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-size %q: want e.g. 1GB, 300MB", s)
	}
	return int64(n * float64(mult)), nil
}

// Result is one import.
type Result struct {
	Mode            string  `json:"mode"`
	Events          int64   `json:"events"`
	Rejected        int64   `json:"rejected"`
	InputBytes      int64   `json:"inputBytes"`
	Seconds         float64 `json:"seconds"`
	EventsPerSec    float64 `json:"eventsPerSec"`
	MBPerSec        float64 `json:"mbPerSec"`
	PeakRSSBytes    int64   `json:"peakRssBytes"`
	PeakAnonRSSByte int64   `json:"peakAnonRssBytes"`
	Fsyncs          uint64  `json:"fsyncs"`
	FsyncAvgMs      float64 `json:"fsyncAvgMs"`
	// CPUMicrosPerEvent is the process's user+system CPU time per event:
	// steadier than the rates on a shared machine.
	CPUMicrosPerEvent float64 `json:"cpuMicrosPerEvent"`
	// AllocsPerEvent and AllocBytesPerEvent are the Go heap allocations
	// per event (the whole process: store, importer, HTTP); GCs counts
	// the collections during the import.
	AllocsPerEvent     float64 `json:"allocsPerEvent"`
	AllocBytesPerEvent float64 `json:"allocBytesPerEvent"`
	GCs                uint32  `json:"gcs"`
}

func run(args []string) error {
	cfg, err := parseArgs(args)
	if err != nil {
		return err
	}
	if cfg.genOnly != "" {
		st, err := generate(cfg.genOnly, cfg.size)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d events, %d streams, %d bytes\n", cfg.genOnly, st.Events, st.Streams, st.Bytes)
		return nil
	}
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return err
	}
	file := cfg.file
	if file == "" {
		file = filepath.Join(cfg.dir, fmt.Sprintf("import-%d.ndjson", cfg.size))
		if _, err := os.Stat(file); err != nil {
			progress("generating %s", file)
			if _, err := generate(file, cfg.size); err != nil {
				return err
			}
		}
	}
	stopCPU, err := benchprof.CPU(cfg.cpuProfile)
	if err != nil {
		return err
	}
	defer stopCPU()
	if cfg.memProfile != "" {
		runtime.MemProfileRate = 64 << 10
	}
	ctx := context.Background()
	var results []Result
	for _, mode := range cfg.modes {
		progress("import %s via %s", file, mode)
		r, err := importOnce(ctx, cfg.dir, file, mode, cfg.imp)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		results = append(results, r)
	}
	if cfg.memProfile != "" {
		if err := writeMemProfile(cfg.memProfile); err != nil {
			return err
		}
	}
	fmt.Printf("bulk import of %s (GOMAXPROCS %d)\n", file, runtime.GOMAXPROCS(0))
	fmt.Printf("%-5s %10s %9s %8s %10s %8s %9s %9s %7s %9s %9s %9s %6s\n", "mode", "events", "MB", "seconds", "events/s", "MB/s", "peak RSS", "peak anon", "fsyncs", "fsync ms", "CPU µs/ev", "allocs/ev", "GCs")
	for _, r := range results {
		fmt.Printf("%-5s %10d %9s %8s %10s %8s %9s %9s %7d %9s %9s %9s %6d\n", r.Mode, r.Events, benchfmt.Num(float64(r.InputBytes)/1e6),
			benchfmt.Num(r.Seconds), benchfmt.Count(r.EventsPerSec), benchfmt.Num(r.MBPerSec),
			benchfmt.Count(float64(r.PeakRSSBytes))+"B", benchfmt.Count(float64(r.PeakAnonRSSByte))+"B", r.Fsyncs, benchfmt.Num(r.FsyncAvgMs), benchfmt.Num(r.CPUMicrosPerEvent),
			benchfmt.Num(r.AllocsPerEvent), r.GCs)
	}
	if cfg.jsonPath != "" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(cfg.jsonPath, append(b, '\n'), 0o644)
	}
	return nil
}

// writeMemProfile writes the allocations sampled since the start.
func writeMemProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("memory profile: %w", err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("memory profile: %w", err)
	}
	return f.Close()
}

func generate(path string, size int64) (gen.Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return gen.Stats{}, err
	}
	st, err := gen.Write(f, size, gen.Options{})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return st, err
}

// importOnce imports file into a fresh store by mode.
func importOnce(ctx context.Context, dir, file, mode string, imp ndjsonimport.Options) (res Result, err error) {
	storeDir, err := os.MkdirTemp(dir, "import-"+mode+"-*")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(storeDir)
	opts := engine.DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := engine.Open(ctx, storeDir, opts)
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := st.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	f, err := os.Open(file)
	if err != nil {
		return res, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return res, err
	}

	runtime.GC()
	benchproc.ResetPeakRSS(os.Getpid())
	sampler := benchproc.SampleRSS(os.Getpid(), 50*time.Millisecond)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := benchproc.SelfCPU()
	start := time.Now()
	var sum ndjsonimport.Summary
	switch mode {
	case "data":
		imp.InputSize = fi.Size() // as eventsql import --data does
		sum, err = ndjsonimport.Import(ctx, bufio.NewReaderSize(f, 1<<20), st, imp)
	case "http":
		sum, err = importHTTP(ctx, st, f, fi.Size())
	}
	elapsed := time.Since(start)
	cpu := benchproc.SelfCPU() - cpu0
	runtime.ReadMemStats(&ms1)
	_, peakAnon := sampler.Stop()
	if err != nil {
		return res, err
	}
	res = Result{Mode: mode, Events: sum.Written, Rejected: sum.Rejected, InputBytes: fi.Size(), Seconds: elapsed.Seconds(),
		PeakRSSBytes: benchproc.StatusBytes(os.Getpid(), "VmHWM"), PeakAnonRSSByte: peakAnon, Fsyncs: st.Stats().Fsyncs,
		FsyncAvgMs: st.Stats().FsyncAvg.Seconds() * 1e3}
	res.EventsPerSec = float64(res.Events) / res.Seconds
	res.MBPerSec = float64(res.InputBytes) / 1e6 / res.Seconds
	res.CPUMicrosPerEvent = cpu.Seconds() * 1e6 / float64(max(res.Events, 1))
	res.AllocsPerEvent = float64(ms1.Mallocs-ms0.Mallocs) / float64(max(res.Events, 1))
	res.AllocBytesPerEvent = float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(max(res.Events, 1))
	res.GCs = ms1.NumGC - ms0.NumGC
	if sum.Rejected > 0 {
		return res, fmt.Errorf("%d lines rejected, first: %+v", sum.Rejected, sum.Errors[0])
	}
	return res, nil
}

// importHTTP serves st on a loopback socket and POSTs body to /import.
func importHTTP(ctx context.Context, st *engine.Store, body io.Reader, size int64) (ndjsonimport.Summary, error) {
	var sum ndjsonimport.Summary
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := httpfront.New(st, httpfront.NewUsers("bench"), httpfront.Options{}, logger, func() bool { return true })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return sum, err
	}
	go srv.Serve(l)
	defer srv.Shutdown(ctx)
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+l.Addr().String()+"/import", io.NopCloser(body))
	if err != nil {
		return sum, err
	}
	req.ContentLength = size
	req.SetBasicAuth("admin", "bench")
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return sum, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return sum, err
	}
	if resp.StatusCode != 200 {
		return sum, fmt.Errorf("POST /import: %s: %s", resp.Status, b)
	}
	return sum, json.Unmarshal(b, &sum)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
