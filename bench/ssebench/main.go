//go:build linux

// Command ssebench measures the live tail: Server-Sent Events fan-out
// from one eventsql server to many subscribers.
//
//	go run ./bench/ssebench [-subscribers 100] [-stalled 0] [-events 1000000] [-batch 100]
//	    [-writers 1] [-baseline 200000] [-paced-rate 5000] [-paced-events 100000]
//	    [-dir ./bench-data] [-json FILE] [-cpuprofile FILE] [-trace FILE]
//
// It opens a store in a fresh directory under -dir, serves it over HTTP
// on a free 127.0.0.1 port in this process, and runs these phases:
//
//	baseline   -baseline events appended with no subscriber: the writer's rate alone
//	catch-up   -subscribers clients on /subscribe/$all?from=1 read those events
//	live       -events more appended as fast as the writers go, delivered live
//	paced      -paced-events more at -paced-rate events/s: live latency
//	           when the subscribers keep up
//
// Delivered events/s is subscribers x events over the time from the
// phase's start to the last subscriber reading the phase's last event; a
// phase starts when the previous one has been delivered to everyone. CPU
// is the process's user + system time during the phase. -stalled adds
// clients that subscribe and never read: they must slow no one down.
//
// Writers POST JSON arrays of -batch events (200-byte JSON data each) to
// /streams/{stream}. Latency runs from the writer receiving the 201 of a
// batch to a subscriber reading the batch's last event, sampled on every
// 10th batch for every subscriber; a delivery that beats the writer's
// ack counts as 0. Subscribers parse only the SSE id lines (and check
// that ids are gapless and never repeat). Everything — server, store,
// writers, subscribers — shares this process and its CPUs: RSS covers
// all of it, including the memory-mapped log pages read.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/eventsql/eventsql/bench/benchenv"
	"github.com/eventsql/eventsql/bench/benchprof"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
)

type config struct {
	subscribers int
	stalled     int
	events      int
	batch       int
	writers     int
	baseline    int
	pacedRate   int
	pacedEvents int
	sampleEvery int
	dir         string
	jsonPath    string
	cpuProfile  string
	tracePath   string
	timeout     time.Duration
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ssebench:", err)
		os.Exit(2)
	}
	if err := runTo(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ssebench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("ssebench", flag.ContinueOnError)
	fs.IntVar(&cfg.subscribers, "subscribers", 100, "SSE clients on /subscribe/$all")
	fs.IntVar(&cfg.stalled, "stalled", 0, "more subscribers that never read a byte (slow consumers)")
	fs.IntVar(&cfg.events, "events", 1_000_000, "events appended in the saturated phase")
	fs.IntVar(&cfg.batch, "batch", 100, "events per append request")
	fs.IntVar(&cfg.writers, "writers", 1, "concurrent append clients")
	fs.IntVar(&cfg.baseline, "baseline", 200_000, "events appended with no subscriber first (0: skip)")
	fs.IntVar(&cfg.pacedRate, "paced-rate", 5_000, "events/s in the paced phase (keep it below the unpaced writer rate)")
	fs.IntVar(&cfg.pacedEvents, "paced-events", 100_000, "events appended in the paced phase (0: skip)")
	fs.IntVar(&cfg.sampleEvery, "sample-every", 10, "sample latency on every n-th batch")
	fs.StringVar(&cfg.dir, "dir", "./bench-data", "directory for the store (a fresh subdirectory, removed afterwards)")
	fs.StringVar(&cfg.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	fs.StringVar(&cfg.tracePath, "trace", "", "write a runtime execution trace of the run to this file (large: use few events)")
	fs.DurationVar(&cfg.timeout, "timeout", 15*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case cfg.subscribers < 1 || cfg.writers < 1 || cfg.batch < 1 || cfg.sampleEvery < 1 || cfg.stalled < 0:
		return cfg, errors.New("-subscribers, -writers, -batch and -sample-every must be positive, -stalled >= 0")
	case cfg.events < cfg.batch || cfg.baseline < 0 || cfg.pacedEvents < 0 || cfg.pacedRate < 1:
		return cfg, errors.New("-events must be at least -batch; -baseline and -paced-events >= 0; -paced-rate > 0")
	case cfg.events%cfg.batch != 0 || cfg.baseline%cfg.batch != 0 || cfg.pacedEvents%cfg.batch != 0:
		return cfg, errors.New("-events, -baseline and -paced-events must be multiples of -batch")
	}
	return cfg, nil
}

// runTo runs the benchmark and writes the report to out.
func runTo(cfg config, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return err
	}
	runDir, err := os.MkdirTemp(cfg.dir, "sse-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(runDir)

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

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := engine.DefaultOptions()
	opts.Logger = logger
	store, err := engine.Open(ctx, filepath.Join(runDir, "store"), opts)
	if err != nil {
		return err
	}
	defer store.Close()
	const password = "bench-pw"
	srv := httpfront.New(store, httpfront.NewUsers(password), httpfront.Options{}, logger, func() bool { return true })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		srv.Shutdown(sctx)
		<-served
	}()

	b := newBench(cfg, "http://"+l.Addr().String(), "admin", password)
	rep, err := b.run(ctx)
	if err != nil {
		return err
	}
	rep.print(out)
	if cfg.jsonPath != "" {
		return benchenv.WriteJSON(cfg.jsonPath, rep)
	}
	return nil
}

// progress reports what is running to stderr, keeping stdout for the report.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ssebench: "+format+"\n", args...)
}
