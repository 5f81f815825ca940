package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/peterbourgon/ff/v3"
	"github.com/sirupsen/logrus"
)

// parseFlags parses args, then EVENTSQL_* environment variables, then the
// file named by --config (when the command has that flag): command-line
// flags win over the environment, which wins over the file.
func parseFlags(fs *flag.FlagSet, args []string) error {
	opts := []ff.Option{ff.WithEnvVarPrefix("EVENTSQL")}
	if fs.Lookup("config") != nil {
		opts = append(opts, ff.WithConfigFileFlag("config"), ff.WithConfigFileParser(ff.PlainParser))
	}
	return ff.Parse(fs, args, opts...)
}

// parseArgs is parseFlags for commands that take arguments: flags may
// also follow them, as in "eventsql inspect DIR --records" (the flag
// package stops at the first argument). It returns the arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	var pos []string
	for rest := fs.Args(); len(rest) > 0; rest = fs.Args() {
		pos = append(pos, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return nil, err
		}
	}
	return pos, nil
}

// byteSize is a flag value in bytes that accepts KiB/MiB/GiB (and KB/MB/GB
// as the same binary units) suffixes: "256MiB", "16MB", "4096".
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	v := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a size (examples: 4096, 64KiB, 256MiB, 1GiB)", s)
	}
	*b = byteSize(n * mult)
	return nil
}

// newLogger builds the process logger from --log-level and --log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	ho := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// quietSQLEngineLogs turns down go-mysql-server's own logger (logrus, a
// process-wide one): it logs every connection and every failed query,
// which clients already see. At debug level everything is kept.
func quietSQLEngineLogs(level string) {
	if level == "debug" {
		logrus.SetLevel(logrus.DebugLevel)
		return
	}
	logrus.SetLevel(logrus.ErrorLevel)
}
