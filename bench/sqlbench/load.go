//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/eventsql/eventsql/bench/benchgen"
	"github.com/eventsql/eventsql/bench/mariadb"
	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/ndjsonimport"
)

// loadEventsql generates n events into a new store in dir through the
// bulk import path (`eventsql import --data`: ndjsonimport into the
// engine, no file in between) and returns the open store, so the same
// events can be copied to MariaDB from it.
func loadEventsql(ctx context.Context, dir string, g *generator, n int64) (*engine.Store, genStats, time.Duration, error) {
	opts := engine.DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := engine.Open(ctx, dir, opts)
	if err != nil {
		return nil, genStats{}, 0, fmt.Errorf("open store: %w", err)
	}
	pr, pw := io.Pipe()
	gst := make(chan genStats, 1)
	go func() {
		s, err := g.write(pw, n)
		gst <- s
		pw.CloseWithError(err)
	}()
	start := time.Now()
	sum, err := ndjsonimport.Import(ctx, bufio.NewReaderSize(pr, 1<<20), st, ndjsonimport.Options{})
	elapsed := time.Since(start)
	pr.CloseWithError(io.ErrClosedPipe) // unblocks the generator if the import stopped early
	gs := <-gst
	switch {
	case err != nil:
		err = fmt.Errorf("import: %w", err)
	case sum.Rejected > 0:
		err = fmt.Errorf("import rejected %d lines, first: %+v", sum.Rejected, sum.Errors[0])
	case sum.Written != n:
		err = fmt.Errorf("import wrote %d events, want %d", sum.Written, n)
	}
	if err != nil {
		st.Close()
		return nil, gs, 0, err
	}
	return st, gs, elapsed, nil
}

// mariadbSchema is the table the issue asks for: the columns of
// eventsql.events, the primary key on position, indexes on stream and
// event_type (added after the load, which builds them sorted). MariaDB's
// JSON is LONGTEXT with a JSON_VALID check. Names compare as bytes, as
// eventsql compares them.
const mariadbSchema = `CREATE TABLE events (
  position   BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  stream     VARCHAR(255) NOT NULL,
  version    BIGINT NOT NULL,
  event_id   CHAR(36) NOT NULL,
  event_type VARCHAR(255) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  data       JSON,
  metadata   JSON
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

const mariadbIndexes = `ALTER TABLE events ADD KEY stream (stream), ADD KEY event_type (event_type)`

// loadDataSQL reads the TSV stream writeTSV produces.
const loadDataSQL = `LOAD DATA LOCAL INFILE 'Reader::events' INTO TABLE events CHARACTER SET utf8mb4
FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n'
(position, stream, version, event_id, event_type, created_at, data, metadata)`

// loadMariadb copies every event of st, as stored (position, created_at
// and all), into a new table events of database db with LOAD DATA LOCAL
// INFILE streamed from the store, then builds the indexes. It returns the
// times of the two steps.
func loadMariadb(ctx context.Context, m *mariadb.Server, db string, st *engine.Store) (load, index time.Duration, err error) {
	pool, err := m.OpenPool(db, 1)
	if err != nil {
		return 0, 0, err
	}
	defer pool.Close()
	conn, err := pool.Conn(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	for _, q := range []string{"DROP TABLE IF EXISTS events", mariadbSchema,
		// An empty table, no unique checks: InnoDB's bulk load path.
		"SET SESSION unique_checks = 0", "SET SESSION foreign_key_checks = 0"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", q, err)
		}
	}
	pr, pw := io.Pipe()
	mysql.RegisterReaderHandler("events", func() io.Reader { return pr })
	defer mysql.DeregisterReaderHandler("events")
	go func() { pw.CloseWithError(writeTSV(ctx, pw, st)) }()
	start := time.Now()
	res, err := conn.ExecContext(ctx, loadDataSQL)
	load = time.Since(start)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return 0, 0, fmt.Errorf("LOAD DATA: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(st.Head()) {
		return 0, 0, fmt.Errorf("LOAD DATA loaded %d rows, want %d (%v)", n, st.Head(), err)
	}
	start = time.Now()
	if _, err := conn.ExecContext(ctx, mariadbIndexes); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", mariadbIndexes, err)
	}
	if _, err := conn.ExecContext(ctx, "ANALYZE TABLE events"); err != nil {
		return 0, 0, fmt.Errorf("ANALYZE TABLE: %w", err)
	}
	return load, time.Since(start), nil
}

// writeTSV writes every event of st as a LOAD DATA row.
func writeTSV(ctx context.Context, w io.Writer, st *engine.Store) error {
	it, err := st.ReadAll(ctx, 1, engine.ReadOptions{})
	if err != nil {
		return err
	}
	defer it.Close()
	bw := bufio.NewWriterSize(w, 1<<20)
	var b []byte
	for it.Next() {
		b = appendTSVRow(b[:0], it.Event())
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	return bw.Flush()
}

// appendTSVRow appends e as a row of loadDataSQL's columns; an empty
// metadata is NULL.
func appendTSVRow(b []byte, e *engine.RecordedEvent) []byte {
	b = strconv.AppendUint(b, e.Position, 10)
	b = append(b, '\t')
	b = benchgen.AppendTSVEscaped(b, e.Stream)
	b = append(b, '\t')
	b = strconv.AppendInt(b, e.Version, 10)
	b = append(b, '\t')
	b = benchgen.AppendUUID(b, e.ID)
	b = append(b, '\t')
	b = benchgen.AppendTSVEscaped(b, e.Type)
	b = append(b, '\t')
	b = e.CreatedAt.UTC().AppendFormat(b, "2006-01-02 15:04:05.000000")
	b = append(b, '\t')
	b = benchgen.AppendTSVEscaped(b, e.Data)
	b = append(b, '\t')
	if len(e.Metadata) == 0 {
		b = append(b, `\N`...)
	} else {
		b = benchgen.AppendTSVEscaped(b, e.Metadata)
	}
	return append(b, '\n')
}
