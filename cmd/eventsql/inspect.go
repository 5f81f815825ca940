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
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("inspect: want one data directory, got %d arguments", fs.NArg())
	}
	return engine.Inspect(ctx, fs.Arg(0), stdout, engine.InspectOptions{Records: *records, Index: *index, Limit: *limit})
}
