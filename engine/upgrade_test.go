package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFormat1StoreIsUpgraded writes a store as versions before format 2
// did (segments that grow with every write, DIR/STORE format 1), cleanly
// closed or crashed with a torn tail, and opens it with this version: it
// must open with every acknowledged event, say format 2, seal the old
// segments as they are and append to a new version 2 segment; the
// LogReader (export) and Inspect must read the mixed log.
func TestFormat1StoreIsUpgraded(t *testing.T) {
	for _, crash := range []bool{false, true} {
		name := map[bool]string{false: "clean", true: "torn tail"}[crash]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			old := formatOptions(1)
			old.SegmentSize = 4096
			s := openTestStore(t, dir, old)
			acked := appendSome(t, s, "old", 25, 120)
			if crash {
				crashClose(s)
				path, end := lastSegment(t, dir)
				patchFile(t, path, end, []byte("\x40\x00\x00\x00torn"))
			} else if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := storeFormatOf(t, dir); got != 1 {
				t.Fatalf("old store says format %d", got)
			}
			oldSegs := segmentPaths(t, dir)

			s, acked = reopenAndCheck(t, dir, acked)
			acked = append(acked, appendSome(t, s, "new", 30, 120)...)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := storeFormatOf(t, dir); got != 2 {
				t.Fatalf("upgraded store says format %d, want 2", got)
			}
			segs := segmentPaths(t, dir)
			for i, p := range segs {
				h, err := decodeSegmentHeader(readAt(t, p, 0, segmentHeaderSize))
				if err != nil {
					t.Fatal(err)
				}
				if want := uint16(map[bool]int{true: 1, false: 2}[i < len(oldSegs)]); h.Version != want {
					t.Fatalf("segment %d (%s) has version %d, want %d", i, filepath.Base(p), h.Version, want)
				}
				if i < len(segs)-1 {
					checkCleanEnd(t, p, mustSize(t, p)) // sealed: ends with its last record
				}
			}
			s = openTestStore(t, dir, testOptions())
			head := len(checkDurable(t, s, acked))
			s.Close()

			r, err := OpenLogReader(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			it, err := r.ReadAll(ctx, 0, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for it.Next() {
				n++
			}
			if it.Close(); it.Err() != nil || n != head {
				t.Fatalf("LogReader read %d events (%v), want %d", n, it.Err(), head)
			}
			r.Close()

			var out strings.Builder
			if err := Inspect(ctx, dir, &out, InspectOptions{}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "version=1") || !strings.Contains(out.String(), "version=2") ||
				!strings.Contains(out.String(), "zero-filled window") || strings.Contains(out.String(), "damage") {
				t.Fatalf("inspect:\n%s", out.String())
			}
		})
	}
}

func storeFormatOf(t testing.TB, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "STORE"))
	if err != nil {
		t.Fatal(err)
	}
	var m storeMeta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Format
}
