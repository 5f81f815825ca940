//go:build linux

// Command httpbench measures eventsql's HTTP API side by side with
// MariaDB (and DuckDB for bulk import) in one run, on the same generated
// events.
//
//	go run ./bench/httpbench [-scenarios append64x100,append16x1,import]
//	    [-systems eventsql,mariadb,duckdb] [-duration 10s] [-import-size 1GB]
//	    [-dir ./bench-data] [-json FILE] [-server binary|inprocess]
//	    [-cpuprofile FILE] [-trace FILE] [-http-client raw|nethttp]
//	    [-seed 1] [-no-install]
//
// Run it from the repository root: it builds ./cmd/eventsql and starts
// `eventsql serve` on a fresh data directory and a free loopback port for
// each scenario (the default admin password, accepted on loopback), and
// stops it after. With -server inprocess the engine and HTTP front run
// inside this process instead, so -cpuprofile profiles the server (and
// the load generator with it).
//
// It starts a private MariaDB (Debian's mariadbd) on a temp datadir, a
// free loopback port and its own socket and pid files, with durable
// settings (see mariadbSettings), and stops it at the end, also on error
// or Ctrl-C. When mariadbd is missing it INSTALLS Debian's mariadb-server
// with apt-get (root or sudo); for the import baseline it installs node
// and npm from Debian and the npm package @duckdb/node-api into -node-dir
// when they are missing. -no-install forbids installing.
//
// Scenarios (each system starts from an empty store/table):
//
//	appendCxB  C clients, each POSTing batches of B events to its own
//	           streams (ES-ExpectedVersion any) back to back for -duration;
//	           MariaDB: C connections, each a B-row INSERT (autocommit)
//	import     bulk load of a generated NDJSON file of -import-size:
//	           eventsql POST /import; MariaDB LOAD DATA LOCAL INFILE of the
//	           same events as TSV; DuckDB CREATE TABLE AS read_ndjson
//
// Every event is a pure function of the seed and its key (events.go), so
// the HTTP bodies, the SQL rows and the files carry the same events.
// The report goes to stdout; progress to stderr. All data lives in a fresh
// directory under -dir, removed at the end: keep -dir on the disk to
// measure (os.TempDir is tmpfs on some machines, hence ./bench-data).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/eventsql/eventsql/bench/benchenv"
	"github.com/eventsql/eventsql/bench/benchfmt"
	"github.com/eventsql/eventsql/bench/benchproc"
	"github.com/eventsql/eventsql/bench/benchprof"
	"github.com/eventsql/eventsql/bench/duckdbnode"
	"github.com/eventsql/eventsql/bench/rawdisk"
)

var allSystems = []string{"eventsql", "mariadb", "duckdb"}

const defaultScenarios = "append64x100,append16x1,import"

type config struct {
	dir             string
	duration        time.Duration
	rawDuration     time.Duration
	rounds          int
	importSize      int64
	importPerStream int
	scenarios       []scenarioSpec
	systems         map[string]bool
	jsonPath        string
	cpuProfile      string
	tracePath       string
	httpClient      string
	server          string
	eventsqlBin     string
	nodeDir         string
	seed            uint64
	install         bool
}

// scenarioSpec is a parsed -scenarios entry.
type scenarioSpec struct {
	name           string
	clients, batch int // append scenarios
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
	}()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "httpbench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var cfg config
	var scenarios, systems, importSize string
	var noInstall bool
	fs := flag.NewFlagSet("httpbench", flag.ContinueOnError)
	fs.StringVar(&cfg.dir, "dir", "./bench-data", "directory for the data (a fresh subdirectory, removed afterwards); must be on the disk to measure")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "duration of each append scenario per system")
	fs.IntVar(&cfg.rounds, "rounds", 1, "measure each append scenario this many times per system, alternating eventsql and MariaDB (-duration each), and pool the figures")
	fs.DurationVar(&cfg.rawDuration, "raw-duration", 2*time.Second, "duration of the raw write+fdatasync measurement at the start (0: skip)")
	fs.StringVar(&importSize, "import-size", "1GB", "size of the generated NDJSON file for the import scenario (e.g. 1GB, 200MB)")
	fs.IntVar(&cfg.importPerStream, "import-stream-events", 100, "events per stream in the import file")
	fs.StringVar(&scenarios, "scenarios", defaultScenarios, "comma-separated scenarios: appendCxB (C clients, batches of B) and import")
	fs.StringVar(&systems, "systems", strings.Join(allSystems, ","), "comma-separated systems to run: "+strings.Join(allSystems, ","))
	fs.StringVar(&cfg.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of this process over the whole run (with -server inprocess it includes the server; add -systems eventsql to see it alone)")
	fs.StringVar(&cfg.tracePath, "trace", "", "write a runtime execution trace of this process over the whole run (with -server inprocess it includes the server; large: use a short -duration)")
	fs.StringVar(&cfg.httpClient, "http-client", "raw", "load generator's HTTP client for appends: raw (one keep-alive connection per client, one write per request: lean, like MariaDB's driver) or nethttp (net/http's Transport)")
	fs.StringVar(&cfg.server, "server", "binary", "how to run eventsql: binary (go build ./cmd/eventsql, one process per scenario) or inprocess")
	fs.StringVar(&cfg.eventsqlBin, "eventsql-bin", "", "use this eventsql binary instead of building one")
	fs.StringVar(&cfg.nodeDir, "node-dir", "bench/.node", "where the DuckDB npm package is installed")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the event generator")
	fs.BoolVar(&noInstall, "no-install", false, "never install mariadb-server, nodejs/npm or the DuckDB package")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: go run ./bench/httpbench [flags]   (from the repository root)

Measures eventsql's HTTP appends and bulk import side by side with MariaDB
(and DuckDB for the import) on the same generated events, in one run.
It builds and starts eventsql, and starts a private MariaDB on a temp
datadir and loopback port; all are stopped and their data removed at the
end. When missing, it INSTALLS Debian's mariadb-server (and nodejs, npm)
with apt-get and the npm package `+duckdbnode.Package+` into -node-dir;
-no-install forbids that.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	cfg.install = !noInstall
	var err error
	if cfg.importSize, err = parseSize(importSize); err != nil {
		return cfg, fmt.Errorf("-import-size: %w", err)
	}
	if cfg.scenarios, err = parseScenarios(scenarios); err != nil {
		return cfg, err
	}
	cfg.systems = map[string]bool{}
	for _, s := range strings.Split(systems, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allSystems, s) {
			return cfg, fmt.Errorf("unknown system %q (want some of %s)", s, strings.Join(allSystems, ","))
		}
		cfg.systems[s] = true
	}
	switch {
	case len(cfg.systems) == 0:
		return cfg, errors.New("no system selected")
	case cfg.duration <= 0:
		return cfg, errors.New("-duration must be positive")
	case cfg.rounds < 1 || cfg.rounds > 16:
		return cfg, errors.New("-rounds must be 1 to 16")
	case cfg.importSize <= 0 || cfg.importPerStream <= 0:
		return cfg, errors.New("-import-size and -import-stream-events must be positive")
	case cfg.httpClient != "raw" && cfg.httpClient != "nethttp":
		return cfg, fmt.Errorf("-http-client %q: want raw or nethttp", cfg.httpClient)
	case cfg.server != "binary" && cfg.server != "inprocess":
		return cfg, fmt.Errorf("-server %q: want binary or inprocess", cfg.server)
	}
	return cfg, nil
}

// parseScenarios parses "append64x100,append16x1,import".
func parseScenarios(s string) ([]scenarioSpec, error) {
	var out []scenarioSpec
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			continue
		case f == "import":
			out = append(out, scenarioSpec{name: f})
			continue
		}
		cb, ok := strings.CutPrefix(f, "append")
		c, b, ok2 := strings.Cut(cb, "x")
		clients, err1 := strconv.Atoi(c)
		batch, err2 := strconv.Atoi(b)
		if !ok || !ok2 || err1 != nil || err2 != nil || clients <= 0 || batch <= 0 || clients >= 1<<(keyScenarioShift-keyClientShift) {
			return nil, fmt.Errorf("unknown scenario %q: want appendCxB (e.g. append64x100) or import", f)
		}
		out = append(out, scenarioSpec{name: f, clients: clients, batch: batch})
	}
	if len(out) == 0 {
		return nil, errors.New("no scenario selected")
	}
	return out, nil
}

// parseSize parses a byte count with an optional KB/MB/GB (1e3 powers) or
// KiB/MiB/GiB suffix.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("size %q: want e.g. 1GB, 200MB or 1073741824", s)
	}
	return int64(v * float64(mult)), nil
}

// progress reports what is running to stderr, keeping stdout for the report.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// bench holds what a run shares between scenarios.
type bench struct {
	cfg     config
	runDir  string
	bin     string // eventsql binary; "" for in-process
	gen     *Gen
	mariadb *mariadbServer
	tab     *table
	rep     *Report
}

func run(ctx context.Context, cfg config) (err error) {
	_, statErr := os.Stat(cfg.dir)
	createdBase := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return err
	}
	runDir, err := os.MkdirTemp(cfg.dir, "http-*")
	if err != nil {
		return err
	}
	if runDir, err = filepath.Abs(runDir); err != nil {
		return err
	}
	defer func() {
		os.RemoveAll(runDir)
		if createdBase {
			os.Remove(cfg.dir) // only if empty
		}
	}()

	b := &bench{cfg: cfg, runDir: runDir, gen: NewGen(cfg.seed), tab: &table{w: os.Stdout}}
	b.rep = &Report{Env: environment(cfg, runDir), Started: time.Now()}
	if cfg.systems["eventsql"] {
		switch {
		case cfg.server == "inprocess":
			b.rep.Env.EventsqlServer = "in-process engine + httpfront (peak RSS is this whole process)"
		case cfg.eventsqlBin != "":
			b.bin = cfg.eventsqlBin
		default:
			progress("go build ./cmd/eventsql")
			if b.bin, err = benchproc.BuildEventsql(ctx, runDir); err != nil {
				return err
			}
		}
		if b.bin != "" {
			b.rep.Env.EventsqlServer = "binary `eventsql serve` (a fresh process and data directory per scenario)"
		}
	}
	needMariaDB := cfg.systems["mariadb"]
	if needMariaDB {
		progress("starting MariaDB")
		if b.mariadb, err = startMariadb(ctx, runDir, cfg.install); err != nil {
			return fmt.Errorf("MariaDB: %w", err)
		}
		defer func() {
			progress("stopping MariaDB")
			if serr := b.mariadb.stop(); err == nil && serr != nil {
				err = serr
			}
		}()
		b.rep.Env.MariaDBVersion = b.mariadb.version()
		b.rep.Env.MariaDBSettings = b.mariadb.SettingsString()
		b.rep.Env.MariaDBSchema = mariadbSchema
	}

	stopCPU, err := benchprof.CPU(cfg.cpuProfile)
	if err != nil {
		return err
	}
	defer stopCPU()
	stopTrace, err := benchprof.Trace(cfg.tracePath)
	if err != nil {
		return err
	}
	defer stopTrace()

	if cfg.rawDuration > 0 {
		progress("raw disk: write+fdatasync of one record at a time, %v", cfg.rawDuration)
		r, err := rawdisk.Measure(ctx, rawdisk.Config{Dir: runDir, RecordSize: 300, SyncEvery: 1, Duration: cfg.rawDuration})
		if err != nil {
			return fmt.Errorf("raw disk: %w", err)
		}
		b.rep.Env.RawFsync = &RawFsync{RecordSize: r.RecordSize, PerSec: r.RecordsPerSec, P50Ms: ms(r.SyncP50), P99Ms: ms(r.SyncP99)}
	}
	b.tab.header(b.rep.Env)
	for i, spec := range cfg.scenarios {
		num := i + 1 // the key space of the scenario's events
		if num >= 1<<(64-keyScenarioShift-4) {
			return errors.New("too many scenarios")
		}
		var sc *Scenario
		if spec.name == "import" {
			sc, err = b.runImport(ctx, num)
		} else {
			sc, err = b.runAppend(ctx, num, spec)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", spec.name, err)
		}
		b.rep.Scenarios = append(b.rep.Scenarios, *sc)
	}
	b.rep.Finished = time.Now()
	b.tab.footer(b.rep)
	if cfg.jsonPath != "" {
		if err := benchenv.WriteJSON(cfg.jsonPath, b.rep); err != nil {
			return err
		}
	}
	return nil
}

// appendTargets are the targets for eventsql's append scenarios.
var appendTargets = map[string]struct {
	text  string
	check func(*SystemResult) bool
}{
	"append64x100": {"≥ 300k events/s", func(r *SystemResult) bool { return r.EventsPerSec >= 300e3 }},
	"append16x1":   {"≥ 10k events/s, p99 ≤ 5 ms", func(r *SystemResult) bool { return r.EventsPerSec >= 10e3 && r.P99Ms <= 5 }},
}

// runAppend runs one append scenario: -rounds rounds, each measuring
// eventsql then MariaDB from empty for -duration, so that what else runs on
// a shared machine weighs on both alike; the rounds' figures are pooled.
func (b *bench) runAppend(ctx context.Context, num int, spec scenarioSpec) (*Scenario, error) {
	sc := &Scenario{Name: spec.name, Title: fmt.Sprintf("append %dx%d", spec.clients, spec.batch), Clients: spec.clients, Batch: spec.batch}
	if t, ok := appendTargets[spec.name]; ok {
		sc.Target = t.text
	}
	var es, ms []measured
	for round := range b.cfg.rounds {
		keys := num<<4 | round // each round's events have their own ids
		if b.cfg.systems["eventsql"] {
			progress("%s round %d/%d: eventsql, %d clients x %d events, %v", sc.Title, round+1, b.cfg.rounds, spec.clients, spec.batch, b.cfg.duration)
			m, err := b.appendEventsql(ctx, keys, spec)
			if err != nil {
				return nil, fmt.Errorf("eventsql: %w", err)
			}
			es = append(es, m)
		}
		if b.mariadb != nil {
			progress("%s round %d/%d: MariaDB, %d connections x %d-row INSERT, %v", sc.Title, round+1, b.cfg.rounds, spec.clients, spec.batch, b.cfg.duration)
			m, err := b.appendMariaDB(ctx, keys, spec)
			if err != nil {
				return nil, fmt.Errorf("MariaDB: %w", err)
			}
			ms = append(ms, m)
		}
	}
	for _, r := range []SystemResult{pool("eventsql", "requests", es), pool("mariadb", "INSERTs", ms)} {
		if r.Requests > 0 {
			sc.Results = append(sc.Results, r)
			b.tab.system(sc, r)
		}
	}
	var check func(*SystemResult) bool
	if t, ok := appendTargets[spec.name]; ok {
		check = t.check
	}
	sc.relate(check)
	b.tab.ratios(sc)
	return sc, nil
}

// measured is one system's measurement in one round.
type measured struct {
	load  loadResult
	cpu   CPUUse
	rss   int64
	extra string // the in-process engine's fsync counters
}

// pool merges a system's rounds: totals, latencies of all requests, CPU
// weighted by time, the highest peak RSS.
func pool(system, unit string, rounds []measured) SystemResult {
	var all loadResult
	var cpu CPUUse
	var rss int64
	var extras []string
	for _, m := range rounds {
		all.requests += m.load.requests
		all.events += m.load.events
		all.bytes += m.load.bytes
		all.elapsed += m.load.elapsed
		all.lats = append(all.lats, m.load.lats...)
		w := m.load.elapsed.Seconds()
		cpu.Server += m.cpu.Server * w
		cpu.Client += m.cpu.Client * w
		cpu.Machine += m.cpu.Machine * w
		rss = max(rss, m.rss)
		if m.extra != "" {
			extras = append(extras, m.extra)
		}
	}
	if all.requests == 0 {
		return SystemResult{System: system}
	}
	slices.Sort(all.lats)
	r := all.result(system)
	t := all.elapsed.Seconds()
	cpu.Server, cpu.Client, cpu.Machine = cpu.Server/t, cpu.Client/t, cpu.Machine/t
	r.CPU = &cpu
	// CPU per request is steadier than rates on a shared machine.
	r.ServerCPUMicrosPerRequest = cpu.Server * t / float64(all.requests) * 1e6
	r.ClientCPUMicrosPerRequest = cpu.Client * t / float64(all.requests) * 1e6
	r.PeakRSSBytes = rss
	r.Notes = fmt.Sprintf("%s %s", benchfmt.Count(float64(r.Requests)), unit)
	if len(rounds) > 1 {
		r.Notes += fmt.Sprintf(" in %d rounds", len(rounds))
	}
	if len(extras) > 0 {
		r.Notes += ", " + strings.Join(extras, "; ")
	}
	return r
}

func (b *bench) appendEventsql(ctx context.Context, keys int, spec scenarioSpec) (measured, error) {
	var m measured
	srv, err := startEventsql(ctx, b.bin, b.runDir, spec.name)
	if err != nil {
		return m, err
	}
	defer srv.stop()
	benchproc.ResetPeakRSS(srv.pid())
	hc := httpClient(spec.clients)
	defer hc.CloseIdleConnections()
	var raw *rawConns
	if b.cfg.httpClient == "raw" {
		raw = &rawConns{}
		defer raw.closeAll()
	}
	c0 := sampleCPU(srv.pid())
	if m.load, err = drive(ctx, spec.clients, b.cfg.duration, eventsqlAppender(srv, hc, raw, b.gen, keys, spec.batch)); err != nil {
		return m, err
	}
	m.cpu = c0.until(sampleCPU(srv.pid()))
	m.rss = benchproc.StatusBytes(srv.pid(), "VmHWM")
	// Every request, warm-ups included, must have landed.
	head, err := srv.head(ctx)
	if err != nil {
		return m, err
	}
	if want := uint64(m.load.events) + uint64(spec.clients*spec.batch); head != want {
		return m, fmt.Errorf("store head is %d, clients wrote %d events", head, want)
	}
	if srv.store != nil { // in-process: the engine's own counters
		st := srv.store.Stats()
		m.extra = fmt.Sprintf("%s fsyncs (avg %s ms, max %s ms, %s events each)", benchfmt.Count(float64(st.Fsyncs)),
			benchfmt.Num(ms(st.FsyncAvg)), benchfmt.Num(ms(st.FsyncMax)), benchfmt.Num(float64(st.Events)/float64(max(1, st.Fsyncs))))
	}
	return m, srv.stop()
}

func (b *bench) appendMariaDB(ctx context.Context, keys int, spec scenarioSpec) (measured, error) {
	var m measured
	if err := b.mariadb.resetTable(ctx); err != nil {
		return m, err
	}
	benchproc.ResetPeakRSS(b.mariadb.pid())
	db, err := b.mariadb.openPool(spec.clients)
	if err != nil {
		return m, err
	}
	defer db.Close()
	stmt, err := db.PrepareContext(ctx, insertSQL(spec.batch))
	if err != nil {
		return m, fmt.Errorf("prepare INSERT: %w", err)
	}
	defer stmt.Close()
	c0 := sampleCPU(b.mariadb.pid())
	if m.load, err = drive(ctx, spec.clients, b.cfg.duration, mariadbAppender(stmt, b.gen, keys, spec.batch)); err != nil {
		return m, err
	}
	m.cpu = c0.until(sampleCPU(b.mariadb.pid()))
	m.rss = benchproc.StatusBytes(b.mariadb.pid(), "VmHWM")
	n, err := b.mariadb.count(ctx)
	if err != nil {
		return m, err
	}
	if want := m.load.events + int64(spec.clients*spec.batch); n != want {
		return m, fmt.Errorf("table holds %d rows, clients inserted %d", n, want)
	}
	return m, nil
}
