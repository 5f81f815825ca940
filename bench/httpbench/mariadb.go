//go:build linux

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mariadbSchema is the table every MariaDB scenario starts from: a fair
// event store in SQL. position is the global order, (stream, version) is
// unique (the optimistic-concurrency check), event_id is unique (the
// idempotency key), event_type is indexed for reads by type. MariaDB's
// JSON is LONGTEXT with a JSON_VALID check, so data is validated on
// insert as eventsql validates it.
const mariadbSchema = `CREATE TABLE events (
  position   BIGINT AUTO_INCREMENT PRIMARY KEY,
  stream     VARCHAR(255) NOT NULL,
  version    BIGINT NOT NULL,
  event_id   CHAR(36) NOT NULL,
  event_type VARCHAR(255) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  data       JSON NOT NULL,
  metadata   JSON,
  UNIQUE KEY stream_version (stream, version),
  UNIQUE KEY event_id (event_id),
  KEY event_type (event_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`

// mariadbSettings are the server's options besides paths and port:
// durable (the redo log is flushed and fsynced at every commit, like
// eventsql's fsync before acknowledging; no binary log, so no
// sync_binlog), a 1 GiB buffer pool that holds the whole working set, and
// a redo log large enough that checkpoints do not throttle the runs.
var mariadbSettings = []string{
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

// mariadbServer is a private mariadbd on a temp datadir and a free
// loopback port.
type mariadbServer struct {
	dir     string
	version string
	addr    string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	db      *sql.DB // root over TCP, for setup
}

// findMariadb returns mariadbd (or mysqld) and mariadb-install-db,
// installing Debian's mariadb-server when they are missing and install is
// set.
func findMariadb(ctx context.Context, install bool) (server, installDB string, err error) {
	look := func() (string, string) {
		var s, i string
		for _, n := range []string{"mariadbd", "mysqld"} {
			if s = lookPath(n); s != "" {
				break
			}
		}
		for _, n := range []string{"mariadb-install-db", "mysql_install_db"} {
			if i = lookPath(n); i != "" {
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
	progress("installing mariadb-server with apt-get")
	if err := aptInstall(ctx, "mariadb-server"); err != nil {
		return "", "", err
	}
	if server, installDB = look(); server == "" || installDB == "" {
		return "", "", errors.New("mariadb-server installed but mariadbd or mariadb-install-db still not found")
	}
	return server, installDB, nil
}

// lookPath finds a program in PATH or the sbin directories, which a
// non-root PATH lacks.
func lookPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// aptInstall installs Debian packages (needs root or sudo).
func aptInstall(ctx context.Context, pkgs ...string) error {
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

// startMariadb initializes a datadir under runDir and starts mariadbd on
// it. stop shuts it down; the caller removes runDir.
func startMariadb(ctx context.Context, runDir string, install bool) (*mariadbServer, error) {
	bin, installDB, err := findMariadb(ctx, install)
	if err != nil {
		return nil, err
	}
	m := &mariadbServer{dir: filepath.Join(runDir, "mariadb")}
	dataDir := filepath.Join(m.dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	// Unix socket paths are limited to 107 bytes.
	sock := filepath.Join(m.dir, "mysqld.sock")
	if len(sock) > 100 {
		sdir, err := os.MkdirTemp("", "httpbench-mysql-")
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
	user := []string{}
	if os.Geteuid() == 0 {
		user = []string{"--user=root"} // mariadbd refuses to run as root otherwise
	}
	initArgs := append([]string{"--no-defaults", "--datadir=" + dataDir, "--auth-root-authentication-method=normal", "--skip-test-db"}, user...)
	if out, err := exec.CommandContext(ctx, installDB, initArgs...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", installDB, err, out)
	}
	if m.addr, err = freeAddr(); err != nil {
		return nil, err
	}
	_, port, _ := strings.Cut(m.addr, ":")
	args := append([]string{"--no-defaults", "--datadir=" + dataDir, "--socket=" + sock,
		"--pid-file=" + filepath.Join(m.dir, "mysqld.pid"), "--log-error=" + filepath.Join(m.dir, "error.log"),
		"--bind-address=127.0.0.1", "--port=" + port}, user...)
	args = append(args, mariadbSettings...)
	m.cmd = exec.Command(bin, args...) // stopped with SIGTERM in stop
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	m.exited = make(chan struct{})
	go func() {
		m.waitErr = m.cmd.Wait()
		close(m.exited)
	}()
	if err := m.connect(ctx); err != nil {
		m.stop()
		return nil, err
	}
	return m, nil
}

// dsn is root's DSN over loopback TCP (root@127.0.0.1 has no password on
// a datadir made with --auth-root-authentication-method=normal).
func (m *mariadbServer) dsn(db string) string {
	c := mysql.NewConfig()
	c.User = "root"
	c.Net = "tcp"
	c.Addr = m.addr
	c.DBName = db
	c.AllowNativePasswords = true
	return c.FormatDSN()
}

// connect waits up to 60 s for the server, then creates the database.
func (m *mariadbServer) connect(ctx context.Context) error {
	db, err := sql.Open("mysql", m.dsn(""))
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
		case <-m.exited:
			db.Close()
			return fmt.Errorf("mariadbd exited (%v); its log:\n%s", m.waitErr, tail(filepath.Join(m.dir, "error.log")))
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
	if _, err := db.ExecContext(ctx, "CREATE DATABASE bench"); err != nil {
		db.Close()
		return fmt.Errorf("CREATE DATABASE: %w", err)
	}
	m.db = db
	return nil
}

// resetTable drops and recreates bench.events, so each scenario starts
// from an empty table as eventsql starts from an empty store.
func (m *mariadbServer) resetTable(ctx context.Context) error {
	if _, err := m.db.ExecContext(ctx, "DROP TABLE IF EXISTS bench.events"); err != nil {
		return fmt.Errorf("DROP TABLE: %w", err)
	}
	if _, err := m.db.ExecContext(ctx, strings.Replace(mariadbSchema, "events", "bench.events", 1)); err != nil {
		return fmt.Errorf("CREATE TABLE: %w", err)
	}
	return nil
}

// count returns the rows in bench.events.
func (m *mariadbServer) count(ctx context.Context) (int64, error) {
	var n int64
	err := m.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bench.events").Scan(&n)
	return n, err
}

func (m *mariadbServer) pid() int { return m.cmd.Process.Pid }

// stop shuts mariadbd down (SIGTERM: a clean shutdown; SIGKILL after
// 120 s). Safe to call more than once.
func (m *mariadbServer) stop() error {
	if m.db != nil {
		m.db.Close()
		m.db = nil
	}
	if m.exited == nil {
		return nil
	}
	var err error
	select {
	case <-m.exited:
	default:
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.exited:
		case <-time.After(120 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.exited
			err = errors.New("mariadbd did not stop within 120s of SIGTERM; killed")
		}
	}
	if err == nil && m.waitErr != nil {
		err = fmt.Errorf("mariadbd exited: %w", m.waitErr)
	}
	m.exited = nil
	if sock := m.socketDir(); sock != "" {
		os.RemoveAll(sock)
	}
	return err
}

// socketDir is the temp directory of the socket when it is not under dir.
func (m *mariadbServer) socketDir() string {
	for _, a := range m.cmd.Args {
		if s, ok := strings.CutPrefix(a, "--socket="); ok && !strings.HasPrefix(s, m.dir) {
			return filepath.Dir(s)
		}
	}
	return ""
}

// openPool opens a pool of n connections to bench.
func (m *mariadbServer) openPool(n int) (*sql.DB, error) {
	db, err := sql.Open("mysql", m.dsn("bench"))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db, nil
}

// insertSQL is a multi-row INSERT of n events; created_at is the
// server's clock, as eventsql stamps its own.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO events (stream, version, event_id, event_type, created_at, data, metadata) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,NOW(6),?,?)")
	}
	return b.String()
}

// mariadbAppender returns the caller of client c: call i inserts the same
// batch eventsqlAppender sends, as one multi-row INSERT of a prepared
// statement under autocommit (one transaction, one redo log fsync).
// Versions are the client's: it owns its streams, so it knows them, and
// UNIQUE(stream, version) is the concurrency check.
func mariadbAppender(stmt *sql.Stmt, g *Gen, scenario, batch int) func(c int) caller {
	return func(c int) caller {
		args := make([]any, 0, 6*batch)
		ids := make([]byte, 36*batch)
		return func(ctx context.Context, call int) (int, int, error) {
			stream := appendStream(c, call)
			args = args[:0]
			size := 0
			for j := range batch {
				e := g.Event(appendKey(scenario, c, call, batch, j))
				id := ids[36*j : 36*j+36]
				hexID(id, e.ID)
				args = append(args, stream, appendVersion(call, batch, j), id, e.Type, e.Data, e.Metadata)
				size += eventBytes(stream, e)
			}
			res, err := stmt.ExecContext(ctx, args...)
			if err != nil {
				return 0, 0, err
			}
			if n, err := res.RowsAffected(); err != nil || n != int64(batch) {
				return 0, 0, fmt.Errorf("INSERT affected %d rows, want %d (%v)", n, batch, err)
			}
			return batch, size, nil
		}
	}
}

// loadDataSQL loads the TSV file written by writeImportFiles.
const loadDataSQL = `LOAD DATA LOCAL INFILE '%s' INTO TABLE events CHARACTER SET utf8mb4
FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n'
(stream, version, event_id, event_type, data, metadata) SET created_at = NOW(6)`

// loadData runs LOAD DATA LOCAL INFILE of the TSV file into an empty
// bench.events and returns the rows loaded and the time taken.
func (m *mariadbServer) loadData(ctx context.Context, tsv string) (int64, time.Duration, error) {
	db, err := m.openPool(1)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	mysql.RegisterLocalFile(tsv)
	defer mysql.DeregisterLocalFile(tsv)
	start := time.Now()
	res, err := db.ExecContext(ctx, fmt.Sprintf(loadDataSQL, strings.ReplaceAll(tsv, "'", "''")))
	elapsed := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("LOAD DATA: %w", err)
	}
	n, err := res.RowsAffected()
	return n, elapsed, err
}

// mariadbSettingsString is the configuration as one line, for the report.
func mariadbSettingsString() string { return strings.Join(mariadbSettings, " ") }
