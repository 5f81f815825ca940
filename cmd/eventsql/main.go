// Command eventsql is an event store you can query with SQL.
//
//	eventsql serve    run the server (default data directory ./eventsql-data)
//	eventsql import   bulk-import NDJSON events into a server or a stopped store
//	eventsql export   write a Parquet snapshot of a store (docs/export.md)
//	eventsql inspect  dump a data directory's segments, records and index
//	eventsql hash-password  print a password's hashed form for --user
//	eventsql version  print the version
//
// Every flag can also be set with an environment variable (EVENTSQL_ and
// the flag name in upper case with '-' as '_', e.g. EVENTSQL_DATA) or in
// a config file given with --config (one "flag value" per line); flags on
// the command line win over the environment, which wins over the file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Set at build time with -ldflags "-X main.version=... -X main.build=...".
var (
	version = "0.1.0-dev"
	build   = "unknown"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the server", runServe},
		{"import", "bulk-import NDJSON events (--server URL or --data DIR)", runImport},
		{"export", "write a Parquet snapshot (--out DIR, --data DIR or --server URL)", runExport},
		{"inspect", "dump a data directory (segments, records, index)", runInspect},
		{"hash-password", "print the hashed form of a password read from stdin", runHashPassword},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "eventsql:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: eventsql <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'eventsql <command> -h' for a command's flags.")
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "eventsql version %s (build %s)\n", version, build)
	return nil
}
