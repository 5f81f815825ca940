//go:build linux

// Command sqlbench asks eventsql's SQL front and MariaDB the same queries
// over the same generated events, in one run, through go-sql-driver/mysql
// on loopback sockets, and prints both columns and their ratio:
//
//	stream lookup, 100-row position range, COUNT(*), GROUP BY event_type,
//	a type filter with SUM(amount), two JOINs of orders with their
//	payments, and SELECT * of everything (rows/s and server peak RSS).
//
// The events (web shop orders and carts, see gen.go) are generated into a
// fresh store through the bulk import path, then copied as stored into a
// MariaDB table with LOAD DATA LOCAL INFILE. eventsql runs as the built
// binary (`eventsql serve`), so its memory is measured apart from the
// client's; -inprocess runs the SQL front in this process instead, for
// -cpuprofile. Every answer is compared between the two systems; a
// difference fails the run.
//
//	go run ./bench/sqlbench -events 200000              # a quick run
//	go run ./bench/sqlbench -keep                       # 10M events; keep the data for the next run
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/eventsql/eventsql/bench/benchproc"
	"github.com/eventsql/eventsql/bench/benchprof"
	"github.com/eventsql/eventsql/bench/mariadb"
	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
	"github.com/eventsql/eventsql/sqlfront"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sqlbench:", err)
		}
		os.Exit(1)
	}
}

type config struct {
	events       int64
	seed         uint64
	dir          string
	keep         bool
	reps         map[repClass]int
	verify       int
	queryTimeout time.Duration
	bufferPool   string
	indexCache   int64 // bytes; eventsql's --index-cache
	eventsqlBin  string
	inProcess    bool
	install      bool
	out          string
	only         string
	cpuProfile   string
	prepared     bool
}

func parseArgs(args []string) (config, error) {
	cfg := config{reps: map[repClass]int{}}
	fs := flag.NewFlagSet("sqlbench", flag.ContinueOnError)
	fs.Int64Var(&cfg.events, "events", 10_000_000, "events to generate")
	fs.Uint64Var(&cfg.seed, "seed", 1, "generator seed")
	fs.StringVar(&cfg.dir, "dir", "./bench-data", "directory for the data (eventsql store, MariaDB datadir)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the loaded data in -dir and reuse it when -events and -seed match")
	fast := fs.Int("reps", 300, "timed executions of the point queries (stream lookup, position range)")
	slow := fs.Int("slow-reps", 5, "timed executions of the aggregates and JOINs")
	scan := fs.Int("scan-reps", 3, "timed executions of SELECT * of everything")
	fs.IntVar(&cfg.verify, "verify", 20, "argument sets whose results are compared between the systems, per query with arguments")
	fs.DurationVar(&cfg.queryTimeout, "query-timeout", 10*time.Minute, "give up on a query after this long (both servers enforce it too)")
	fs.StringVar(&cfg.bufferPool, "mariadb-buffer-pool", "4G", "MariaDB's innodb_buffer_pool_size")
	indexCache := fs.String("eventsql-index-cache", "", "eventsql's --index-cache (default: the size of -mariadb-buffer-pool, so both cache their indexes within the same budget)")
	fs.StringVar(&cfg.eventsqlBin, "eventsql-bin", "", "eventsql binary to serve with (default: go build ./cmd/eventsql)")
	fs.BoolVar(&cfg.inProcess, "inprocess", false, "serve SQL from this process (for -cpuprofile; peak RSS is then the whole process)")
	noInstall := fs.Bool("no-install", false, "do not apt-get install mariadb-server when it is missing")
	fs.StringVar(&cfg.out, "out", "bench/results/sql-"+time.Now().Format("2006-01-02")+".txt", "also write the report here (\"\" = stdout only)")
	fs.StringVar(&cfg.only, "only", "", "run only the queries whose name contains this")
	fs.BoolVar(&cfg.prepared, "prepared", false, "send queries with arguments as server-side prepared statements on both systems (the Go driver's default without interpolateParams: prepare, execute, close, three round trips); default: arguments interpolated by the client")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "CPU profile of the timed queries (with -inprocess, includes the SQL server)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.events < 1000 {
		return cfg, fmt.Errorf("-events %d: want at least 1000", cfg.events)
	}
	if *fast < 1 || *slow < 1 || *scan < 0 {
		return cfg, errors.New("-reps and -slow-reps must be at least 1, -scan-reps at least 0")
	}
	cfg.reps[repsFast], cfg.reps[repsSlow], cfg.reps[repsScan] = *fast, *slow, *scan
	cfg.install = !*noInstall
	cache := *indexCache
	if cache == "" {
		cache = cfg.bufferPool
	}
	size, err := parseSize(cache)
	if err != nil {
		return cfg, fmt.Errorf("-eventsql-index-cache: %w", err)
	}
	cfg.indexCache = size
	return cfg, nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// dataset is what a load produced; kept next to the data as loaded.json.
type dataset struct {
	Events         int64   `json:"events"`
	Seed           uint64  `json:"seed"`
	Streams        int64   `json:"streams"`
	NDJSONBytes    int64   `json:"ndjsonBytes"`
	ImportSeconds  float64 `json:"importSeconds"`
	LoadSeconds    float64 `json:"mariadbLoadSeconds"`
	IndexSeconds   float64 `json:"mariadbIndexSeconds"`
	StoreBytes     int64   `json:"storeBytes"`
	MariaDBBytes   int64   `json:"mariadbBytes"`
	MariaDBVersion string  `json:"mariadbVersion"`
}

func mariadbSettings(bufferPool string) []string {
	return []string{
		"--innodb-buffer-pool-size=" + bufferPool,
		"--innodb-log-file-size=1G",
		"--innodb-flush-log-at-trx-commit=2", // read benchmark: the load need not fsync per commit
		"--skip-log-bin",
		"--local-infile=1",
		"--skip-name-resolve",
		"--character-set-server=utf8mb4",
		"--max-allowed-packet=256M",
		"--performance-schema=OFF",
		"--query-cache-type=0", // every execution runs the query
		"--query-cache-size=0",
	}
}

func run(ctx context.Context, args []string) (err error) {
	cfg, err := parseArgs(args)
	if err != nil {
		return err
	}
	base, err := filepath.Abs(filepath.Join(cfg.dir, fmt.Sprintf("sql-%d-seed%d", cfg.events, cfg.seed)))
	if err != nil {
		return err
	}
	storeDir, mdDir, marker := filepath.Join(base, "eventsql"), filepath.Join(base, "mariadb"), filepath.Join(base, "loaded.json")
	defer func() {
		if !cfg.keep {
			os.RemoveAll(base)
		}
	}()
	g := newGenerator(cfg.seed, cfg.events)

	var ds dataset
	reuse := false
	if b, rerr := os.ReadFile(marker); cfg.keep && rerr == nil && json.Unmarshal(b, &ds) == nil && ds.Events == cfg.events && ds.Seed == cfg.seed {
		reuse = true
		progress("reusing the data loaded in %s", base)
	} else {
		if err := os.RemoveAll(base); err != nil {
			return err
		}
		if err := os.MkdirAll(base, 0o755); err != nil {
			return err
		}
	}

	progress("starting MariaDB")
	md, err := mariadb.Start(ctx, mdDir, mariadb.Options{Install: cfg.install, Settings: mariadbSettings(cfg.bufferPool),
		Database: "eventsql", Progress: progress})
	if err != nil {
		return fmt.Errorf("MariaDB: %w", err)
	}
	defer func() {
		progress("stopping MariaDB")
		if serr := md.Stop(); err == nil && serr != nil {
			err = serr
		}
	}()

	var store *engine.Store
	if !reuse {
		if store, ds, err = load(ctx, cfg, g, storeDir, md); err != nil {
			return err
		}
		ds.MariaDBVersion = md.Version()
		if err := saveJSON(marker, ds); err != nil {
			return err
		}
	}

	// The server.
	var es system
	switch {
	case cfg.inProcess:
		if store == nil {
			if store, err = openStore(ctx, storeDir, cfg.indexCache); err != nil {
				return err
			}
		}
		stopFront, addr, err := serveInProcess(store)
		if err != nil {
			return err
		}
		defer stopFront()
		es = system{name: "eventsql", pid: os.Getpid(),
			warming: func(context.Context) (bool, error) { return store.Stats().Warming, nil }}
		ec := eventsqlConfig(addr)
		ec.InterpolateParams = !cfg.prepared
		es.db, err = openDB(ec.FormatDSN())
		if err != nil {
			return err
		}
	default:
		if store != nil {
			if err := store.Close(); err != nil {
				return fmt.Errorf("close store: %w", err)
			}
			store = nil
		}
		bin := cfg.eventsqlBin
		if bin == "" {
			progress("go build ./cmd/eventsql")
			binDir := filepath.Join(base, "bin")
			if err := os.MkdirAll(binDir, 0o755); err != nil {
				return err
			}
			if bin, err = benchproc.BuildEventsql(ctx, binDir); err != nil {
				return err
			}
		}
		progress("starting eventsql serve")
		srv, err := startEventsql(ctx, bin, storeDir, filepath.Join(base, "eventsql.log"), cfg.queryTimeout, cfg.indexCache)
		if err != nil {
			return err
		}
		defer func() {
			if serr := srv.stop(); err == nil && serr != nil {
				err = serr
			}
		}()
		es = system{name: "eventsql", pid: srv.pid(), warming: srv.warming}
		ec := srv.config()
		ec.InterpolateParams = !cfg.prepared
		if es.db, err = openDB(ec.FormatDSN()); err != nil {
			return err
		}
	}
	defer es.db.Close()
	if store != nil {
		defer store.Close()
	}
	mdc := md.Config("eventsql")
	mdc.InterpolateParams = !cfg.prepared
	mdc.Params = map[string]string{"max_statement_time": fmt.Sprint(cfg.queryTimeout.Seconds())}
	mdb, err := openDB(mdc.FormatDSN())
	if err != nil {
		return err
	}
	defer mdb.Close()
	ms := system{name: "MariaDB", db: mdb, pid: md.PID()}

	// eventsql fills its in-memory indexes and warms its caches in the
	// background after it opens a store (as MariaDB loads its buffer
	// pool), and MariaDB purges and flushes after a load: let both finish
	// before timing anything.
	settled := map[string]time.Duration{}
	progress("waiting for eventsql to warm its caches")
	warmStart := time.Now()
	for {
		warming, err := es.warming(ctx)
		if err != nil {
			return fmt.Errorf("eventsql warm-up: %w", err)
		}
		if !warming {
			break
		}
		if time.Since(warmStart) > 10*time.Minute {
			progress("eventsql still warming after %v; measuring anyway", time.Since(warmStart).Round(time.Second))
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	warmed := time.Since(warmStart)
	// MariaDB reloads only part of its buffer pool after a restart
	// (innodb_buffer_pool_dump_pct): read the table and both secondary
	// indexes once, so that both systems answer from warm caches.
	progress("warming MariaDB's buffer pool")
	mdWarmStart := time.Now()
	for _, q := range mariadbWarmQueries {
		if _, err := mdb.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("warm MariaDB (%s): %w", q, err)
		}
	}
	mdWarmed := time.Since(mdWarmStart)
	for _, s := range []system{es, ms} {
		progress("waiting for %s to go idle", s.name)
		d, ok := benchproc.WaitIdle(ctx, s.pid, time.Second, 0.05, 5*time.Minute)
		if !ok {
			progress("%s still busy after %v; measuring anyway", s.name, d.Round(time.Second))
		}
		if s.warming != nil {
			d += warmed
		} else {
			d += mdWarmed
		}
		settled[s.name] = d
	}

	rep, err := newReport(cfg, ds, md, settled)
	if err != nil {
		return err
	}
	defer rep.close()
	stopCPU, err := benchprof.CPU(cfg.cpuProfile)
	if err != nil {
		return err
	}
	defer stopCPU()
	opts := runOptions{reps: cfg.reps, verify: cfg.verify, wantRows: cfg.events, seed: cfg.seed}
	var failed []string
	rep.header()
	for _, q := range benchQueries(g, cfg.events, ds.Streams) {
		if cfg.only != "" && !strings.Contains(q.name, cfg.only) || opts.reps[q.reps] == 0 {
			continue
		}
		progress("query: %s", q.name)
		qctx, cancel := context.WithTimeout(ctx, cfg.queryTimeout*time.Duration(2+opts.reps[q.reps]+opts.verify))
		r := runQuery(qctx, q, es, ms, opts)
		cancel()
		rep.row(r)
		if r.mismatch != nil || r.es.Err != nil || r.md.Err != nil {
			failed = append(failed, q.name)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	rep.footer()
	if len(failed) > 0 {
		return fmt.Errorf("failed: %s (see the report)", strings.Join(failed, "; "))
	}
	return nil
}

// load generates the events into a new store and copies them to MariaDB.
func load(ctx context.Context, cfg config, g *generator, storeDir string, md *mariadb.Server) (*engine.Store, dataset, error) {
	ds := dataset{Events: cfg.events, Seed: cfg.seed}
	progress("generating %d events into eventsql (bulk import)", cfg.events)
	store, gs, d, err := loadEventsql(ctx, storeDir, g, cfg.events)
	if err != nil {
		return nil, ds, err
	}
	ds.Streams, ds.NDJSONBytes, ds.ImportSeconds = gs.Streams, gs.Bytes, d.Seconds()
	progress("eventsql: %d events in %.1f s; copying them to MariaDB (LOAD DATA LOCAL INFILE)", gs.Events, d.Seconds())
	ld, id, err := loadMariadb(ctx, md, "eventsql", store)
	if err != nil {
		store.Close()
		return nil, ds, err
	}
	ds.LoadSeconds, ds.IndexSeconds = ld.Seconds(), id.Seconds()
	progress("MariaDB: LOAD DATA %.1f s, indexes %.1f s", ld.Seconds(), id.Seconds())
	ds.StoreBytes = dirSize(storeDir)
	err = md.DB().QueryRowContext(ctx, "SELECT data_length + index_length FROM information_schema.tables WHERE table_schema = 'eventsql' AND table_name = 'events'").Scan(&ds.MariaDBBytes)
	if err != nil {
		store.Close()
		return nil, ds, fmt.Errorf("MariaDB table size: %w", err)
	}
	return store, ds, nil
}

func openStore(ctx context.Context, dir string, indexCache int64) (*engine.Store, error) {
	opts := engine.DefaultOptions()
	opts.IndexCacheSize = indexCache
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := engine.Open(ctx, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// serveInProcess serves SQL for store from this process on a free port.
func serveInProcess(store *engine.Store) (stop func(), addr string, err error) {
	var accounts []sqlfront.Account
	httpfront.NewUsers(httpfront.DefaultAdminPassword).Each(func(name string, role httpfront.Role, native string) {
		accounts = append(accounts, sqlfront.Account{Name: name, Admin: role == httpfront.RoleAdmin, NativeHash: native})
	})
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	front, err := sqlfront.New(store, accounts, sqlfront.Options{Version: "8.0.33-eventsql-sqlbench"}, logger)
	if err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	served := make(chan error, 1)
	go func() { served <- front.Serve(l) }()
	return func() { front.Close(); <-served }, l.Addr().String(), nil
}

func saveJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// dirSize is the bytes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// openDB opens a pool of two connections (one querying, one spare) and
// checks it answers.
func openDB(dsn string) (*sql.DB, error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// parseSize reads a size as MariaDB writes it (4G, 512M, 65536) or with
// eventsql's suffixes (4GiB, 512MB).
func parseSize(s string) (int64, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	v = strings.TrimSuffix(strings.TrimSuffix(v, "B"), "I")
	mult := int64(1)
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			v = v[:n-1]
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size (examples: 4G, 512M, 1GiB)", s)
	}
	return n * mult, nil
}

// mariadbWarmQueries read every page of the MariaDB table: the clustered
// index (rows and their JSON) and the two secondary indexes.
var mariadbWarmQueries = []string{
	"DO (SELECT SUM(LENGTH(data) + LENGTH(metadata)) FROM events)",
	"DO (SELECT COUNT(*) FROM events FORCE INDEX (stream) WHERE stream >= '')",
	"DO (SELECT COUNT(*) FROM events FORCE INDEX (event_type) WHERE event_type >= '')",
}
