package sqlfront

import (
	dbsql "database/sql"
	"errors"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/go-sql-driver/mysql"
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

// TestInterruptedWindowQueryEndsItsRead checks that a window query
// stopped while it reads its input (here by --query-timeout) closes the
// engine's iterator: GMS's window iterator never closed its child, and
// the open iterator's read lock then kept the store from closing.
func TestInterruptedWindowQueryEndsItsRead(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	_, addr := startFront(t, st, func(fe *Front) { fe.opts.QueryTimeout = 20 * time.Millisecond })
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = "reader", "pw", "tcp", addr, "eventsql"
	db, err := dbsql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A window over a join of 9M rows: far longer than the timeout.
	_, err = rawQuery(t, db, "SELECT ROW_NUMBER() OVER (ORDER BY a.position) FROM events a JOIN events b ON a.version >= 0")
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 3024 {
		t.Fatalf("window query: %v, want ERROR 3024", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- st.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // only to fail instead of hanging
		t.Fatal("the store did not close: an iterator of the interrupted query is still open")
	}
}
