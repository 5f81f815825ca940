package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/eventsql/eventsql/engine"
)

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	records := fs.Bool("records", false, "print one line per record")
	index := fs.Bool("index", true, "print the index checkpoint and key counts")
	limit := fs.Int("limit", 0, "print at most this many records (0: all)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: eventsql inspect [flags] DIR\n\nDumps a data directory without changing it.")
		fs.PrintDefaults()
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		fs.Usage()
		return fmt.Errorf("inspect: want one data directory, got %d arguments", len(rest))
	}
	return engine.Inspect(ctx, rest[0], stdout, engine.InspectOptions{Records: *records, Index: *index, Limit: *limit})
}
