package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/export"
	"github.com/eventsql/eventsql/httpfront"
)

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		req          export.Request
		types        string
		datasets     string
		rowGroupSize byteSize
		server       = fs.String("server", "", "export through a running server's POST /export, e.g. http://127.0.0.1:2113 (--out is then a directory on the server)")
		user         = fs.String("user", "admin", "user for --server (an admin)")
		password     = fs.String("password", httpfront.DefaultAdminPassword, "password for --server (or EVENTSQL_PASSWORD)")
		dataDir      = fs.String("data", "", "export this data directory (read-only: works while a server runs on it)")
		progress     = fs.Bool("progress", true, "show a progress line when stderr is a terminal")
	)
	fs.StringVar(&req.Out, "out", "", "output directory (required)")
	fs.BoolVar(&req.Full, "full", false, "rewrite the whole snapshot instead of adding what is new")
	fs.BoolVar(&req.Compact, "compact", false, "merge small part files of each partition afterwards")
	fs.StringVar(&types, "types", "", "only these event types (comma-separated)")
	fs.StringVar(&datasets, "datasets", "", "write only these datasets: events, by_type (comma-separated; default both)")
	fs.StringVar(&req.Category, "category", "", "only streams of this category")
	fs.StringVar(&req.Since, "since", "", "only events created at or after this RFC 3339 time")
	fs.StringVar(&req.Until, "until", "", "only events created before this RFC 3339 time")
	fs.StringVar(&req.Compression, "compression", "snappy", "snappy, zstd or none")
	fs.StringVar(&req.Timestamps, "timestamps", "int64", "int64 (TIMESTAMP MICROS UTC) or int96 (for Hive 2/3)")
	fs.Var(&rowGroupSize, "row-group-size", "end row groups at about this size (default 192MiB)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: eventsql export --out DIR [--data STORE | --server URL --user U --password P] [flags]

Writes a Parquet snapshot of the store to DIR (docs/export.md):
  DIR/events/date=YYYY-MM-DD/part-<from>-<to>.parquet
  DIR/by_type/<EventType>/date=YYYY-MM-DD/part-<from>-<to>.parquet
  DIR/_manifest.json, DIR/hive.sql, DIR/_SUCCESS
A second run adds only the events written since (incremental); --full
rewrites everything. A failed or killed run leaves the previous snapshot
as it was.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("export: unexpected arguments %q", fs.Args())
	}
	if (*server == "") == (*dataDir == "") {
		fs.Usage()
		return errors.New("export: give either --data or --server")
	}
	if types != "" {
		req.Types = []string{types}
	}
	if datasets != "" {
		req.Datasets = []string{datasets}
	}
	req.RowGroupSize = int64(rowGroupSize)
	opts, err := req.Options()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	showing := *progress && isTerminal(stderr)
	var sum *export.Summary
	if *server != "" {
		var stop func()
		if showing {
			stop = showWaiting(stderr)
		}
		sum, err = exportThroughServer(ctx, *server, *user, *password, req)
		if stop != nil {
			stop()
		}
	} else {
		var pl *progressLine
		if showing {
			pl = &progressLine{w: stderr}
			opts.Progress = pl.update
		}
		sum, err = exportDir(ctx, *dataDir, opts)
		if pl != nil {
			pl.clear()
		}
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	printExportSummary(stdout, sum)
	return nil
}

// exportDir exports the store in dir through a read-only LogReader: it
// needs no lock, so a server may be running on the store.
func exportDir(ctx context.Context, dir string, opts export.Options) (*export.Summary, error) {
	r, err := engine.OpenLogReader(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	defer r.Close()
	opts.Version, opts.Build = version, build
	return export.Run(ctx, r, opts)
}

func exportThroughServer(ctx context.Context, server, user, password string, req export.Request) (*export.Summary, error) {
	body, _ := json.Marshal(req)
	sum, err := postToServer[export.Summary](ctx, server, "/export", user, password, "application/json", bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return nil, err
	}
	return &sum, nil
}

func printExportSummary(w io.Writer, s *export.Summary) {
	if s.UpToDate {
		fmt.Fprintf(w, "%s: up to date (positions up to %d; %d files, %d events)\n", s.Dir, s.ToPosition, s.SnapshotFiles, s.SnapshotEvents)
		if s.Compacted > 0 {
			fmt.Fprintf(w, "compacted %d files into %d, %.1f MB in %.2f s\n", s.Compacted, s.Files, float64(s.Bytes)/1e6, s.Seconds)
		}
		return
	}
	fmt.Fprintf(w, "%s: %d events (positions %d to %d), %d files, %.1f MB in %.2f s (%.0f events/s, %.1f MB/s)\n",
		s.Dir, s.Events, s.FromPosition, s.ToPosition, s.Files, float64(s.Bytes)/1e6, s.Seconds, s.EventsPerSec,
		float64(s.Bytes)/1e6/max(s.Seconds, 1e-9))
	if s.Compacted > 0 {
		fmt.Fprintf(w, "compacted %d files\n", s.Compacted)
	}
	fmt.Fprintf(w, "snapshot: %d files, %d events; removed %d leftover or replaced files\n", s.SnapshotFiles, s.SnapshotEvents, s.Removed)
}

// progressLine redraws one line: events, share of the range, events/s, MB written.
type progressLine struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *progressLine) update(pr export.Progress) {
	if pr.Done {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	secs := max(pr.Elapsed.Seconds(), 1e-9)
	share := ""
	if pr.To >= pr.From && pr.CurrentPos >= pr.From {
		share = fmt.Sprintf(" (%.0f%%)", 100*float64(pr.CurrentPos-pr.From+1)/float64(pr.To-pr.From+1))
	}
	fmt.Fprintf(p.w, "\r\033[K%d events%s, %.0f events/s, %.1f MB written, %.1f MB/s",
		pr.Events, share, float64(pr.Events)/secs, float64(pr.Bytes)/1e6, float64(pr.Bytes)/1e6/secs)
}

func (p *progressLine) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\033[K")
}

// showWaiting shows the elapsed time while a server exports.
func showWaiting(w io.Writer) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(w, "\r\033[Kexporting on the server, %.0f s", time.Since(start).Seconds())
			}
		}
	}()
	return func() { close(done); <-finished }
}
