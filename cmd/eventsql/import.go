package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
	"github.com/eventsql/eventsql/ndjsonimport"
)

// maxShownErrors is how many rejected lines the summary prints.
const maxShownErrors = 10

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		server    = fs.String("server", "", "import through a running server's POST /import, e.g. http://127.0.0.1:2113")
		user      = fs.String("user", "admin", "user for --server (a writer or admin)")
		password  = fs.String("password", httpfront.DefaultAdminPassword, "password for --server (or EVENTSQL_PASSWORD)")
		dataDir   = fs.String("data", "", "import straight into this data directory (the server must be stopped)")
		logLevel  = fs.String("log-level", "warn", "log level for --data: debug, info, warn, error")
		progress  = fs.Bool("progress", true, "show a progress line when stderr is a terminal")
		showFirst = fs.Int("show-errors", maxShownErrors, "rejected lines to print")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: eventsql import [--server URL [--user U --password P] | --data DIR] FILE|-

Imports NDJSON events, one per line:
  {"stream":"cart-1","eventType":"ItemAdded","eventId":"<uuid>","data":{...},"metadata":{...}}
from FILE or standard input (-), into a running server (--server) or a
stopped store's data directory (--data). Rejected lines are reported with
their line numbers; the rest is written. Retrying a file whose events have
ids writes nothing twice. Exits non-zero when lines were rejected or the
import failed.`)
		fs.PrintDefaults()
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		fs.Usage()
		return fmt.Errorf("import: want one FILE (or - for standard input), got %d arguments", len(rest))
	}
	if (*server == "") == (*dataDir == "") {
		fs.Usage()
		return errors.New("import: give either --server or --data (EVENTSQL_SERVER / EVENTSQL_DATA count too)")
	}

	name := rest[0]
	in, size, err := openInput(name)
	if err != nil {
		return err
	}
	defer in.Close()
	cr := &countingReader{r: in}
	showing := *progress && isTerminal(stderr)
	stopProgress := func() {}
	if showing {
		stopProgress = showProgress(stderr, cr, size)
	}

	start := time.Now()
	var sum ndjsonimport.Summary
	if *server != "" {
		sum, err = importToServer(ctx, *server, *user, *password, cr, size)
	} else {
		sum, err = importToDir(ctx, *dataDir, *logLevel, cr, max(size, 0), stderr)
	}
	elapsed := time.Since(start)
	stopProgress()
	if showing {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err == nil || sum.Lines > 0 {
		printSummary(stdout, name, sum, cr.bytes.Load(), elapsed, *showFirst)
	}
	switch {
	case err != nil:
		return fmt.Errorf("import stopped: %w", err)
	case sum.Rejected > 0:
		return fmt.Errorf("import: %d line(s) rejected", sum.Rejected)
	}
	return nil
}

// openInput opens FILE, or standard input for "-"; size is -1 when unknown.
func openInput(name string) (io.ReadCloser, int64, error) {
	if name == "-" {
		return io.NopCloser(os.Stdin), -1, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, fmt.Errorf("import: %w", err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return f, -1, nil
	}
	return f, fi.Size(), nil
}

// importToServer streams r as the body of POST /import.
func importToServer(ctx context.Context, server, user, password string, r io.Reader, size int64) (ndjsonimport.Summary, error) {
	return postToServer[ndjsonimport.Summary](ctx, server, "/import", user, password, "application/x-ndjson", r, size)
}

// importToDir opens the store in dir and imports r into it.
func importToDir(ctx context.Context, dir, level string, r io.Reader, size int64, stderr io.Writer) (ndjsonimport.Summary, error) {
	logger, err := newLogger(stderr, level, "text")
	if err != nil {
		return ndjsonimport.Summary{}, err
	}
	opts := engine.DefaultOptions()
	opts.Logger = logger
	store, err := engine.Open(ctx, dir, opts)
	if errors.Is(err, engine.ErrLocked) {
		return ndjsonimport.Summary{}, fmt.Errorf("%w: stop the server, or import through it with --server", err)
	}
	if err != nil {
		return ndjsonimport.Summary{}, fmt.Errorf("open %s: %w", dir, err)
	}
	sum, err := ndjsonimport.Import(ctx, r, store, ndjsonimport.Options{InputSize: size})
	if cerr := store.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close store: %w", cerr)
	}
	return sum, err
}

func printSummary(w io.Writer, name string, sum ndjsonimport.Summary, n int64, elapsed time.Duration, show int) {
	secs := max(elapsed.Seconds(), 1e-9)
	mb := float64(n) / 1e6
	fmt.Fprintf(w, "%s: %d events written, %d duplicates, %d rejected; %.1f MB in %.2f s (%.0f events/s, %.1f MB/s)\n",
		name, sum.Written, sum.Duplicates, sum.Rejected, mb, secs, float64(sum.Written+sum.Duplicates)/secs, mb/secs)
	if sum.FirstPosition != nil {
		fmt.Fprintf(w, "positions %d to %d\n", *sum.FirstPosition, *sum.LastPosition)
	}
	if len(sum.Errors) == 0 {
		return
	}
	fmt.Fprintln(w, "rejected lines:")
	for i, e := range sum.Errors {
		if i == show {
			fmt.Fprintf(w, "  ... and %d more\n", sum.Rejected-int64(show))
			break
		}
		fmt.Fprintf(w, "  line %d: %s: %s\n", e.Line, e.Code, e.Message)
	}
}

// countingReader counts the bytes and lines read through it.
type countingReader struct {
	r     io.Reader
	bytes atomic.Int64
	lines atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.bytes.Add(int64(n))
	c.lines.Add(int64(bytes.Count(p[:n], []byte{'\n'})))
	return n, err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// showProgress redraws one line on w every 250 ms: lines read, MB, the
// share of the file when its size is known, events/s and MB/s.
func showProgress(w io.Writer, c *countingReader, size int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			secs := time.Since(start).Seconds()
			n, lines := c.bytes.Load(), c.lines.Load()
			share := ""
			if size > 0 {
				share = fmt.Sprintf(" (%.0f%%)", 100*float64(n)/float64(size))
			}
			fmt.Fprintf(w, "\r\033[K%d lines, %.1f MB%s, %.0f events/s, %.1f MB/s",
				lines, float64(n)/1e6, share, float64(lines)/secs, float64(n)/1e6/secs)
		}
	}()
	return func() { close(done); <-finished }
}
