//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// importFiles are the import scenario's inputs: the same events as NDJSON
// (eventsql, DuckDB) and as TSV for LOAD DATA (MariaDB).
type importFiles struct {
	ndjson, tsv           string
	events                int
	ndjsonBytes, tsvBytes int64
	layout                importLayout
}

// avgNDJSONLine estimates the mean NDJSON line length from a sample, to
// size the stream count before writing.
func avgNDJSONLine(g *Gen, scenario int) float64 {
	const sample = 4096
	total := 0
	for n := range sample {
		total += eventBytes("acct-1234", g.Event(importLayout{}.key(scenario, n)))
	}
	return float64(total) / sample
}

// writeImportFiles writes events until the NDJSON file reaches size
// bytes, with about eventsPerStream events per stream.
func writeImportFiles(ctx context.Context, g *Gen, dir string, scenario int, size int64, eventsPerStream int) (importFiles, error) {
	estimate := float64(size) / avgNDJSONLine(g, scenario)
	f := importFiles{
		ndjson: filepath.Join(dir, "import.ndjson"),
		tsv:    filepath.Join(dir, "import.tsv"),
		layout: importLayout{streams: max(1, int(estimate)/eventsPerStream)},
	}
	nf, err := os.Create(f.ndjson)
	if err != nil {
		return f, err
	}
	defer nf.Close()
	tf, err := os.Create(f.tsv)
	if err != nil {
		return f, err
	}
	defer tf.Close()
	nw := bufio.NewWriterSize(nf, 1<<20)
	tw := bufio.NewWriterSize(tf, 1<<20)
	var nb, tb []byte
	for n := 0; f.ndjsonBytes < size; n++ {
		if n%100_000 == 0 && ctx.Err() != nil {
			return f, ctx.Err()
		}
		e := g.Event(f.layout.key(scenario, n))
		stream := f.layout.stream(n)
		nb = appendNDJSON(nb[:0], stream, e)
		tb = appendTSV(tb[:0], stream, f.layout.version(n), e)
		if _, err := nw.Write(nb); err != nil {
			return f, fmt.Errorf("write %s: %w", f.ndjson, err)
		}
		if _, err := tw.Write(tb); err != nil {
			return f, fmt.Errorf("write %s: %w", f.tsv, err)
		}
		f.ndjsonBytes += int64(len(nb))
		f.tsvBytes += int64(len(tb))
		f.events++
	}
	if err := nw.Flush(); err != nil {
		return f, fmt.Errorf("write %s: %w", f.ndjson, err)
	}
	if err := tw.Flush(); err != nil {
		return f, fmt.Errorf("write %s: %w", f.tsv, err)
	}
	// Synced so their write-back does not compete with the first load.
	for _, file := range []*os.File{nf, tf} {
		if err := file.Sync(); err != nil {
			return f, fmt.Errorf("sync %s: %w", file.Name(), err)
		}
		if err := file.Close(); err != nil {
			return f, err
		}
	}
	return f, nil
}
