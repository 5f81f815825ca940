//go:build linux

package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/eventsql/eventsql/bench/mariadb"
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

// mariadbServer is the shared private mariadbd (bench/mariadb) with the
// tables of this benchmark.
type mariadbServer struct {
	*mariadb.Server
}

// startMariadb starts mariadbd on a datadir under runDir with the durable
// settings and a bench database. stop shuts it down; the caller removes
// runDir.
func startMariadb(ctx context.Context, runDir string, install bool) (*mariadbServer, error) {
	srv, err := mariadb.Start(ctx, filepath.Join(runDir, "mariadb"), mariadb.Options{
		Install: install, Settings: mariadb.DurableSettings, Database: "bench", Progress: progress})
	if err != nil {
		return nil, err
	}
	return &mariadbServer{srv}, nil
}

// resetTable drops and recreates bench.events, so each scenario starts
// from an empty table as eventsql starts from an empty store.
func (m *mariadbServer) resetTable(ctx context.Context) error {
	if _, err := m.DB().ExecContext(ctx, "DROP TABLE IF EXISTS bench.events"); err != nil {
		return fmt.Errorf("DROP TABLE: %w", err)
	}
	if _, err := m.DB().ExecContext(ctx, strings.Replace(mariadbSchema, "events", "bench.events", 1)); err != nil {
		return fmt.Errorf("CREATE TABLE: %w", err)
	}
	return nil
}

// count returns the rows in bench.events.
func (m *mariadbServer) count(ctx context.Context) (int64, error) {
	var n int64
	err := m.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM bench.events").Scan(&n)
	return n, err
}

func (m *mariadbServer) pid() int        { return m.PID() }
func (m *mariadbServer) stop() error     { return m.Stop() }
func (m *mariadbServer) version() string { return m.Version() }

// openPool opens a pool of n connections to bench.
func (m *mariadbServer) openPool(n int) (*sql.DB, error) { return m.OpenPool("bench", n) }

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
