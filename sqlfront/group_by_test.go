package sqlfront

import (
	"context"
	dbsql "database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// TestGroupByErrorEndsTheStatement checks that a GROUP BY on
// go-mysql-server's path whose expression fails on a row answers the
// error and leaves the connection usable (GMS's own iterator left its
// reader blocked and the statement hanging once more than 512 rows were
// read ahead), with and without native aggregates.
func TestGroupByErrorEndsTheStatement(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st) // 3000 events: more than the reader's hand-off
	for _, native := range []bool{true, false} {
		_, addr := startFront(t, st, func(fe *Front) { fe.opts.DisableNativeAggregates = !native })
		c := mysql.NewConfig()
		c.User, c.Passwd, c.Net, c.Addr, c.DBName = "reader", "pw", "tcp", addr, "eventsql"
		db, err := dbsql.Open("mysql", c.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		for _, q := range []string{
			"SELECT metadata, COUNT(*) FROM events GROUP BY metadata, JSON_EXTRACT(data, '$.i[')",
			"SELECT stream, SUM(JSON_EXTRACT(data, '$.i[')) FROM events GROUP BY stream",
		} {
			// The deadline only turns a hang into a failure.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			rows, err := db.QueryContext(ctx, q)
			if err == nil {
				for rows.Next() {
				}
				err = rows.Err()
				rows.Close()
			}
			cancel()
			var me *mysql.MySQLError
			if !errors.As(err, &me) || !strings.Contains(me.Message, "JSON path") {
				t.Fatalf("native %v: %s: %v, want the JSON path error", native, q, err)
			}
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM events").Scan(&n); err != nil || n != 3000 {
				t.Fatalf("native %v: after the error: %d, %v", native, n, err)
			}
		}
	}
}
