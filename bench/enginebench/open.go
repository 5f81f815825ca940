//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/eventsql/eventsql/engine"
)

// OpenResult is the open-time scenario on the loaded, cleanly closed store.
type OpenResult struct {
	Events int `json:"events"`
	// Reopen after a clean Close: nothing to re-index.
	CleanOpenSeconds  float64 `json:"cleanOpenSeconds"`
	CleanCloseSeconds float64 `json:"cleanCloseSeconds"`
	// Reopen after deleting DIR/index: the whole log is re-indexed inside
	// Open.
	RebuildSeconds      float64 `json:"rebuildOpenSeconds"`
	RebuildEventsPerSec float64 `json:"rebuildEventsPerSec"`
	RebuildCloseSeconds float64 `json:"rebuildCloseSeconds"` // flushes the rebuilt index
	RebuiltIndexBytes   int64   `json:"rebuiltIndexBytes"`
}

// runOpen reopens the closed store in dir twice: as it is, then without
// its index. The page cache is warm (the log was just written and read).
func runOpen(ctx context.Context, dir string, events int) (OpenResult, error) {
	r := OpenResult{Events: events}
	progress("reopen after a clean close")
	open, closeT, err := timedOpenClose(ctx, dir, events)
	if err != nil {
		return r, fmt.Errorf("clean reopen: %w", err)
	}
	r.CleanOpenSeconds, r.CleanCloseSeconds = open.Seconds(), closeT.Seconds()

	progress("reopen without DIR/index (full rebuild)")
	if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
		return r, err
	}
	open, closeT, err = timedOpenClose(ctx, dir, events)
	if err != nil {
		return r, fmt.Errorf("reopen with rebuild: %w", err)
	}
	r.RebuildSeconds, r.RebuildCloseSeconds = open.Seconds(), closeT.Seconds()
	r.RebuildEventsPerSec = float64(events) / open.Seconds()
	if r.RebuiltIndexBytes, err = dirSize(filepath.Join(dir, "index")); err != nil {
		return r, err
	}
	return r, nil
}

// timedOpenClose opens the store, checks it holds events events and
// closes it, timing Open and Close.
func timedOpenClose(ctx context.Context, dir string, events int) (open, closeT time.Duration, err error) {
	t0 := time.Now()
	s, err := engine.Open(ctx, dir, storeOptions())
	if err != nil {
		return 0, 0, err
	}
	open = time.Since(t0)
	if got := s.Stats().Events; got != uint64(events) {
		s.Close()
		return 0, 0, fmt.Errorf("reopened store holds %d events, want %d", got, events)
	}
	t0 = time.Now()
	err = s.Close()
	return open, time.Since(t0), err
}
