package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/peterbourgon/ff/v3"
	"github.com/sirupsen/logrus"
)

// parseFlags parses args, then EVENTSQL_* environment variables, then the
// file named by --config (when the command has that flag): command-line
// flags win over the environment, which wins over the file.
func parseFlags(fs *flag.FlagSet, args []string) error {
	_, err := parseFlagSources(fs, args)
	return err
}

// parseFlagSources is parseFlags that also says where each flag that was
// set came from: "the command line", its environment variable (e.g.
// "EVENTSQL_USER") or "config file PATH". A flag comes from one source
// only, even a repeatable one (the first of the three that gives it).
func parseFlagSources(fs *flag.FlagSet, args []string) (map[string]string, error) {
	// The command line is parsed here, before ff reads the other sources,
	// to know which flags it set; ff then sees them as already given.
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("error parsing commandline arguments: %w", err)
	}
	sources := map[string]string{}
	fs.Visit(func(f *flag.Flag) { sources[f.Name] = "the command line" })
	opts := []ff.Option{ff.WithEnvVarPrefix(envPrefix)}
	if fs.Lookup("config") != nil {
		opts = append(opts, ff.WithConfigFileFlag("config"), ff.WithConfigFileParser(ff.PlainParser))
	}
	// "--" keeps ff from reading the arguments left over as flags again.
	if err := ff.Parse(fs, append([]string{"--"}, fs.Args()...), opts...); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) {
		if _, ok := sources[f.Name]; ok {
			return
		}
		if env := envVar(f.Name); os.Getenv(env) != "" {
			sources[f.Name] = env // ff reads the environment before the file
		} else {
			sources[f.Name] = "config file " + fs.Lookup("config").Value.String()
		}
	})
	return sources, nil
}

const envPrefix = "EVENTSQL"

// envVar is the environment variable of a flag, as ff names it:
// EVENTSQL_ + the name in upper case, '-' as '_'.
func envVar(flagName string) string {
	return envPrefix + "_" + strings.NewReplacer("-", "_", ".", "_", "/", "_").Replace(strings.ToUpper(flagName))
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
