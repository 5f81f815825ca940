package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := engine.DefaultOptions()
	var (
		dataDir      = fs.String("data", "./eventsql-data", "data directory (created if missing)")
		httpAddr     = fs.String("http", "127.0.0.1:2113", "HTTP listen address")
		adminPass    = fs.String("admin-password", httpfront.DefaultAdminPassword, "password of the admin user (the default is refused on non-loopback addresses)")
		usersFile    = fs.String("users-file", "", "file of users, one name:role:password a line (role reader, writer or admin; password may be sha256:HEX)")
		tlsCert      = fs.String("tls-cert", "", "serve HTTPS with this PEM certificate (needs --tls-key)")
		tlsKey       = fs.String("tls-key", "", "PEM private key of --tls-cert")
		userSpecs    stringList
		_            = fs.String("config", "", "config file: one \"flag value\" per line")
		logLevel     = fs.String("log-level", "info", "log level: debug, info, warn, error")
		logFormat    = fs.String("log-format", "text", "log format: text or json")
		segmentSize  = byteSize(d.SegmentSize)
		maxEventSize = byteSize(d.MaxEventSize)
		indexCache   = byteSize(d.IndexCacheSize)
	)
	fs.Var(&userSpecs, "user", "add a user as name:role:password (repeatable; password may be sha256:HEX, see eventsql hash-password)")
	fs.Var(&segmentSize, "segment-size", "log segment file size")
	fs.Var(&maxEventSize, "max-event-size", "largest event accepted (data + metadata)")
	fs.Var(&indexCache, "index-cache", "index block cache size")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected arguments %q", fs.Args())
	}
	logger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	users := httpfront.NewUsers(*adminPass)
	if *usersFile != "" {
		if err := users.LoadFile(*usersFile); err != nil {
			return err
		}
	}
	for _, spec := range userSpecs {
		if err := users.AddSpec(spec); err != nil {
			return fmt.Errorf("--user: %w", err)
		}
	}
	if err := httpfront.CheckListenAddress(*httpAddr, users); err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if *tlsCert != "" {
		if _, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey); err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
	}
	opts := engine.DefaultOptions()
	opts.SegmentSize = int64(segmentSize)
	opts.MaxEventSize = int(maxEventSize)
	opts.MaxAppendSize = max(opts.MaxAppendSize, opts.MaxEventSize+(1<<20))
	opts.IndexCacheSize = int64(indexCache)
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
	srv := httpfront.New(store, users, httpfront.Options{MaxBodySize: opts.MaxAppendSize},
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

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	if err := store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	logger.Info("stopped")
	return nil
}
