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

// TestInterruptedQueriesEndTheirReads stops queries while go-mysql-server
// operators read their input (by --query-timeout, or a LIMIT met while a
// hash join builds) and checks that every engine iterator was closed: the
// store must close. GMS's window iterator and hash join build never
// closed their input, and the open iterator's read lock kept the store
// from closing (shutdown hung).
func TestInterruptedQueriesEndTheirReads(t *testing.T) {
	for _, q := range []string{
		"SELECT ROW_NUMBER() OVER (ORDER BY a.position) FROM events a JOIN events b ON a.version >= 0",
		"SELECT a.position FROM events a JOIN events b ON a.data = b.data",
		"SELECT a.position FROM events a JOIN events b ON a.data = b.data LIMIT 1",
		"SELECT a.position FROM events a JOIN events b ON a.version >= 0 ORDER BY a.data",
		"SELECT a.data, COUNT(*) FROM events a JOIN events b ON a.version >= 0 GROUP BY a.data",
		"SELECT DISTINCT a.data, b.position FROM events a JOIN events b ON a.version >= 0",
		"SELECT a.position FROM events a WHERE a.data IN (SELECT b.data FROM events b JOIN events c ON c.version >= 0)",
	} {
		st, _ := testFrontAddr(t)
		fillWireData(t, st)
		_, addr := startFront(t, st, func(fe *Front) { fe.opts.QueryTimeout = 20 * time.Millisecond })
		c := mysql.NewConfig()
		c.User, c.Passwd, c.Net, c.Addr, c.DBName = "reader", "pw", "tcp", addr, "eventsql"
		db, err := dbsql.Open("mysql", c.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		_, err = rawQuery(t, db, q) // ERROR 3024, or a closed connection if rows had gone out
		db.Close()
		closed := make(chan error, 1)
		go func() { closed <- st.Close() }()
		select {
		case cerr := <-closed:
			if cerr != nil {
				t.Fatal(cerr)
			}
		case <-time.After(time.Minute): // only to fail instead of hanging
			t.Fatalf("%s (%v): the store did not close, an iterator of the query is still open", q, err)
		}
	}
}
