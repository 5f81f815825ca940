package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/export"
	"github.com/eventsql/eventsql/httpfront"
	"github.com/eventsql/eventsql/sqlfront"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := engine.DefaultOptions()
	var (
		dataDir      = fs.String("data", "./eventsql-data", "data directory (created if missing)")
		httpAddr     = fs.String("http", "127.0.0.1:2113", "HTTP listen address")
		mysqlAddr    = fs.String("mysql", "127.0.0.1:3306", "MySQL-protocol (SQL) listen address; \"off\" disables SQL")
		queryTimeout = fs.Duration("query-timeout", 0, "cancel SQL queries running longer than this (0: no limit)")
		nativeAggs   = fs.Bool("sql-native-aggregates", true, "answer common SQL aggregates natively (index counts, scans on every core) and check simple filters in scans; false leaves them all to go-mysql-server")
		adminPass    = fs.String("admin-password", httpfront.DefaultAdminPassword, "password of the admin user (the default is refused on non-loopback addresses)")
		usersFile    = fs.String("users-file", "", "file of users, one name:role:password a line (role reader, writer or admin; password may be a hash from eventsql hash-password)")
		tlsCert      = fs.String("tls-cert", "", "serve HTTPS with this PEM certificate (needs --tls-key)")
		tlsKey       = fs.String("tls-key", "", "PEM private key of --tls-cert")
		userSpecs    stringList
		corsOrigins  stringList
		_            = fs.String("config", "", "config file: one \"flag value\" per line")
		logLevel     = fs.String("log-level", "info", "log level: debug, info, warn, error")
		logFormat    = fs.String("log-format", "text", "log format: text or json")
		exportEvery  = fs.Duration("export-every", 0, "export a Parquet snapshot to --export-dir this often, e.g. 10m (0: never)")
		exportDir    = fs.String("export-dir", "", "directory of the periodic Parquet export (docs/export.md)")
		segmentSize  = byteSize(d.SegmentSize)
		maxEventSize = byteSize(d.MaxEventSize)
		indexCache   = byteSize(d.IndexCacheSize)
		sqlMemory    = byteSize(sqlfront.DefaultSQLMemoryLimit())
		indexWarmup  = fs.Bool("index-warmup", true, "after opening the store, read the index into --index-cache in the background at the lowest CPU priority")
	)
	fs.Var(&userSpecs, "user", "add a user as name:role:password (repeatable; password may be a hash from eventsql hash-password)")
	fs.Var(&corsOrigins, "cors-origin", "let web pages from this origin call the HTTP API (CORS), e.g. https://app.example.com, or * for any (repeatable or comma-separated; default: none)")
	fs.Var(&segmentSize, "segment-size", "log segment file size")
	fs.Var(&maxEventSize, "max-event-size", "largest event accepted (data + metadata)")
	fs.Var(&indexCache, "index-cache", "index block cache size")
	fs.Var(&sqlMemory, "sql-memory-limit", "server heap above which SQL queries that hold rows in memory (ORDER BY an unindexed column, GROUP BY, DISTINCT, hash joins) fail with ERROR 1037 (default: a quarter of the machine's memory)")
	sources, err := parseFlagSources(fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected arguments %q", fs.Args())
	}
	logger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	quietSQLEngineLogs(*logLevel)
	users, err := configureUsers(*adminPass, *usersFile, userSpecs, sources)
	if err != nil {
		return err
	}
	if err := httpfront.CheckListenAddress(*httpAddr, users); err != nil {
		return err
	}
	if *mysqlAddr != "off" {
		if err := httpfront.CheckListenAddress(*mysqlAddr, users); err != nil {
			return fmt.Errorf("--mysql: %w", err)
		}
	}
	origins, err := httpfront.ParseCORSOrigins(corsOrigins)
	if err != nil {
		return fmt.Errorf("--cors-origin: %w", err)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	switch {
	case *exportEvery < 0:
		return fmt.Errorf("--export-every %s: want a positive duration such as 10m", *exportEvery)
	case *exportEvery > 0 && *exportDir == "":
		return fmt.Errorf("--export-every needs --export-dir")
	case *exportEvery == 0 && *exportDir != "":
		return fmt.Errorf("--export-dir needs --export-every (for exports on demand use POST /export or eventsql export)")
	}
	var sqlTLS *tls.Config
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		sqlTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	opts := engine.DefaultOptions()
	opts.SegmentSize = int64(segmentSize)
	opts.MaxEventSize = int(maxEventSize)
	opts.MaxAppendSize = max(opts.MaxAppendSize, opts.MaxEventSize+(1<<20))
	opts.IndexCacheSize = int64(indexCache)
	opts.SkipWarmup = !*indexWarmup
	opts.Logger = logger

	start := time.Now()
	store, err := engine.Open(ctx, *dataDir, opts)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()
	st := store.Stats()
	logger.Info("store open", "dir", *dataDir, "store_id", st.StoreID, "events", st.Events, "streams", st.Streams,
		"seconds", time.Since(start).Seconds())

	l, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("listen on --http %s: %w", *httpAddr, err)
	}
	srv := httpfront.New(store, users, httpfront.Options{MaxBodySize: opts.MaxAppendSize, Version: version, Build: build, CORSOrigins: origins},
		logger, func() bool { return true })
	errc := make(chan error, 1)
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
		go func() { errc <- srv.ServeTLS(l, *tlsCert, *tlsKey) }()
	} else {
		go func() { errc <- srv.Serve(l) }()
	}
	logger.Info("serving", "http", l.Addr().String(), "tls", scheme == "https", "version", version)
	fmt.Fprintf(stdout, "eventsql %s serving %s://%s, data in %s (Ctrl-C to stop)\n", version, scheme, l.Addr(), *dataDir)

	var front *sqlfront.Front
	if *mysqlAddr != "off" {
		var accounts []sqlfront.Account
		users.Each(func(name string, role httpfront.Role, native string) {
			if native == "" {
				logger.Warn("user has a sha256: password and cannot log in over SQL", "user", name)
				return
			}
			accounts = append(accounts, sqlfront.Account{Name: name, Admin: role == httpfront.RoleAdmin, NativeHash: native})
		})
		front, err = sqlfront.New(store, accounts, sqlfront.Options{
			Version:                 "8.0.33-eventsql-" + version,
			VersionComment:          "eventsql " + version + " (build " + build + ")",
			QueryTimeout:            *queryTimeout,
			TypeCachePath:           filepath.Join(*dataDir, "typeinfer.json"),
			TLS:                     sqlTLS,
			RequireTLS:              sqlTLS != nil,
			DisableNativeAggregates: !*nativeAggs,
			MemoryLimit:             uint64(sqlMemory),
			MaxAllowedPacket:        int64(opts.MaxAppendSize), // 64 MiB, or more for a larger --max-event-size
		}, logger)
		if err != nil {
			return err
		}
		ml, err := net.Listen("tcp", *mysqlAddr)
		if err != nil {
			return fmt.Errorf("listen on --mysql %s: %w", *mysqlAddr, err)
		}
		go func() { errc <- front.Serve(ml) }()
		logger.Info("serving SQL", "mysql", ml.Addr().String())
		fmt.Fprintf(stdout, "eventsql %s serving SQL (MySQL protocol) on %s\n", version, ml.Addr())
	}

	exportCtx, stopExport := context.WithCancel(ctx)
	exportDone := make(chan struct{})
	if *exportEvery > 0 {
		go func() {
			defer close(exportDone)
			export.Every(exportCtx, store, *exportEvery, export.Options{Dir: *exportDir, Version: version, Build: build, Logger: logger}, logger)
		}()
		logger.Info("periodic export", "every", exportEvery.String(), "dir", *exportDir)
	} else {
		close(exportDone)
	}
	defer func() { stopExport(); <-exportDone }()

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	}
	stopExport()
	<-exportDone
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	if front != nil {
		if err := front.Close(); err != nil {
			logger.Warn("sql shutdown", "err", err)
		}
	}
	if err := store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// configureUsers builds the user set from --admin-password, --users-file
// and --user. A name may be defined once (the default admin, when no
// --admin-password is set, may be redefined once), and some user must be
// an admin; errors name the user and the sources.
func configureUsers(adminPass, usersFile string, specs []string, sources map[string]string) (*httpfront.Users, error) {
	users := httpfront.NewUsers(adminPass)
	if src, ok := sources["admin-password"]; ok {
		users.AdminPasswordFrom(flagSource("admin-password", src))
	}
	if usersFile != "" {
		if err := users.LoadFile(usersFile); err != nil {
			return nil, err
		}
	}
	src := flagSource("user", sources["user"])
	for _, spec := range specs {
		if err := users.AddSpec(spec, src); err != nil {
			if errors.As(err, new(*httpfront.DuplicateUserError)) {
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w", src, err)
		}
	}
	if err := users.CheckAdmin(); err != nil {
		return nil, err
	}
	return users, nil
}

// flagSource names a flag's source for error messages: "--user on the
// command line", "EVENTSQL_USER", "user in config file F".
func flagSource(name, source string) string {
	switch {
	case source == "the command line":
		return "--" + name + " on the command line"
	case strings.HasPrefix(source, "config file "):
		return name + " in " + source
	}
	return source
}
