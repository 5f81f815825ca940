package sqlfront

import (
	"context"
	dbsql "database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/go-sql-driver/mysql"

	"github.com/eventsql/eventsql/engine"
)

// TestMemoryLimit checks that queries whose operators hold rows in
// memory fail with ERROR 1037 once the server is over its SQL memory
// limit, that streaming queries are not affected, and that the server
// goes on serving.
func TestMemoryLimit(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	_, tinyAddr := startFront(t, st, func(fe *Front) {
		fe.engine.MemoryManager = sql.NewMemoryManager(&memoryLimit{limit: 1}) // always over
	})
	_, defaultAddr := startFront(t, st, nil)
	open := func(addr string) queryer {
		c := mysql.NewConfig()
		c.User, c.Passwd, c.Net, c.Addr, c.DBName = "reader", "pw", "tcp", addr, "eventsql"
		db, err := dbsql.Open("mysql", c.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	tiny, normal := open(tinyAddr), open(defaultAddr)
	for _, q := range []string{
		"SELECT position FROM events ORDER BY data, position",
		"SELECT DISTINCT stream, event_type, data FROM events",
		"SELECT metadata, COUNT(*) FROM events GROUP BY metadata",
		"SELECT GROUP_CONCAT(data) FROM events",
		"SELECT stream, JSON_ARRAYAGG(data) FROM events GROUP BY stream",
		"SELECT position, ROW_NUMBER() OVER (PARTITION BY stream ORDER BY position DESC) FROM events",
	} {
		if _, err := rawQuery(t, normal, q); err != nil {
			t.Fatalf("%s with the default limit: %v", q, err)
		}
		_, err := rawQuery(t, tiny, q)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1037 {
			t.Errorf("%s over the limit: %v, want ERROR 1037", q, err)
		}
	}
	// Streaming reads and native aggregates hold no rows: unaffected.
	for _, q := range []string{"SELECT * FROM events", "SELECT COUNT(*) FROM events"} {
		a, err := rawQuery(t, tiny, q)
		if err != nil {
			t.Fatalf("%s over the limit: %v", q, err)
		}
		b, err := rawQuery(t, normal, q)
		if err != nil {
			t.Fatal(err)
		}
		sameResult(t, q, a, b)
	}
}

// stopMethod is how TestInterruptedQueriesEndTheirReads stops a query.
type stopMethod string

const (
	byTimeout stopMethod = "timeout" // --query-timeout of 20 ms
	byKill    stopMethod = "kill"    // KILL QUERY from another connection
	byHangup  stopMethod = "hangup"  // the client closes its connection after the first rows
	byError   stopMethod = "error"   // an expression fails on a row (ERROR 3141, see fail)
	byMemory  stopMethod = "memory"  // the SQL memory limit (ERROR 1037; a limit of 1 byte)
	byEnd     stopMethod = "end"     // none: the query ends (a LIMIT stops inner reads)
)

var (
	// anyStop: the shape sends rows while it reads.
	anyStop = []stopMethod{byTimeout, byKill, byHangup}
	// cancelStop: the shape reads all its input before its first row,
	// or takes long per row: a client that hangs up is found by the
	// disconnect check (after 5 s), which cancels the statement as the
	// timeout and KILL do.
	cancelStop = []stopMethod{byTimeout, byKill}
	// holdStop: the shape holds rows in memory, under the memory limit.
	holdStop  = []stopMethod{byTimeout, byKill, byMemory}
	endStop   = []stopMethod{byEnd}
	errorStop = []stopMethod{byError}
)

// stopShape is a query shape of TestInterruptedQueriesEndTheirReads. Its
// reads take seconds (self-joins of the 3000 events of fillWireData),
// so that a stop finds it reading.
type stopShape struct {
	name  string
	query string
	args  []any // run as a server-side prepared statement with these
	stops []stopMethod
}

// fail fails in a self-join of events a and b once the first row of
// either has met the 2999th of the other: after ~3000 rows, whichever
// table is read first (JSON_LENGTH of a stream name: ERROR 3141).
const fail = "IF(a.position = 1 AND b.position >= 2999 OR b.position = 1 AND a.position >= 2999, JSON_LENGTH(a.stream), 1) > 0"

// selfJoin is 9M rows.
const selfJoin = "events a JOIN events b ON a.version >= 0"

var stopShapes = []stopShape{
	// Set operations.
	{"union all", "SELECT a.position FROM " + selfJoin + " UNION ALL SELECT position FROM events", nil, anyStop},
	{"union all, slow right", "SELECT position FROM events UNION ALL SELECT a.position FROM " + selfJoin, nil, anyStop},
	{"union distinct", "SELECT a.data FROM " + selfJoin + " UNION DISTINCT SELECT data FROM events", nil, anyStop},
	{"union, slow right", "SELECT data FROM events UNION SELECT CONCAT(a.data, b.position) FROM " + selfJoin, nil, anyStop},
	{"union limit", "(SELECT a.position FROM " + selfJoin + ") UNION ALL (SELECT position FROM events) LIMIT 3", nil, endStop},
	{"union order by limit", "SELECT a.position p FROM " + selfJoin + " UNION SELECT position FROM events ORDER BY p DESC LIMIT 3", nil, cancelStop},
	{"intersect", "SELECT a.data FROM " + selfJoin + " INTERSECT SELECT data FROM events", nil, cancelStop},
	{"intersect, slow right", "SELECT data FROM events INTERSECT SELECT CONCAT(a.data, b.position) FROM " + selfJoin, nil, cancelStop},
	{"intersect limit", "(SELECT data FROM events) INTERSECT (SELECT a.data FROM " + selfJoin + " LIMIT 3)", nil, endStop},
	{"except", "SELECT CONCAT(a.data, b.position) FROM " + selfJoin + " EXCEPT SELECT data FROM events", nil, anyStop},
	{"except, slow right", "SELECT data FROM events EXCEPT SELECT CONCAT(a.data, b.position) FROM " + selfJoin, nil, cancelStop},
	// Common table expressions and derived tables.
	{"recursive cte", "WITH RECURSIVE r (p, n) AS (SELECT position, 0 FROM events UNION ALL SELECT r.p, r.n + 1 FROM r JOIN events e ON e.version >= 0 WHERE r.n < 2) SELECT p FROM r", nil, anyStop},
	{"recursive cte, slow anchor", "WITH RECURSIVE r (p, n) AS (SELECT a.position, 0 FROM " + selfJoin + " UNION ALL SELECT p, n + 1 FROM r WHERE n < 1) SELECT COUNT(*) FROM r", nil, cancelStop},
	{"recursive cte limit", "WITH RECURSIVE r (p, n) AS (SELECT position, 0 FROM events UNION ALL SELECT r.p, r.n + 1 FROM r JOIN events e ON e.version >= 0 WHERE r.n < 2) SELECT p FROM r LIMIT 5000", nil, endStop},
	{"cte used twice", "WITH c AS (SELECT a.position p, a.data d FROM " + selfJoin + " WHERE b.version < 3) SELECT x.p FROM c x JOIN c y ON x.d = y.d", nil, anyStop},
	{"cte used twice, union", "WITH c AS (SELECT a.position p FROM " + selfJoin + ") SELECT p FROM c UNION ALL SELECT p + 1 FROM c", nil, anyStop},
	{"derived table", "SELECT t.p FROM (SELECT a.position p FROM " + selfJoin + ") t WHERE t.p > 1", nil, anyStop},
	{"derived table, grouped", "SELECT t.d, t.c FROM (SELECT a.data d, COUNT(*) c FROM " + selfJoin + " GROUP BY a.data) t", nil, cancelStop},
	{"derived table limit, joined", "SELECT t.p, e.position FROM (SELECT a.position p FROM " + selfJoin + " LIMIT 5) t JOIN events e ON e.version >= 0", nil, endStop},
	// Subqueries, as joins and as expressions.
	{"in subquery", "SELECT a.position FROM events a WHERE a.data IN (SELECT b.data FROM events b JOIN events c ON c.version >= 0)", nil, holdStop},
	{"in subquery in select", "SELECT position, data IN (SELECT a.data FROM " + selfJoin + ") FROM events", nil, cancelStop},
	{"not in subquery", "SELECT a.position FROM events a WHERE a.metadata NOT IN (SELECT b.data FROM events b JOIN events c ON c.version >= 0)", nil, cancelStop},
	{"not in subquery, correlated with nulls", "SELECT a.position FROM events a WHERE a.version NOT IN (SELECT IF(b.version = 0, NULL, b.version + 100000) FROM events b WHERE b.position > a.position)", nil, cancelStop},
	{"exists, correlated", "SELECT a.position FROM events a WHERE EXISTS (SELECT 1 FROM events b WHERE b.stream = a.stream AND b.version > a.version)", nil, anyStop},
	{"not exists, correlated", "SELECT a.position FROM events a WHERE NOT EXISTS (SELECT 1 FROM events b WHERE b.stream = a.stream AND b.version > a.version + 1000)", nil, cancelStop},
	{"exists", "SELECT position FROM events WHERE EXISTS (SELECT 1 FROM " + selfJoin + " WHERE a.data = 'none')", nil, cancelStop},
	{"not exists", "SELECT position FROM events WHERE NOT EXISTS (SELECT 1 FROM " + selfJoin + " WHERE a.data = 'none')", nil, cancelStop},
	{"exists in select", "SELECT position, EXISTS (SELECT 1 FROM " + selfJoin + " WHERE a.data = 'none') FROM events", nil, cancelStop},
	{"scalar subquery in select", "SELECT position, (SELECT COUNT(*) FROM " + selfJoin + ") FROM events", nil, cancelStop},
	{"grouping subquery in select", "SELECT position, (SELECT MAX(c) FROM (SELECT a.data, COUNT(*) c FROM " + selfJoin + " GROUP BY a.data) t) FROM events", nil, holdStop},
	{"scalar subquery in select, correlated", "SELECT a.position, (SELECT MAX(b.position) FROM events b WHERE b.data <> a.data) FROM events a", nil, cancelStop},
	{"scalar subquery in where", "SELECT position FROM events WHERE position > (SELECT COUNT(*) FROM " + selfJoin + ")", nil, cancelStop},
	{"scalar subquery in where, correlated", "SELECT a.position FROM events a WHERE a.version < (SELECT COUNT(*) FROM events b WHERE b.data <> a.data)", nil, cancelStop},
	// Joins.
	{"cross join", "SELECT a.position, b.position FROM events a CROSS JOIN events b", nil, anyStop},
	{"cross join limit", "SELECT a.position, b.position FROM events a CROSS JOIN events b LIMIT 5", nil, endStop},
	{"hash join", "SELECT a.position FROM events a JOIN events b ON a.data = b.data", nil, anyStop},
	{"hash join limit", "SELECT a.position FROM events a JOIN events b ON a.data = b.data LIMIT 1", nil, endStop},
	{"left hash join", "SELECT /*+ HASH_JOIN(a,b) */ a.position, b.position FROM events a LEFT JOIN events b ON a.event_type = b.event_type", nil, anyStop},
	{"lookup join", "SELECT /*+ LOOKUP_JOIN(a,b) */ a.position, b.position FROM events a JOIN events b ON a.stream = b.stream", nil, anyStop},
	{"lookup join limit", "SELECT /*+ LOOKUP_JOIN(a,b) */ a.position, b.position FROM events a JOIN events b ON a.stream = b.stream LIMIT 5", nil, endStop},
	{"left join", "SELECT a.position, b.position FROM events a LEFT JOIN events b ON a.version < b.version", nil, anyStop},
	{"right join", "SELECT a.position, b.position FROM events a RIGHT JOIN events b ON a.version < b.version", nil, anyStop},
	{"full outer join", "SELECT a.position, b.position FROM events a FULL OUTER JOIN events b ON a.version < b.version", nil, anyStop},
	{"full outer join, limited left", "SELECT a.p, b.position FROM (SELECT position p FROM events LIMIT 3) a FULL OUTER JOIN events b ON a.p = b.position", nil, endStop},
	{"range heap join", "SELECT a.position, b.position FROM events a JOIN events b ON a.position BETWEEN b.version AND b.position", nil, anyStop},
	{"range heap join limit", "SELECT a.position, b.position FROM events a JOIN events b ON a.position BETWEEN b.version AND b.position LIMIT 5", nil, endStop},
	{"left range heap join", "SELECT a.position, b.position FROM events a LEFT JOIN events b ON a.version BETWEEN b.version AND b.position", nil, anyStop},
	{"semi join limit", "SELECT a.position FROM events a WHERE EXISTS (SELECT 1 FROM events b WHERE b.version > a.version) LIMIT 5", nil, endStop},
	{"lateral", "SELECT a.position, l.p FROM events a, LATERAL (SELECT b.position p FROM events b WHERE b.version < a.version + 5) l", nil, anyStop},
	{"lateral, grouped", "SELECT a.position, l.c FROM events a, LATERAL (SELECT COUNT(*) c FROM events b WHERE b.data <> a.data) l", nil, cancelStop},
	{"lateral limit", "SELECT a.position, l.p FROM events a JOIN LATERAL (SELECT b.position p FROM events b WHERE b.version >= a.version LIMIT 2) l ON true", nil, anyStop},
	// Ordering, limits, windows, aggregates.
	{"sort", "SELECT a.position FROM " + selfJoin + " ORDER BY a.data", nil, holdStop},
	{"top n", "SELECT a.position FROM " + selfJoin + " ORDER BY a.data, b.position LIMIT 5", nil, cancelStop},
	{"top 1", "SELECT a.position FROM " + selfJoin + " ORDER BY a.data, b.position LIMIT 1", nil, cancelStop},
	{"limit offset", "SELECT a.position FROM " + selfJoin + " LIMIT 5 OFFSET 8000000", nil, cancelStop},
	{"limit offset, ends", "SELECT a.position FROM " + selfJoin + " LIMIT 5 OFFSET 100", nil, endStop},
	{"window", "SELECT ROW_NUMBER() OVER (ORDER BY a.position) FROM " + selfJoin, nil, holdStop},
	{"window partition", "SELECT SUM(a.version) OVER (PARTITION BY a.stream ORDER BY a.position ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM " + selfJoin, nil, cancelStop},
	{"window range frame", "SELECT COUNT(*) OVER (ORDER BY a.position RANGE BETWEEN 10 PRECEDING AND 10 FOLLOWING), LAG(b.position) OVER (PARTITION BY b.stream ORDER BY b.position) FROM " + selfJoin, nil, cancelStop},
	{"window in derived, limit", "SELECT * FROM (SELECT a.position, ROW_NUMBER() OVER (PARTITION BY a.event_type) n FROM " + selfJoin + ") t LIMIT 2", nil, cancelStop},
	{"group by", "SELECT a.data, COUNT(*) FROM " + selfJoin + " GROUP BY a.data", nil, holdStop},
	{"group by having", "SELECT a.stream, COUNT(*) FROM " + selfJoin + " GROUP BY a.stream HAVING COUNT(*) > 1", nil, cancelStop},
	{"group_concat", "SELECT a.stream, GROUP_CONCAT(DISTINCT b.position ORDER BY b.position) FROM " + selfJoin + " GROUP BY a.stream", nil, holdStop},
	{"json_arrayagg", "SELECT JSON_ARRAYAGG(b.position) FROM " + selfJoin, nil, holdStop},
	{"distinct", "SELECT DISTINCT a.data, b.position FROM " + selfJoin, nil, anyStop},
	{"distinct order by", "SELECT DISTINCT a.stream, b.version FROM " + selfJoin + " ORDER BY b.version", nil, cancelStop},
	{"json_table", "SELECT a.position, j.i FROM " + selfJoin + ", JSON_TABLE(a.metadata, '$' COLUMNS (i INT PATH '$.n')) j WHERE a.event_type = 'Typed' AND JSON_VALID(a.metadata)", nil, anyStop},
	{"json_table over an aggregate", "SELECT j.p FROM (SELECT JSON_ARRAYAGG(a.position) d FROM " + selfJoin + ") t, JSON_TABLE(t.d, '$[*]' COLUMNS (p INT PATH '$')) j", nil, cancelStop},
	{"select into", "SELECT COUNT(*) INTO @n FROM " + selfJoin, nil, cancelStop},
	{"select into, a row", "SELECT a.position INTO @p FROM " + selfJoin + " WHERE a.position + b.position = 6000", nil, cancelStop},
	{"set from a subquery", "SET @n = (SELECT COUNT(*) FROM " + selfJoin + ")", nil, cancelStop},
	{"analyze table", "ANALYZE TABLE events", nil, endStop},
	{"analyze table streams", "ANALYZE TABLE streams", nil, endStop},
	{"explain analyze", "EXPLAIN ANALYZE SELECT a.position FROM " + selfJoin, nil, cancelStop},
	{"explain analyze limit", "EXPLAIN ANALYZE SELECT position FROM events LIMIT 1", nil, endStop},
	// eventsql's other tables.
	{"by_type and by_category", "SELECT a.position, b.position FROM by_type.Typed a JOIN by_category.cat b ON a.version >= 0", nil, anyStop},
	{"by_type sorted", "SELECT a.position FROM by_type.Typed a JOIN by_category.dog b ON a.version >= 0 ORDER BY a.data", nil, cancelStop},
	{"streams joined", "SELECT s.stream, a.position FROM streams s JOIN events a ON a.stream = s.stream JOIN events b ON b.version >= 0", nil, anyStop},
	{"streams looked up", "SELECT s.version, a.position FROM " + selfJoin + " JOIN streams s ON s.stream = a.stream", nil, anyStop},
	{"streams grouped", "SELECT s.category, COUNT(*) FROM streams s JOIN events a ON a.stream = s.stream JOIN events b ON b.version >= 0 GROUP BY s.category", nil, cancelStop},
	{"streams range heap join", "SELECT s.stream, e.position FROM events e JOIN streams s ON e.position BETWEEN s.first_position AND s.last_position JOIN events b ON b.version >= 0", nil, anyStop},
	// Failing mid-read.
	{"failing join", "SELECT a.position FROM " + selfJoin + " WHERE " + fail, nil, errorStop},
	{"failing sort", "SELECT a.position FROM " + selfJoin + " WHERE " + fail + " ORDER BY a.data", nil, errorStop},
	{"failing window", "SELECT ROW_NUMBER() OVER (PARTITION BY a.stream) FROM " + selfJoin + " WHERE " + fail, nil, errorStop},
	{"failing group by", "SELECT a.data, COUNT(*) FROM " + selfJoin + " WHERE " + fail + " GROUP BY a.data", nil, errorStop},
	{"failing hash join build", "SELECT a.position FROM events a JOIN (SELECT b.data FROM events b JOIN events c ON c.version >= 0 WHERE " + strings.ReplaceAll(fail, "a.", "c.") + ") t ON a.data = t.data", nil, errorStop},
	{"failing subquery", "SELECT position, (SELECT COUNT(*) FROM " + selfJoin + " WHERE " + fail + ") FROM events", nil, errorStop},
	{"failing in subquery", "SELECT position, data IN (SELECT a.data FROM " + selfJoin + " WHERE " + fail + ") FROM events", nil, errorStop},
	{"failing exists", "SELECT position FROM events WHERE position < 3 AND EXISTS (SELECT 1 FROM " + selfJoin + " WHERE " + fail + " AND CONCAT(a.data, b.position) = 'none')", nil, errorStop},
	{"failing range heap join", "SELECT a.position, b.position FROM events a JOIN (SELECT position, version FROM events WHERE IF(position < 2999, 1, JSON_LENGTH(stream)) > 0) b ON a.position BETWEEN b.version AND b.position", nil, errorStop},
	{"failing recursive cte", "WITH RECURSIVE r (p, n) AS (SELECT position, 0 FROM events UNION ALL SELECT r.p, r.n + 1 FROM r JOIN events e ON e.version >= 0 WHERE r.n < 2 AND IF(e.position < 2999, 1, JSON_LENGTH(e.stream)) > 0) SELECT p FROM r", nil, errorStop},
	{"failing lateral", "SELECT a.position, l.c FROM events a, LATERAL (SELECT COUNT(*) c FROM events b WHERE IF(b.position < 2999, 1, JSON_LENGTH(b.stream)) > a.version) l", nil, errorStop},
	{"failing full outer join", "SELECT a.position, b.position FROM events a FULL OUTER JOIN events b ON a.version < b.version WHERE " + fail, nil, errorStop},
	// Server-side prepared statements (binary protocol).
	{"prepared join", "SELECT a.position, b.position FROM events a JOIN events b ON a.version >= ?", []any{0}, anyStop},
	{"prepared sort", "SELECT a.position FROM events a JOIN events b ON a.version >= ? ORDER BY a.data", []any{0}, cancelStop},
	{"prepared window", "SELECT ROW_NUMBER() OVER (ORDER BY a.position) FROM events a JOIN events b ON a.version >= ?", []any{0}, cancelStop},
	{"prepared hash join limit", "SELECT a.position FROM events a JOIN events b ON a.data = b.data WHERE a.version >= ? LIMIT 1", []any{0}, endStop},
	{"prepared subquery", "SELECT position, (SELECT COUNT(*) FROM events a JOIN events b ON a.version >= ?) FROM events", []any{0}, cancelStop},
	{"prepared range heap join", "SELECT a.position, b.position FROM events a JOIN events b ON a.position BETWEEN b.version AND b.position WHERE a.version >= ?", []any{0}, anyStop},
}

// TestInterruptedQueriesEndTheirReads stops every shape of stopShapes
// while go-mysql-server operators read their input, in each of the
// shape's ways, and checks that every engine iterator was closed: the
// store must close (an open iterator holds its read lock, and shutdown
// hung). A connection whose statement failed before sending rows must
// go on working. GMS's window iterator, hash join build, range heap join,
// full outer join, subquery expressions, EXPLAIN ANALYZE and ANALYZE
// TABLE each left an input open (docs/architecture.md).
func TestInterruptedQueriesEndTheirReads(t *testing.T) {
	// Each run stops its own copy of one store (closing it is the check).
	data := t.TempDir()
	st := openStoreIn(t, data)
	fillWireData(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var fronts sync.Mutex // GMS's engine constructor writes global state
	for _, sh := range stopShapes {
		for _, how := range sh.stops {
			t.Run(sh.name+"/"+string(how), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				if err := os.CopyFS(dir, os.DirFS(data)); err != nil {
					t.Fatal(err)
				}
				st := openStoreIn(t, dir)
				fronts.Lock()
				open := killFront(t, st, func(fe *Front) {
					switch how {
					case byTimeout:
						fe.opts.QueryTimeout = 20 * time.Millisecond
					case byMemory:
						fe.engine.MemoryManager = sql.NewMemoryManager(&memoryLimit{limit: 1}) // always over
					}
				})
				fronts.Unlock()
				runStopped(t, st, open, sh, how)
			})
		}
	}
}

// retryTimedOut runs f again while it fails with ERROR 3024: under the
// 20 ms --query-timeout of the timeout runs, a statement around the one
// stopped (CONNECTION_ID(), the process list) can also run out of time
// on a loaded machine (make test runs packages in parallel, with -race).
func retryTimedOut(f func() error) error {
	for range 50 {
		err := f()
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 3024 {
			return err
		}
	}
	return f()
}

// runStopped runs sh on st, served by open, and stops it by how.
func runStopped(t *testing.T, st *engine.Store, open func(user string) *dbsql.DB, sh stopShape, how stopMethod) {
	reader, admin := open("reader"), open("admin")
	ctx := context.Background()
	conn, err := reader.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var id int64
	if err := retryTimedOut(func() error { return conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id) }); err != nil {
		t.Fatal(err)
	}
	readAll := func() error {
		rows, err := conn.QueryContext(ctx, sh.query, sh.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	}
	var stopErr error
	switch how {
	case byEnd:
		if err := readAll(); err != nil {
			t.Fatal(err)
		}
	case byTimeout, byError, byMemory:
		if stopErr = readAll(); stopErr == nil {
			t.Fatal("the query ended: it was not stopped while reading")
		}
	case byKill:
		done := make(chan error, 1)
		go func() { done <- readAll() }()
		waitRunning(t, admin, &victim{id: id, done: done})
		time.Sleep(20 * time.Millisecond)
		if _, err := admin.Exec(fmt.Sprintf("KILL QUERY %d", id)); err != nil {
			t.Fatal(err)
		}
		if stopErr = <-done; stopErr == nil {
			t.Fatal("the query ended before KILL QUERY: it was not stopped while reading")
		}
	case byHangup:
		qctx, hangup := context.WithCancel(ctx)
		rows, err := conn.QueryContext(qctx, sh.query, sh.args...)
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatalf("no first row: %v", rows.Err())
		}
		hangup() // the driver closes the socket
		rows.Close()
	}
	var me *mysql.MySQLError
	if errors.As(stopErr, &me) {
		if want := map[stopMethod]uint16{byTimeout: 3024, byKill: 1317, byError: 3141, byMemory: 1037}[how]; me.Number != want {
			t.Fatalf("stopped with %v, want ERROR %d", stopErr, want)
		}
		// No row had gone out: the error ended the statement, not the
		// connection. (After rows, the server drops the connection.)
		var n int
		if err := retryTimedOut(func() error { return conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM events").Scan(&n) }); err != nil || n != 3000 {
			t.Fatalf("the next query on the connection: %d, %v", n, err)
		}
	}
	conn.Close()
	// The statement ends on the server (a hung-up client's at its next
	// write) before the store closes: a waiting Close would block the
	// statement's next read lock.
	for {
		var n int
		if err := retryTimedOut(func() error {
			return admin.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ? AND command = 'Query'", id).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- st.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // only to fail instead of hanging
		t.Fatalf("the store did not close: an iterator of the query is still open (stopped by %s: %v)", how, stopErr)
	}
}
