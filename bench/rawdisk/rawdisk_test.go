//go:build linux

package rawdisk

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMeasure(t *testing.T) {
	tests := []struct {
		name       string
		recordSize int
		syncEvery  int
		maxRecords int
		duration   time.Duration
	}{
		{"sync every record", 200, 1, 2000, 0},
		{"grouped by 100", 200, 100, 2000, 0},
		{"partial last group", 200, 300, 2000, 0},
		{"max records with generous duration", 64, 100, 2000, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			res, err := Measure(context.Background(), Config{
				Dir:        dir,
				RecordSize: tt.recordSize,
				SyncEvery:  tt.syncEvery,
				Duration:   tt.duration,
				MaxRecords: tt.maxRecords,
			})
			if err != nil {
				t.Fatalf("Measure: %v", err)
			}
			if res.Records != tt.maxRecords {
				t.Errorf("Records = %d, want %d", res.Records, tt.maxRecords)
			}
			wantSyncs := (tt.maxRecords + tt.syncEvery - 1) / tt.syncEvery
			if res.Syncs != wantSyncs {
				t.Errorf("Syncs = %d, want %d", res.Syncs, wantSyncs)
			}
			if res.SyncP50 <= 0 || res.SyncP99 <= 0 {
				t.Errorf("percentiles must be > 0: p50=%v p99=%v", res.SyncP50, res.SyncP99)
			}
			if res.SyncP50 > res.SyncP99 {
				t.Errorf("p50 %v > p99 %v", res.SyncP50, res.SyncP99)
			}
			if res.Elapsed <= 0 || res.RecordsPerSec <= 0 || res.MBPerSec <= 0 {
				t.Errorf("non-positive rates: %+v", res)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Errorf("scratch file not removed: %v", entries)
			}
			s := res.String()
			if !strings.HasPrefix(s, "raw ") || !strings.Contains(s, "rec/s") || strings.Contains(s, "\n") {
				t.Errorf("String() = %q", s)
			}
			t.Log(s)
		})
	}
}

func TestMeasureCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Measure(ctx, Config{Dir: dir, RecordSize: 200, SyncEvery: 1, Duration: time.Hour})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("scratch file not removed: %v", entries)
	}
}

func TestMeasureInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	valid := Config{Dir: dir, RecordSize: 200, SyncEvery: 1, MaxRecords: 10}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantSub string
	}{
		{"empty dir", func(c *Config) { c.Dir = "" }, "Dir"},
		{"zero record size", func(c *Config) { c.RecordSize = 0 }, "RecordSize"},
		{"negative record size", func(c *Config) { c.RecordSize = -1 }, "RecordSize"},
		{"zero sync every", func(c *Config) { c.SyncEvery = 0 }, "SyncEvery"},
		{"negative sync every", func(c *Config) { c.SyncEvery = -5 }, "SyncEvery"},
		{"no bound", func(c *Config) { c.MaxRecords = 0; c.Duration = 0 }, "Duration or MaxRecords"},
		{"negative duration", func(c *Config) { c.Duration = -time.Second }, "Duration"},
		{"negative max records", func(c *Config) { c.MaxRecords = -1; c.Duration = time.Second }, "MaxRecords"},
		{"group too large", func(c *Config) { c.RecordSize = 1 << 20; c.SyncEvery = 1 << 20 }, "exceeds"},
		{"missing dir", func(c *Config) { c.Dir = dir + "/does-not-exist" }, "scratch file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.mutate(&cfg)
			_, err := Measure(context.Background(), cfg)
			if err == nil {
				t.Fatalf("Measure(%+v) succeeded, want error", cfg)
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("error %q does not mention %q", err, tt.wantSub)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("unexpected files left in %s: %v", dir, entries)
	}
}
