package export

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// partName matches the names of the part files an export writes
// (partwriter.go): part-<from>-<to>.parquet, with -<run id> when the
// name was taken. Other Parquet files are not ours: an export into a
// directory that already held, say, a Spark table under events/ deleted
// all its files as leftovers.
var partName = regexp.MustCompile(`^part-[0-9]+-[0-9]+(-[0-9a-f]+)?\.parquet$`)

// cleanup removes what is not part of the snapshot m (nil: no snapshot):
// files being written by a run that died (tempPrefix names, anywhere),
// part files the manifest does not list (renamed into place by a run that
// died before replacing the manifest, or replaced by --full or
// compaction), and partition directories left empty. Only files an export
// writes are touched: part files (partName) and tempPrefix files under
// events/ and by_type/, and tempPrefix files at the top.
func cleanup(dir string, m *Manifest) (int, error) {
	listed := map[string]bool{}
	if m != nil {
		for _, f := range m.Files {
			listed[f.Path] = true
		}
	}
	removed := 0
	top, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range top {
		if !e.IsDir() && strings.HasPrefix(e.Name(), tempPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return removed, fmt.Errorf("remove leftover: %w", err)
			}
			removed++
		}
	}
	var dirs []string
	err = walkDatasets(dir, func(p, rel string, d fs.DirEntry) error {
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		if name := d.Name(); strings.HasPrefix(name, tempPrefix) || (partName.MatchString(name) && !listed[rel]) {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("remove leftover: %w", err)
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("clean %s: %w", dir, err)
	}
	slices.Reverse(dirs) // children first
	for _, d := range dirs {
		os.Remove(d) // fails unless empty, which is what we want
	}
	return removed, nil
}

// foreignFile returns, relative to dir, a file under events/ or by_type/
// that an export does not write (neither a part file nor a temporary
// file), or "" when there is none.
func foreignFile(dir string) (string, error) {
	var found string
	err := walkDatasets(dir, func(_, rel string, d fs.DirEntry) error {
		if name := d.Name(); !d.IsDir() && !strings.HasPrefix(name, tempPrefix) && !partName.MatchString(name) {
			found = rel
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("look into %s: %w", dir, err)
	}
	return found, nil
}

// walkDatasets calls fn for every file and directory below dir/events
// and dir/by_type (not for those two), with its path and its path
// relative to dir in slash form. A missing events/ or by_type/ is fine;
// fn returning filepath.SkipAll ends the walk without an error.
func walkDatasets(dir string, fn func(path, rel string, d fs.DirEntry) error) error {
	stopped := false
	for _, sub := range []string{"events", "by_type"} {
		root := filepath.Join(dir, sub)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == root {
					return filepath.SkipDir
				}
				return err
			}
			if p == root {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			err = fn(p, filepath.ToSlash(rel), d)
			stopped = err == filepath.SkipAll
			return err
		})
		if err != nil || stopped {
			return err // WalkDir answers SkipAll with nil
		}
	}
	return nil
}
