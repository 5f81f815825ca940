//go:build linux

// Command enginebench measures the eventsql storage engine on the disk it
// runs on, next to the raw disk bound measured in the same process and run.
//
//	go run ./bench/enginebench [-dir ./bench-data] [-duration 5s] [-raw-duration 3s]
//	    [-events 2000000] [-scenarios raw,append,read,open] [-json FILE]
//	    [-append-cases 1x1,16x100] [-cpuprofile FILE] [-trace FILE] [-v]
//
// The report goes to stdout, one line per scenario; progress and engine
// warnings go to stderr.
//
// Scenarios:
//
//	raw     write+fdatasync of 200-byte records, grouped by 1024 and one by one
//	append  fsynced appends, writers {1,16,256} x batch {1,100}, for -duration each
//	read    bulk import of -events events, then $all scans and random stream reads
//	open    clean reopen and reopen after deleting the index (full rebuild),
//	        index/log size per million events
//
// Every store lives in a fresh directory under -dir, removed when its
// scenario ends. Keep -dir on the disk you want to measure: os.TempDir is
// tmpfs on some machines, hence the default ./bench-data.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/eventsql/eventsql/bench/benchenv"
	"github.com/eventsql/eventsql/bench/benchprof"

	"github.com/eventsql/eventsql/engine"
)

var allScenarios = []string{"raw", "append", "read", "open"}

type config struct {
	dir         string
	duration    time.Duration
	rawDuration time.Duration
	events      int
	streamReads int
	loadWriters int
	chunk       int
	appendCases []appendCase
	scenarios   map[string]bool
	jsonPath    string
	cpuProfile  string
	tracePath   string
}

// engineLogLevel is the level of the engine's log messages shown on
// stderr (-v lowers it to Info: index rebuild timings and the like).
var engineLogLevel = slog.LevelWarn

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "enginebench:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "enginebench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var cfg config
	var scenarios, cases string
	fs := flag.NewFlagSet("enginebench", flag.ContinueOnError)
	fs.StringVar(&cfg.dir, "dir", "./bench-data", "directory for the stores (a fresh subdirectory per run, removed afterwards); must be on the disk to measure")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "duration of each append case")
	fs.DurationVar(&cfg.rawDuration, "raw-duration", 3*time.Second, "duration of each raw disk measurement")
	fs.IntVar(&cfg.events, "events", 2_000_000, "events to bulk-load for the read and open scenarios (rounded down to streams of 100)")
	fs.IntVar(&cfg.streamReads, "stream-reads", 10_000, "random full stream reads to time")
	fs.IntVar(&cfg.loadWriters, "load-writers", 2, "concurrent AppendMulti callers during the bulk load")
	fs.IntVar(&cfg.chunk, "chunk", 10, "events per stream per bulk batch (a stream of 100 events lands in 100/chunk places of the log)")
	fs.StringVar(&cases, "append-cases", formatCases(defaultAppendCases), "append cases as WRITERSxBATCH, comma-separated")
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run: "+strings.Join(allScenarios, ","))
	fs.StringVar(&cfg.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.StringVar(&cfg.tracePath, "trace", "", "write a runtime execution trace of the whole run to this file (large: use with few scenarios)")
	verbose := fs.Bool("v", false, "show the engine's informational log messages on stderr")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if *verbose {
		engineLogLevel = slog.LevelInfo
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if cfg.appendCases, err = parseCases(cases); err != nil {
		return cfg, err
	}
	cfg.scenarios = map[string]bool{}
	for _, s := range strings.Split(scenarios, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			return cfg, fmt.Errorf("unknown scenario %q (want some of %s)", s, strings.Join(allScenarios, ","))
		}
		cfg.scenarios[s] = true
	}
	switch {
	case len(cfg.scenarios) == 0:
		return cfg, errors.New("no scenario selected")
	case cfg.duration <= 0 || cfg.rawDuration <= 0:
		return cfg, errors.New("-duration and -raw-duration must be positive")
	case cfg.events < streamLen:
		return cfg, fmt.Errorf("-events must be at least %d", streamLen)
	case cfg.streamReads <= 0 || cfg.loadWriters <= 0:
		return cfg, errors.New("-stream-reads and -load-writers must be positive")
	case cfg.chunk <= 0 || streamLen%cfg.chunk != 0 || loadBatch%cfg.chunk != 0:
		return cfg, fmt.Errorf("-chunk must divide %d and %d", streamLen, loadBatch)
	}
	return cfg, nil
}

func run(cfg config) error {
	ctx := context.Background()

	_, statErr := os.Stat(cfg.dir)
	createdBase := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return err
	}
	runDir, err := os.MkdirTemp(cfg.dir, "run-*")
	if err != nil {
		return err
	}
	cleanup := func() {
		os.RemoveAll(runDir)
		if createdBase {
			os.Remove(cfg.dir) // only if empty
		}
	}
	defer cleanup()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "enginebench: interrupted, removing", runDir)
		cleanup()
		os.Exit(130)
	}()

	stopCPU, err := benchprof.CPU(cfg.cpuProfile)
	if err != nil {
		return err
	}
	defer stopCPU()

	stopTrace, err := benchprof.Trace(cfg.tracePath)
	if err != nil {
		return err
	}
	defer stopTrace()

	rep := &Report{Env: environment(cfg, runDir), Started: time.Now()}
	tab := newTable(os.Stdout)
	tab.header(rep.Env)

	if cfg.scenarios["raw"] {
		for _, every := range []int{1024, 1} {
			progress("raw disk, fdatasync every %d records, %v", every, cfg.rawDuration)
			r, err := runRaw(ctx, runDir, every, cfg.rawDuration)
			if err != nil {
				return err
			}
			rep.Raw = append(rep.Raw, r)
			tab.raw(r)
		}
	}
	if cfg.scenarios["append"] {
		for _, c := range cfg.appendCases {
			progress("append, %d writers x batch %d, %v", c.writers, c.batch, cfg.duration)
			r, err := runAppend(ctx, runDir, c, cfg.duration)
			if err != nil {
				return fmt.Errorf("append %d writers x batch %d: %w", c.writers, c.batch, err)
			}
			r.relateToRaw(rep.Raw)
			rep.Append = append(rep.Append, r)
			tab.append(r)
		}
	}
	if cfg.scenarios["read"] || cfg.scenarios["open"] {
		if err := runStoreScenarios(ctx, cfg, runDir, rep, tab); err != nil {
			return err
		}
	}
	rep.Finished = time.Now()
	rep.PeakRSSBytes = procStatus("VmHWM")
	tab.footer(rep)

	if cfg.jsonPath != "" {
		if err := benchenv.WriteJSON(cfg.jsonPath, rep); err != nil {
			return err
		}
	}
	return nil
}

// progress reports what is running to stderr, keeping stdout for the report.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// storeOptions are the engine defaults with a quieter logger: warnings
// (torn tails, unexpected rebuilds) still reach stderr, and more with -v.
func storeOptions() engine.Options {
	o := engine.DefaultOptions()
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: engineLogLevel}))
	return o
}

// dirSize returns the apparent size of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}

// procStatus returns a "kB" field of /proc/self/status in bytes (0 if
// unavailable).
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		var kb int64
		if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// resetPeakRSS resets VmHWM to the current RSS (Linux >= 4.0), so that a
// later reading covers only what follows. It reports whether it worked.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}
