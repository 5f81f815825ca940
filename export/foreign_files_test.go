package export

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// writeFiles creates files with dummy content.
func writeFiles(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("PAR1 not ours PAR1"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestForeignFilesRefused: a first export into a directory whose events/
// or by_type/ hold files it did not write (a Spark table named events,
// say) is refused, and nothing there changes: readers globbing
// events/** would read those files as part of the dataset. Part files
// left by an earlier run that died before its manifest are not foreign.
func TestForeignFilesRefused(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	appendJSON(t, s, "x-1", "T", `{"n":1}`)
	for _, foreign := range []string{
		filepath.Join("events", "year=2025", "part-00000-5e1d2c3a-aaaa-bbbb-cccc-0123456789ab-c000.snappy.parquet"),
		filepath.Join("events", "clicks.parquet"),
		filepath.Join("by_type", "T", "date=2026-03-01", "data_0.parquet"),
		filepath.Join("events", "README"),
	} {
		t.Run(foreign, func(t *testing.T) {
			out := t.TempDir()
			leftover := filepath.Join(out, "events", "date=2026-02-01", "part-3-4-abcdef012345.parquet")
			writeFiles(t, filepath.Join(out, foreign), leftover)
			_, err := Run(t.Context(), s, Options{Dir: out})
			var ff *ForeignFilesError
			if !errors.As(err, &ff) || ff.Path != filepath.ToSlash(foreign) {
				t.Fatalf("err = %v, want a ForeignFilesError naming %s", err, foreign)
			}
			for _, p := range []string{filepath.Join(out, foreign), leftover} {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("a refused export changed the directory: %v", err)
				}
			}
			if _, err := os.Stat(filepath.Join(out, ManifestName)); err == nil {
				t.Error("a refused export wrote a manifest")
			}
		})
	}
	t.Run("leftover part files only", func(t *testing.T) {
		out := t.TempDir()
		leftover := filepath.Join(out, "events", "date=2026-02-01", "part-3-4-abcdef012345.parquet")
		writeFiles(t, leftover)
		if sum := run(t, s, Options{Dir: out}); sum.Removed != 1 {
			t.Errorf("removed %d files, want 1 (the leftover part file)", sum.Removed)
		}
	})
}

// TestForeignParquetFilesKept: files added later to an eventsql export
// (not named like its part files) are left alone by the next runs'
// cleanup, which removes only leftovers named like its own part files.
// It used to delete every Parquet file the manifest did not list.
func TestForeignParquetFilesKept(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	appendJSON(t, s, "x-1", "T", `{"n":1}`)
	out := t.TempDir()
	run(t, s, Options{Dir: out})
	foreign := []string{
		filepath.Join(out, "events", "year=2025", "part-00000-5e1d2c3a-aaaa-bbbb-cccc-0123456789ab-c000.snappy.parquet"),
		filepath.Join(out, "events", "clicks.parquet"),
		filepath.Join(out, "by_type", "T", "date=2026-03-01", "data_0.parquet"),
	}
	leftover := filepath.Join(out, "events", "date=2026-02-01", "part-3-4-abcdef012345.parquet")
	writeFiles(t, append(foreign, leftover)...)
	appendJSON(t, s, "x-1", "T", `{"n":2}`)
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
