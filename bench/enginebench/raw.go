//go:build linux

package main

import (
	"context"
	"time"

	"github.com/eventsql/eventsql/bench/rawdisk"
)

// RawResult is one raw disk measurement: what plain write+fdatasync of
// eventSize-byte records achieves on the same disk in the same run.
type RawResult struct {
	SyncEvery     int     `json:"syncEvery"`
	RecordSize    int     `json:"recordSize"`
	Records       int     `json:"records"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"recordsPerSec"`
	MBPerSec      float64 `json:"mbPerSec"`
	Syncs         int     `json:"syncs"`
	SyncP50Ms     float64 `json:"syncP50Ms"`
	SyncP99Ms     float64 `json:"syncP99Ms"`
}

func runRaw(ctx context.Context, dir string, syncEvery int, d time.Duration) (RawResult, error) {
	r, err := rawdisk.Measure(ctx, rawdisk.Config{Dir: dir, RecordSize: eventSize, SyncEvery: syncEvery, Duration: d})
	if err != nil {
		return RawResult{}, err
	}
	return RawResult{
		SyncEvery:     r.SyncEvery,
		RecordSize:    r.RecordSize,
		Records:       r.Records,
		Seconds:       r.Elapsed.Seconds(),
		RecordsPerSec: r.RecordsPerSec,
		MBPerSec:      r.MBPerSec,
		Syncs:         r.Syncs,
		SyncP50Ms:     ms(r.SyncP50),
		SyncP99Ms:     ms(r.SyncP99),
	}, nil
}
