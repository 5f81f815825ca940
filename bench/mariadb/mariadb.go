//go:build linux

// Package mariadb runs a private MariaDB server for the benchmarks that
// compare eventsql with it: Debian's mariadb-server (installed with
// apt-get when missing), a datadir of its own, a free loopback port, root
// over TCP without a password, stopped with SIGTERM.
package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/eventsql/eventsql/bench/benchproc"
)

// Options configure Start.
type Options struct {
	// Install runs apt-get install mariadb-server when mariadbd is missing.
	Install bool
	// Settings are the server's options besides paths and port (see
	// DurableSettings).
	Settings []string
	// Database is created when missing ("" = none).
	Database string
	// Progress, when set, is told about slow steps (installing).
	Progress func(format string, args ...any)
}

// DurableSettings are the options of the append benchmarks: durable (the
// redo log is flushed and fsynced at every commit, like eventsql's fsync
// before acknowledging; no binary log, so no sync_binlog), a 1 GiB buffer
// pool, and a redo log large enough that checkpoints do not throttle the
// runs.
var DurableSettings = []string{
	"--innodb-flush-log-at-trx-commit=1",
	"--innodb-buffer-pool-size=1G",
	"--innodb-log-file-size=1G",
	"--innodb-flush-method=O_DIRECT",
	"--skip-log-bin",
	"--max-connections=300",
	"--local-infile=1",
	"--skip-name-resolve",
	"--character-set-server=utf8mb4",
	"--max-allowed-packet=256M",
	"--performance-schema=OFF",
}

// Server is a private mariadbd on a datadir and a free loopback port.
type Server struct {
	dir      string
	version  string
	addr     string
	settings []string
	proc     *benchproc.Child
	db       *sql.DB // root over TCP, for setup
}

// Find returns mariadbd (or mysqld) and mariadb-install-db, installing
// Debian's mariadb-server when they are missing and install is set.
func Find(ctx context.Context, install bool, progress func(string, ...any)) (server, installDB string, err error) {
	look := func() (string, string) {
		var s, i string
		for _, n := range []string{"mariadbd", "mysqld"} {
			if s = benchproc.LookPath(n); s != "" {
				break
			}
		}
		for _, n := range []string{"mariadb-install-db", "mysql_install_db"} {
			if i = benchproc.LookPath(n); i != "" {
				break
			}
		}
		return s, i
	}
	if server, installDB = look(); server != "" && installDB != "" {
		return server, installDB, nil
	}
	if !install {
		return "", "", errors.New("mariadbd or mariadb-install-db not found (apt-get install mariadb-server, or drop -no-install)")
	}
	if progress != nil {
		progress("installing mariadb-server with apt-get")
	}
	if err := AptInstall(ctx, "mariadb-server"); err != nil {
		return "", "", err
	}
	if server, installDB = look(); server == "" || installDB == "" {
		return "", "", errors.New("mariadb-server installed but mariadbd or mariadb-install-db still not found")
	}
	return server, installDB, nil
}

// AptInstall installs Debian packages (needs root or sudo).
func AptInstall(ctx context.Context, pkgs ...string) error {
	var prefix []string
	if os.Geteuid() != 0 {
		prefix = []string{"sudo"}
	}
	run := func(args ...string) error {
		args = append(prefix, args...)
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("apt-get", "update", "-qq"); err != nil {
		return err
	}
	return run(append([]string{"apt-get", "install", "-y", "-qq"}, pkgs...)...)
}

// Start starts mariadbd on dir/data, initializing the datadir first when
// it does not exist yet (an existing one is reused with its tables). Stop
// shuts it down; the caller removes dir.
func Start(ctx context.Context, dir string, opts Options) (s *Server, err error) {
	bin, installDB, err := Find(ctx, opts.Install, opts.Progress)
	if err != nil {
		return nil, err
	}
	m := &Server{dir: dir, settings: opts.Settings}
	dataDir := filepath.Join(m.dir, "data")
	user := []string{}
	if os.Geteuid() == 0 {
		user = []string{"--user=root"} // mariadbd refuses to run as root otherwise
	}
	if _, err := os.Stat(filepath.Join(dataDir, "mysql")); err != nil {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, err
		}
		initArgs := append([]string{"--no-defaults", "--datadir=" + dataDir, "--auth-root-authentication-method=normal", "--skip-test-db"}, user...)
		if out, err := exec.CommandContext(ctx, installDB, initArgs...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", installDB, err, out)
		}
	}
	// Unix socket paths are limited to 107 bytes.
	sock := filepath.Join(m.dir, "mysqld.sock")
	if len(sock) > 100 {
		sdir, err := os.MkdirTemp("", "bench-mysql-")
		if err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				os.RemoveAll(sdir)
			}
		}()
		sock = filepath.Join(sdir, "mysqld.sock")
	}
	if m.addr, err = benchproc.FreeAddr(); err != nil {
		return nil, err
	}
	_, port, _ := strings.Cut(m.addr, ":")
	args := append([]string{"--no-defaults", "--datadir=" + dataDir, "--socket=" + sock,
		"--pid-file=" + filepath.Join(m.dir, "mysqld.pid"), "--log-error=" + m.logPath(),
		"--bind-address=127.0.0.1", "--port=" + port}, user...)
	args = append(args, opts.Settings...)
	if m.proc, err = benchproc.StartChild(benchproc.ChildSpec{Name: "mariadbd", Bin: bin, Args: args, Log: m.logPath()}); err != nil {
		return nil, err
	}
	if err := m.connect(ctx, opts.Database); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

func (m *Server) logPath() string { return filepath.Join(m.dir, "error.log") }

// DSN is root's DSN over loopback TCP (root@127.0.0.1 has no password on
// a datadir made with --auth-root-authentication-method=normal).
func (m *Server) DSN(db string) string { return m.Config(db).FormatDSN() }

// Config is root's driver configuration for database db.
func (m *Server) Config(db string) *mysql.Config {
	c := mysql.NewConfig()
	c.User = "root"
	c.Net = "tcp"
	c.Addr = m.addr
	c.DBName = db
	c.AllowNativePasswords = true
	return c
}

// connect waits up to 60 s for the server, then creates the database.
func (m *Server) connect(ctx context.Context, database string) error {
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err = db.PingContext(ctx)
		if err == nil {
			break
		}
		select {
		case <-m.proc.Exited():
			db.Close()
			return m.proc.ExitedEarly()
		case <-ctx.Done():
			db.Close()
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			db.Close()
			return fmt.Errorf("mariadbd not answering after 60s: %w", err)
		}
	}
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&m.version); err != nil {
		db.Close()
		return fmt.Errorf("SELECT VERSION(): %w", err)
	}
	if database != "" {
		if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+database+"`"); err != nil {
			db.Close()
			return fmt.Errorf("CREATE DATABASE: %w", err)
		}
	}
	m.db = db
	return nil
}

// DB is root's connection pool without a current database.
func (m *Server) DB() *sql.DB { return m.db }

// Version is the server's VERSION().
func (m *Server) Version() string { return m.version }

// Addr is the server's loopback address.
func (m *Server) Addr() string { return m.addr }

// PID is mariadbd's process id.
func (m *Server) PID() int { return m.proc.PID() }

// SettingsString is the configuration as one line, for reports.
func (m *Server) SettingsString() string { return strings.Join(m.settings, " ") }

// OpenPool opens a pool of n connections to database db.
func (m *Server) OpenPool(db string, n int) (*sql.DB, error) {
	p, err := sql.Open("mysql", m.DSN(db))
	if err != nil {
		return nil, err
	}
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	return p, nil
}

// Stop shuts mariadbd down (SIGTERM: a clean shutdown; SIGKILL after
// 120 s). Safe to call more than once.
func (m *Server) Stop() error {
	if m.db != nil {
		m.db.Close()
		m.db = nil
	}
	if m.proc == nil {
		return nil
	}
	err := m.proc.Stop(120 * time.Second)
	if sock := m.socketDir(); sock != "" {
		os.RemoveAll(sock)
	}
	return err
}

// socketDir is the temp directory of the socket when it is not under dir.
func (m *Server) socketDir() string {
	for _, a := range m.proc.Args() {
		if s, ok := strings.CutPrefix(a, "--socket="); ok && !strings.HasPrefix(s, m.dir) {
			return filepath.Dir(s)
		}
	}
	return ""
}
