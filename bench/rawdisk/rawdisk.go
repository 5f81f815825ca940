//go:build linux

// Package rawdisk measures the raw sequential-append bound of the disk a
// benchmark runs on, so that event-store benchmark numbers can be reported
// next to what the same machine can do with plain write+fdatasync in the
// same run.
//
// Measure appends fixed-size records to a scratch file, writing SyncEvery
// records per write call and calling fdatasync after each such group. The
// latency of each group (write + fdatasync) is what a caller waiting for its
// record to become durable would observe, and is reported as p50/p99.
//
// The package is Linux-only because it relies on fdatasync(2).
package rawdisk

import (
	"github.com/eventsql/eventsql/bench/benchfmt"

	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// maxGroupBytes bounds the size of a single write (RecordSize*SyncEvery).
const maxGroupBytes = 1 << 30

// defaultLatencyCap is the initial capacity of the latency slice when the run
// is bounded only by Duration and the number of groups is not known ahead.
const defaultLatencyCap = 1 << 20

// Config describes one raw-append measurement.
type Config struct {
	Dir        string        // directory to create the scratch file in (removed afterwards)
	RecordSize int           // bytes per record, e.g. 200
	SyncEvery  int           // fdatasync after this many records (1 = every record, 1024 = grouped)
	Duration   time.Duration // how long to run (stop early after MaxRecords if >0)
	MaxRecords int           // stop after this many records if >0
}

// Result is the outcome of Measure.
type Result struct {
	RecordSize int // copied from Config, for String
	SyncEvery  int // copied from Config, for String

	Records       int
	Elapsed       time.Duration
	RecordsPerSec float64
	MBPerSec      float64 // 1 MB = 1e6 bytes
	// Latency of each write+fdatasync group, as seen by a caller waiting for
	// its record to be durable.
	SyncP50, SyncP99 time.Duration
	Syncs            int
}

func (c Config) validate() error {
	switch {
	case c.Dir == "":
		return errors.New("rawdisk: Dir must be set (the directory on the disk to measure)")
	case c.RecordSize <= 0:
		return fmt.Errorf("rawdisk: RecordSize must be > 0, got %d", c.RecordSize)
	case c.SyncEvery <= 0:
		return fmt.Errorf("rawdisk: SyncEvery must be > 0, got %d", c.SyncEvery)
	case c.Duration < 0:
		return fmt.Errorf("rawdisk: Duration must not be negative, got %v", c.Duration)
	case c.MaxRecords < 0:
		return fmt.Errorf("rawdisk: MaxRecords must not be negative, got %d", c.MaxRecords)
	case c.Duration == 0 && c.MaxRecords == 0:
		return errors.New("rawdisk: at least one of Duration or MaxRecords must be > 0")
	case c.RecordSize > maxGroupBytes/c.SyncEvery:
		return fmt.Errorf("rawdisk: RecordSize*SyncEvery (%d*%d) exceeds %d bytes per write",
			c.RecordSize, c.SyncEvery, maxGroupBytes)
	}
	return nil
}

// Measure appends records to a scratch file in cfg.Dir until cfg.Duration
// has elapsed or cfg.MaxRecords records have been made durable, whichever
// comes first. The scratch file is removed before Measure returns.
//
// If ctx is cancelled, Measure stops after the current group and returns the
// partial result together with ctx.Err().
func Measure(ctx context.Context, cfg Config) (res Result, err error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	res.RecordSize, res.SyncEvery = cfg.RecordSize, cfg.SyncEvery

	// os.CreateTemp picks a unique name (and opens O_RDWR); reopen the file
	// write-only in append mode for the measurement itself.
	tmp, err := os.CreateTemp(cfg.Dir, "rawdisk-*.dat")
	if err != nil {
		return Result{}, fmt.Errorf("rawdisk: create scratch file: %w", err)
	}
	name := tmp.Name()
	defer func() {
		if rerr := os.Remove(name); rerr != nil && err == nil {
			err = fmt.Errorf("rawdisk: remove scratch file: %w", rerr)
		}
	}()
	if err := tmp.Close(); err != nil {
		return Result{}, fmt.Errorf("rawdisk: close scratch file: %w", err)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return Result{}, fmt.Errorf("rawdisk: open scratch file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("rawdisk: close scratch file: %w", cerr)
		}
	}()
	fd := int(f.Fd())

	// One group buffer, filled once with non-zero bytes and reused for
	// every write.
	buf := make([]byte, cfg.RecordSize*cfg.SyncEvery)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}

	latCap := defaultLatencyCap
	if cfg.MaxRecords > 0 {
		latCap = (cfg.MaxRecords + cfg.SyncEvery - 1) / cfg.SyncEvery
	}
	lats := make([]time.Duration, 0, latCap)

	var deadline time.Time
	start := time.Now()
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	now := start
	for {
		if cfg.MaxRecords > 0 && res.Records >= cfg.MaxRecords {
			break
		}
		if !deadline.IsZero() && !now.Before(deadline) {
			break
		}
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
			break
		}

		n := cfg.SyncEvery
		if cfg.MaxRecords > 0 {
			n = min(n, cfg.MaxRecords-res.Records)
		}
		t0 := now
		if _, werr := f.Write(buf[:n*cfg.RecordSize]); werr != nil {
			return Result{}, fmt.Errorf("rawdisk: write: %w", werr)
		}
		if serr := unix.Fdatasync(fd); serr != nil {
			return Result{}, fmt.Errorf("rawdisk: fdatasync: %w", serr)
		}
		now = time.Now()
		lats = append(lats, now.Sub(t0))
		res.Records += n
	}

	res.Elapsed = now.Sub(start)
	res.Syncs = len(lats)
	if secs := res.Elapsed.Seconds(); secs > 0 {
		res.RecordsPerSec = float64(res.Records) / secs
		res.MBPerSec = float64(res.Records) * float64(cfg.RecordSize) / secs / 1e6
	}
	slices.Sort(lats)
	res.SyncP50 = benchfmt.Percentile(lats, 0.50)
	res.SyncP99 = benchfmt.Percentile(lats, 0.99)
	return res, err
}

// String returns one human-readable line, e.g.
// "raw 200B records, fdatasync/1024: 1.02M rec/s, 204 MB/s, sync p50 0.9ms p99 1.8ms".
func (r Result) String() string {
	return fmt.Sprintf("raw %dB records, fdatasync/%d: %s rec/s, %s MB/s, sync p50 %sms p99 %sms",
		r.RecordSize, r.SyncEvery, benchfmt.Count(r.RecordsPerSec), benchfmt.Num(r.MBPerSec),
		benchfmt.Num(float64(r.SyncP50)/1e6), benchfmt.Num(float64(r.SyncP99)/1e6))
}
