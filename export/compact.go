package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// compact merges small part files: within each partition of each
// dataset, runs of consecutive files (by position) smaller than
// CompactBelow and with the same schema are rewritten as files of up to
// FileBytes, with row groups of up to RowGroupRows/RowGroupBytes. The
// manifest is replaced once, atomically; the merged files are removed
// afterwards by cleanup. It returns the number of files merged away and
// the files and bytes written.
func compact(ctx context.Context, dir string, o *Options, m *Manifest) (int, int, int64, error) {
	type key struct {
		dataset, date string
		schema        int
	}
	groups := map[key][]File{}
	for _, f := range m.Files {
		k := key{f.Dataset, f.Date, f.Schema}
		groups[k] = append(groups[k], f)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.dataset != b.dataset {
			return cmpString(a.dataset, b.dataset)
		}
		if a.date != b.date {
			return cmpString(a.date, b.date)
		}
		return a.schema - b.schema
	})
	pc, err := newPartConfig(dir, newRunID(), o)
	if err != nil {
		return 0, 0, 0, err
	}
	defer pc.close() // after every writer is done (below)
	merged := map[string]bool{}
	var written []File
	fail := func(err error) (int, int, int64, error) {
		for _, f := range written {
			os.Remove(filepath.Join(dir, filepath.FromSlash(f.Path)))
		}
		return 0, 0, 0, err
	}
	for _, k := range keys {
		files := groups[k]
		slices.SortFunc(files, func(a, b File) int { return cmpUint(a.FromPosition, b.FromPosition) })
		var run []File
		var runBytes int64
		flushRun := func() error {
			if len(run) >= 2 {
				f, err := mergeFiles(ctx, dir, pc, m.Datasets[k.dataset].Schemas[k.schema], k.schema, run)
				if err != nil {
					return err
				}
				written = append(written, f)
				for _, r := range run {
					merged[r.Path] = true
				}
			}
			run, runBytes = run[:0], 0
			return nil
		}
		for _, f := range files {
			if f.Bytes >= o.CompactBelow || runBytes+f.Bytes > o.FileBytes {
				if err := flushRun(); err != nil {
					return fail(err)
				}
			}
			if f.Bytes < o.CompactBelow {
				run = append(run, f)
				runBytes += f.Bytes
			}
		}
		if err := flushRun(); err != nil {
			return fail(err)
		}
	}
	if len(written) == 0 {
		return 0, 0, 0, nil
	}
	if err := syncPartitionDirs(dir, written); err != nil {
		return fail(err)
	}
	kept := m.Files[:0:0]
	for _, f := range m.Files {
		if !merged[f.Path] {
			kept = append(kept, f)
		}
	}
	next := m.clone()
	next.Files = append(kept, written...)
	slices.SortStableFunc(next.Files, func(a, b File) int { return cmpUint(a.FromPosition, b.FromPosition) })
	if err := commit(dir, next); err != nil {
		return fail(err)
	}
	*m = *next
	var bytes int64
	for _, f := range written {
		bytes += f.Bytes
	}
	return len(merged), len(written), bytes, nil
}

// mergeFiles copies the rows of files (same dataset, partition and
// schema) into one new part file.
func mergeFiles(ctx context.Context, dir string, pc *partConfig, cols []Column, schema int, files []File) (File, error) {
	p, err := pc.open(files[0].Dataset, files[0].Date, cols, schema, files[0].FromPosition)
	if err != nil {
		return File{}, err
	}
	buf := make([]parquet.Row, 1024)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			p.abort()
			return File{}, err
		}
		if err := copyRows(filepath.Join(dir, filepath.FromSlash(f.Path)), p, buf); err != nil {
			p.abort()
			return File{}, fmt.Errorf("compact %s: %w", f.Path, err)
		}
		p.to = f.ToPosition
	}
	p.from = files[0].FromPosition
	return p.finish()
}

func copyRows(path string, p *partFile, buf []parquet.Row) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return err
	}
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			if n > 0 {
				if werr := p.writeRows(buf[:n]); werr != nil {
					rows.Close()
					return werr
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
