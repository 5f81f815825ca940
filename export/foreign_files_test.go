package export

import (
	"os"
	"path/filepath"
	"testing"
)

// TestForeignParquetFilesKept: an export into a directory that already
// holds other Parquet files under events/ or by_type/ (a Spark table
// named events, say) leaves them alone and removes only leftovers named
// like its own part files. It used to delete every Parquet file the
// manifest did not list, on the first run all of them.
func TestForeignParquetFilesKept(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	appendJSON(t, s, "x-1", "T", `{"n":1}`)
	out := t.TempDir()
	foreign := []string{
		filepath.Join(out, "events", "year=2025", "part-00000-5e1d2c3a-aaaa-bbbb-cccc-0123456789ab-c000.snappy.parquet"),
		filepath.Join(out, "events", "clicks.parquet"),
		filepath.Join(out, "by_type", "T", "date=2026-03-01", "data_0.parquet"),
	}
	leftover := filepath.Join(out, "events", "date=2026-02-01", "part-3-4-abcdef012345.parquet")
	for _, p := range append(foreign, leftover) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("PAR1 not ours PAR1"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := run(t, s, Options{Dir: out})
	if sum.Removed != 1 {
		t.Errorf("removed %d files, want 1 (the leftover part file)", sum.Removed)
	}
	for _, p := range foreign {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("a file the export does not own was removed: %v", err)
		}
	}
	if _, err := os.Stat(leftover); err == nil {
		t.Error("the leftover part file is still there")
	}
}
