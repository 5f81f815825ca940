package sqlfront

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
)

// testFront runs the SQL front on a real loopback socket over a real
// store; users admin/admin-pw and reader/r-pw.
func testFront(t testing.TB) (*engine.Store, func(user, pass string) *sql.DB) {
	t.Helper()
	st, addr := testFrontAddr(t)
	var dbs []*sql.DB
	t.Cleanup(func() {
		for _, db := range dbs {
			db.Close()
		}
	})
	return st, func(user, pass string) *sql.DB {
		db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/eventsql?parseTime=true", user, pass, addr))
		if err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
		return db
	}
}

// testFrontAddr is testFront's server: its store and SQL address.
func testFrontAddr(t testing.TB) (*engine.Store, string) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	opts := engine.DefaultOptions()
	opts.Logger = logger
	opts.SegmentSize = 1 << 20
	st, err := engine.Open(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	accounts := []Account{
		{Name: "admin", Admin: true, NativeHash: httpfront.HashPassword("admin-pw")},
		{Name: "reader", NativeHash: httpfront.HashPassword("r-pw")},
	}
	fe, err := New(st, accounts, Options{Version: "8.0.33-eventsql-test"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go fe.Serve(l)
	t.Cleanup(func() {
		fe.Close()
		st.Close()
	})
	return st, l.Addr().String()
}

func appendEvents(t testing.TB, st *engine.Store, stream, typ string, datas ...string) {
	t.Helper()
	evs := make([]engine.EventData, len(datas))
	for i, d := range datas {
		evs[i] = engine.EventData{Type: typ, Data: []byte(d), DataIsJSON: true, Metadata: []byte(`{"by":"test"}`), MetadataIsJSON: true}
	}
	if _, err := st.Append(context.Background(), stream, engine.ExpectAny, evs...); err != nil {
		t.Fatal(err)
	}
}

func queryStrings(t testing.TB, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
			if !v.Valid {
				row[i] = "NULL"
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func TestEventsTableOverMySQLDriver(t *testing.T) {
	st, open := testFront(t)
	appendEvents(t, st, "order-1", "OrderPlaced", `{"amount":10,"sku":"A"}`)
	appendEvents(t, st, "payment-1", "PaymentMade", `{"order":"order-1","amount":10.5}`)
	appendEvents(t, st, "order-2", "OrderPlaced", `{"amount":7,"sku":"B"}`, `{"amount":3,"sku":"C"}`)
	db := open("reader", "r-pw")

	got := queryStrings(t, db, "SELECT position, stream, version, event_type, data->>'$.sku' FROM events ORDER BY position")
	want := [][]string{{"1", "order-1", "0", "OrderPlaced", "A"}, {"2", "payment-1", "0", "PaymentMade", "NULL"}, {"3", "order-2", "0", "OrderPlaced", "B"}, {"4", "order-2", "1", "OrderPlaced", "C"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events = %v\nwant %v", got, want)
	}
	if got := queryStrings(t, db, "SELECT COUNT(*) FROM events WHERE stream = ?", "order-2"); got[0][0] != "2" {
		t.Fatalf("count by stream (prepared) = %v", got)
	}
	if got := queryStrings(t, db, "SELECT event_type, COUNT(*) FROM events GROUP BY event_type ORDER BY 1"); fmt.Sprint(got) != "[[OrderPlaced 3] [PaymentMade 1]]" {
		t.Fatalf("group by = %v", got)
	}
	if got := queryStrings(t, db, "SELECT JSON_EXTRACT(data, '$.amount'), metadata FROM events WHERE position = 2"); fmt.Sprint(got) != `[[10.5 {"by":"test"}]]` {
		t.Fatalf("json = %v", got)
	}
	if got := queryStrings(t, db, "SELECT stream, version, event_count, category FROM streams ORDER BY stream"); fmt.Sprint(got) != "[[order-1 0 1 order] [order-2 1 2 order] [payment-1 0 1 payment]]" {
		t.Fatalf("streams = %v", got)
	}
}

func TestByTypeAndByCategoryTables(t *testing.T) {
	st, open := testFront(t)
	appendEvents(t, st, "order-1", "OrderPlaced", `{"amount":10,"sku":"A","at":"2026-11-23T10:00:00Z","tags":["x"]}`)
	appendEvents(t, st, "order-2", "OrderPlaced", `{"amount":7,"sku":"B","at":"2026-11-23T11:00:00Z","paid":true}`)
	appendEvents(t, st, "payment-1", "PaymentMade", `{"order":"order-1","amount":10.5}`)
	db := open("reader", "r-pw")

	if got := queryStrings(t, db, "SELECT amount, sku, at, tags, paid FROM by_type.OrderPlaced ORDER BY position"); fmt.Sprint(got) != `[[10 A 2026-11-23T10:00:00Z ["x"] NULL] [7 B 2026-11-23T11:00:00Z NULL 1]]` {
		t.Fatalf("by_type = %v", got)
	}
	cols := queryStrings(t, db, "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.columns WHERE table_schema='by_type' AND table_name='OrderPlaced' ORDER BY ORDINAL_POSITION")
	if fmt.Sprint(cols[8:]) != "[[amount bigint] [sku varchar(255)] [at datetime(6)] [tags json] [paid tinyint(1)]]" {
		t.Fatalf("by_type columns = %v", cols)
	}
	// A field changing type becomes JSON, and appears without a restart.
	appendEvents(t, st, "order-3", "OrderPlaced", `{"amount":"lots","note":"new"}`)
	cols = queryStrings(t, db, "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.columns WHERE table_schema='by_type' AND table_name='OrderPlaced' AND COLUMN_NAME IN ('amount','note')")
	if fmt.Sprint(cols) != "[[amount json] [note varchar(255)]]" {
		t.Fatalf("columns after a type change = %v", cols)
	}
	if got := queryStrings(t, db, "SELECT SUM(amount) FROM by_type.PaymentMade"); got[0][0] != "10.5" {
		t.Fatalf("sum = %v", got)
	}
	if got := queryStrings(t, db, "SELECT COUNT(*) FROM by_category.`order`"); got[0][0] != "3" {
		t.Fatalf("by_category = %v", got)
	}
	// Table statistics: a type's or category's share of the log.
	sizes := queryStrings(t, db, "SELECT table_schema, table_name, data_length FROM information_schema.tables "+
		"WHERE table_schema IN ('eventsql', 'by_type', 'by_category') ORDER BY 1, 2")
	total := map[string]int{}
	for _, r := range sizes {
		n, _ := strconv.Atoi(r[2])
		total[r[0]+"."+r[1]] = n
	}
	if total["by_type.OrderPlaced"] <= 0 || total["by_category.order"] <= 0 ||
		total["by_type.OrderPlaced"] >= total["eventsql.events"] || total["by_type.OrderPlaced"] != total["by_category.order"] {
		t.Fatalf("data_length = %v", sizes)
	}
	tables := queryStrings(t, db, "SHOW TABLES FROM by_type")
	if fmt.Sprint(tables) != "[[OrderPlaced] [PaymentMade]]" {
		t.Fatalf("show tables = %v", tables)
	}
	// A join of two types by stream.
	got := queryStrings(t, db, "SELECT o.stream, p.amount FROM by_type.OrderPlaced o JOIN by_type.PaymentMade p ON p.`order` = o.stream")
	if fmt.Sprint(got) != "[[order-1 10.5]]" {
		t.Fatalf("join = %v", got)
	}
}

// TestIndexesOfMixedCaseTables: the indexes of by_type and by_category
// tables whose names have capitals are listed with their columns by SHOW
// INDEXES, DESCRIBE and information_schema.STATISTICS (what BI tools and
// JDBC's getIndexInfo read), as for eventsql.events. They used to show a
// NULL column and an expression "OrderPlaced.position", and nothing in
// STATISTICS, because the columns name their table in lower case.
func TestIndexesOfMixedCaseTables(t *testing.T) {
	st, open := testFront(t)
	appendEvents(t, st, "Cart-1", "OrderPlaced", `{"amount":10}`)
	db := open("reader", "r-pw")
	for _, tc := range []struct{ table, indexes, keys string }{
		{"eventsql.events", "[[PRIMARY position 0] [stream stream 1] [event_id event_id 0] [event_type event_type 1]]",
			"[[position PRI] [stream MUL] [event_id UNI] [event_type MUL]]"},
		{"by_type.OrderPlaced", "[[PRIMARY position 0] [stream stream 1] [event_id event_id 0]]",
			"[[position PRI] [stream MUL] [event_id UNI] [event_type ]]"},
		{"by_category.Cart", "[[PRIMARY position 0] [stream stream 1] [event_id event_id 0] [event_type event_type 1]]",
			"[[position PRI] [stream MUL] [event_id UNI] [event_type MUL]]"},
	} {
		var idx [][]string
		for _, r := range queryStrings(t, db, "SHOW INDEXES FROM "+tc.table) {
			idx = append(idx, []string{r[2], r[4], r[1]}) // Key_name, Column_name, Non_unique
		}
		if fmt.Sprint(idx) != tc.indexes {
			t.Errorf("SHOW INDEXES FROM %s = %v, want %s", tc.table, idx, tc.indexes)
		}
		var keys [][]string
		for _, r := range queryStrings(t, db, "DESCRIBE "+tc.table)[:5] {
			if r[0] != "version" {
				keys = append(keys, []string{r[0], r[3]}) // Field, Key
			}
		}
		if fmt.Sprint(keys) != tc.keys {
			t.Errorf("DESCRIBE %s keys = %v, want %s", tc.table, keys, tc.keys)
		}
		schema, table, _ := strings.Cut(tc.table, ".")
		stats := queryStrings(t, db, "SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS "+
			"WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, table)
		if fmt.Sprint(stats) != tc.indexes {
			t.Errorf("information_schema.STATISTICS of %s = %v, want %s", tc.table, stats, tc.indexes)
		}
	}
	// Lookup joins still use the indexes.
	plan := queryStrings(t, db, "EXPLAIN FORMAT=TREE SELECT /*+ LOOKUP_JOIN(o,c) */ o.stream, c.event_type FROM by_type.OrderPlaced o "+
		"JOIN by_category.Cart c ON c.stream = o.stream WHERE o.position = 1")
	if s := fmt.Sprint(plan); !strings.Contains(s, "LookupJoin") || !strings.Contains(s, "keys: o.stream") {
		t.Fatalf("join plan:\n%s", s)
	}
}

func TestWritesAndBadQueriesAreRefused(t *testing.T) {
	st, open := testFront(t)
	appendEvents(t, st, "order-1", "OrderPlaced", `{"amount":10}`)
	admin := open("admin", "admin-pw")
	for _, q := range []string{
		"INSERT INTO events (position, stream, version, event_id, event_type, created_at) VALUES (99, 's', 0, 'x', 'T', NOW())",
		"INSERT INTO events (stream) VALUES ('x')",
		"REPLACE INTO events (stream) VALUES ('x')",
		"INSERT INTO by_type.OrderPlaced (amount) VALUES (5)",
		"INSERT INTO streams (stream) VALUES ('x')",
		"INSERT INTO events SELECT * FROM events",
		"DELETE FROM events",
		"UPDATE events SET stream = 'x'",
		"DELETE FROM by_type.OrderPlaced",
		"CREATE TABLE foo (a INT)",
		"DROP TABLE events",
		"CREATE DATABASE lake",
		"DROP DATABASE by_type",
		"CREATE VIEW v AS SELECT 1",
	} {
		_, err := admin.Exec(q)
		if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "1036") {
			t.Errorf("%s: err = %v, want ERROR 1036 refusal", q, err)
		}
	}
	// The refusal names the statement, also a DELETE that GMS runs as a
	// truncate.
	for q, want := range map[string]string{
		"DELETE FROM events":              "DELETE on eventsql.events refused",
		"DELETE FROM by_type.OrderPlaced": "DELETE on by_type.OrderPlaced refused",
		"TRUNCATE events":                 "TRUNCATE on eventsql.events refused",
		"  delete from events where 1=1":  "DELETE on eventsql.events refused",
	} {
		if _, err := admin.Exec(q); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", q, err, want)
		}
	}
	if _, err := admin.Exec("INSERT INTO by_category.`order` (stream, data) VALUES (?, ?)", "order-9", "{}"); err == nil ||
		!strings.Contains(err.Error(), "1036") || !strings.Contains(err.Error(), "by_category.order") {
		t.Errorf("prepared partial INSERT: %v, want ERROR 1036 naming the table", err)
	}
	for q, want := range map[string]string{
		"SELECT * FROM nope":                  "Error 1146 (42S02): table not found: nope",
		"SELECT nope FROM events":             "Error 1054 (42S22): column \"nope\"",
		"SELECT e.nope FROM events e":         "Error 1054 (42S22): table \"e\" does not have column \"nope\"",
		"SELECT * FROM by_type.NoSuchType":    "nosuchtype",
		"SELECT * FROM events WHERE nope = 1": "1054",
		"SELEC 1":                             "Error 1064 (42000): syntax error at position 6 near 'SELEC'",
	} {
		_, err := admin.Query(q)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
			t.Errorf("%s: err = %v, want one naming %q", q, err, want)
		}
	}
	if err := open("reader", "wrong").Ping(); err == nil || !strings.Contains(err.Error(), "1045") {
		t.Fatalf("wrong password: %v, want ERROR 1045", err)
	}
	if got := queryStrings(t, admin, "SELECT COUNT(*) FROM events"); got[0][0] != "1" {
		t.Fatalf("refused writes changed something: %v", got)
	}
	// Every way a client reads the version names eventsql, never GMS's
	// "8.0.31" / "Dolt" defaults.
	got := queryStrings(t, admin, "SELECT VERSION(), @@version, @@version_comment")
	if want := []string{"8.0.33-eventsql-test", "8.0.33-eventsql-test", "eventsql"}; !slices.Equal(got[0], want) {
		t.Fatalf("VERSION(), @@version, @@version_comment = %v, want %v", got[0], want)
	}
	got = queryStrings(t, admin, "SHOW VARIABLES LIKE 'version_comment'")
	if got[0][1] != "eventsql" {
		t.Fatalf("SHOW VARIABLES: %v", got)
	}
}

func TestPushdownReadsOnlyWhatItNeeds(t *testing.T) {
	st, open := testFront(t)
	for i := range 200 {
		appendEvents(t, st, fmt.Sprintf("cart-%d", i), "ItemAdded", `{"n":1}`, `{"n":2}`)
		if i%50 == 0 {
			appendEvents(t, st, fmt.Sprintf("cart-%d", i), "CheckedOut", `{"total":3}`)
		}
	}
	db := open("reader", "r-pw")
	decoded := func(q string, args ...any) uint64 {
		t.Helper()
		before := st.Stats().EventsDecoded
		queryStrings(t, db, q, args...)
		return st.Stats().EventsDecoded - before
	}
	tests := []struct {
		query string
		args  []any
		max   uint64
	}{
		{"SELECT * FROM events WHERE stream = 'cart-7'", nil, 2},
		{"SELECT * FROM events WHERE stream = ?", []any{"cart-7"}, 2},
		{"SELECT * FROM events WHERE stream IN ('cart-7', 'cart-9')", nil, 4},
		{"SELECT * FROM events WHERE event_type = 'CheckedOut'", nil, 4},
		{"SELECT * FROM events WHERE position BETWEEN 10 AND 19", nil, 10},
		{"SELECT * FROM events WHERE position > 400", nil, 4},
		{"SELECT * FROM by_type.CheckedOut", nil, 4},
		{"SELECT * FROM by_type.ItemAdded WHERE stream = 'cart-3'", nil, 2},
		{"SELECT * FROM events WHERE stream = 'cart-7' AND event_type = 'CheckedOut'", nil, 2},
	}
	// Schema inference of by_type tables reads events once; warm it up.
	queryStrings(t, db, "SELECT 1 FROM by_type.CheckedOut LIMIT 1")
	queryStrings(t, db, "SELECT 1 FROM by_type.ItemAdded LIMIT 1")
	for _, tt := range tests {
		if n := decoded(tt.query, tt.args...); n > tt.max {
			t.Errorf("%s decoded %d events, want <= %d", tt.query, n, tt.max)
		}
	}
}

func TestReadersCannotChangeServerState(t *testing.T) {
	_, open := testFront(t)
	reader, admin := open("reader", "r-pw"), open("admin", "admin-pw")
	admin.SetMaxOpenConns(1)
	var adminConn int64
	if err := admin.QueryRow("SELECT CONNECTION_ID()").Scan(&adminConn); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SET GLOBAL max_connections = 7",
		"SET @@global.sql_mode = ''",
		"SET PERSIST max_connections = 7",
		"CREATE USER x IDENTIFIED BY 'y'",
		"GRANT ALL ON *.* TO reader",
		fmt.Sprintf("KILL %d", adminConn),
		fmt.Sprintf("KILL QUERY %d", adminConn),
	} {
		if _, err := reader.Exec(q); err == nil {
			t.Errorf("reader ran %q", q)
		}
	}
	var v string
	if err := admin.QueryRow("SELECT @@global.max_connections").Scan(&v); err != nil || v == "7" {
		t.Fatalf("max_connections = %q, %v", v, err)
	}
	// Session variables stay the user's own business.
	if _, err := reader.Exec("SET SESSION sql_select_limit = 10"); err != nil {
		t.Fatalf("SET SESSION: %v", err)
	}
	if _, err := admin.Exec("SET GLOBAL max_connections = 500"); err != nil {
		t.Fatalf("admin SET GLOBAL: %v", err)
	}
}

// TestReadersGetMySQLsAccessErrors checks what a reader may read and that
// refusals carry MySQL's codes (1142 naming the table, 1227 naming the
// privilege), which clients and tools branch on.
func TestReadersGetMySQLsAccessErrors(t *testing.T) {
	st, open := testFront(t)
	appendEvents(t, st, "order-1", "OrderPlaced", `{"amount":10}`)
	reader := open("reader", "r-pw")
	for q, want := range map[string]string{
		"DELETE FROM events":                                 "Error 1142 (42000): DELETE command denied to user 'reader'@'%' for table 'eventsql.events'",
		"DELETE FROM by_type.OrderPlaced":                    "Error 1142 (42000): DELETE command denied to user 'reader'@'%' for table 'by_type.OrderPlaced'",
		"UPDATE events SET stream = 'x'":                     "Error 1142 (42000): UPDATE command denied",
		"SELECT User, authentication_string FROM mysql.user": "Error 1044 (42000): Access denied for user 'reader'@'%' to database 'mysql'",
		"CREATE USER x IDENTIFIED BY 'y'":                    "Error 1227 (42000): Access denied; you need (at least one of) the CREATE USER privilege(s)",
	} {
		if _, err := reader.Exec(q); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", q, err, want)
		}
	}
	for _, q := range []string{
		"SELECT COUNT(*) FROM eventsql.events",
		"SELECT COUNT(*) FROM by_type.OrderPlaced",
		"SELECT COUNT(*) FROM by_category.`order`",
		"SELECT COUNT(*) FROM eventsql.streams",
		"SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'by_type'",
	} {
		if got := queryStrings(t, reader, q); got[0][0] == "0" {
			t.Errorf("%s: reader read nothing", q)
		}
	}
	// Their own grants, as in MySQL (tools ask on connect); not others'.
	for _, q := range []string{"SHOW GRANTS", "SHOW GRANTS FOR CURRENT_USER()", "SHOW GRANTS FOR reader", "SHOW GRANTS FOR 'reader'@'%'"} {
		if got := fmt.Sprint(queryStrings(t, reader, q)); !strings.Contains(got, "GRANT SELECT ON `eventsql`.* TO `reader`@`%`") {
			t.Errorf("%s: %s", q, got)
		}
	}
	if _, err := reader.Query("SHOW GRANTS FOR admin"); err == nil || !strings.Contains(err.Error(), "1044") {
		t.Errorf("a reader's SHOW GRANTS FOR admin: %v, want ERROR 1044", err)
	}
	got := queryStrings(t, reader, "SHOW DATABASES")
	var names []string
	for _, r := range got {
		names = append(names, r[0])
	}
	for _, db := range []string{"by_category", "by_type", "eventsql", "information_schema"} {
		if !slices.Contains(names, db) {
			t.Errorf("SHOW DATABASES for a reader = %v, missing %s", names, db)
		}
	}
}

func TestQueryTimeout(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	opts := engine.DefaultOptions()
	opts.Logger = logger
	st, err := engine.Open(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fe, err := New(st, []Account{{Name: "admin", Admin: true, NativeHash: httpfront.HashPassword("pw")}},
		Options{Version: "x", QueryTimeout: 200 * time.Millisecond}, logger)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go fe.Serve(l)
	defer fe.Close()
	db, _ := sql.Open("mysql", "admin:pw@tcp("+l.Addr().String()+")/eventsql")
	defer db.Close()
	_, err = db.Exec("SELECT SLEEP(5)")
	if err == nil || !strings.Contains(err.Error(), "3024") {
		t.Fatalf("SLEEP(5) with a 200ms timeout: %v, want ERROR 3024", err)
	}
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("a quick query after a timeout: %v", err)
	}
}

func TestCountStarUsesIndexCountsOnlyWhenExact(t *testing.T) {
	st, open := testFront(t)
	for i := range 50 {
		appendEvents(t, st, fmt.Sprintf("cart-%d", i), "ItemAdded", `{"n":1}`, `{"n":2}`)
	}
	db := open("reader", "r-pw")
	count := func(q string) (string, uint64) {
		t.Helper()
		before := st.Stats().EventsDecoded
		got := queryStrings(t, db, q)
		return got[0][0], st.Stats().EventsDecoded - before
	}
	queryStrings(t, db, "SELECT 1 FROM by_type.ItemAdded LIMIT 1") // schema inference
	for _, q := range []string{"SELECT COUNT(*) FROM events", "SELECT COUNT(*) FROM by_type.ItemAdded", "SELECT COUNT(*) FROM by_category.cart"} {
		if n, decoded := count(q); n != "100" || decoded != 0 {
			t.Errorf("%s = %s, decoded %d events; want 100 from the index", q, n, decoded)
		}
	}
	// Once a stream hides events, counts must scan to stay right.
	if err := st.SetStreamMetadata(context.Background(), "cart-0", engine.StreamMetadata{MaxCount: 1}); err != nil {
		t.Fatal(err)
	}
	if n, _ := count("SELECT COUNT(*) FROM events"); n != "99" {
		t.Fatalf("COUNT(*) with a $maxCount stream = %s, want 99", n)
	}
	if n, _ := count("SELECT COUNT(*) FROM by_type.ItemAdded"); n != "99" {
		t.Fatalf("by_type COUNT(*) with a $maxCount stream = %s, want 99", n)
	}
}

// TestNoServerFilesFromSQL: no user, reader or admin, reads or writes
// files on the server's machine through SQL (GMS did it for anyone: a
// reader's LOAD_FILE read any file the server could, INTO OUTFILE wrote
// new ones).
func TestNoServerFilesFromSQL(t *testing.T) {
	st, open := testFront(t)
	appendEvents(t, st, "order-1", "OrderPlaced", `{"amount":10}`)
	dir := t.TempDir()
	secret := dir + "/secret.txt"
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, user := range [][2]string{{"reader", "r-pw"}, {"admin", "admin-pw"}} {
		db := open(user[0], user[1])
		for i, q := range []string{
			"SELECT LOAD_FILE('" + secret + "')",
			"SELECT stream FROM events WHERE stream = LOAD_FILE('" + secret + "')",
			"SELECT (SELECT LOAD_FILE('" + secret + "'))",
			"SELECT stream FROM events WHERE EXISTS (SELECT 1 FROM events e2 WHERE e2.stream = LOAD_FILE('" + secret + "'))",
			fmt.Sprintf("SELECT stream FROM events INTO OUTFILE '%s/out-%s-%d.csv'", dir, user[0], 5),
			fmt.Sprintf("SELECT stream FROM events LIMIT 1 INTO DUMPFILE '%s/out-%s-%d.bin'", dir, user[0], 6),
			"LOAD DATA INFILE '" + secret + "' INTO TABLE events",
		} {
			_, err := db.Exec(q)
			if err == nil || !strings.Contains(err.Error(), "1290") && !(i == 6 && user[0] == "reader" && strings.Contains(err.Error(), "1227")) {
				t.Errorf("%s: %s: %v, want ERROR 1290", user[0], q, err)
			}
		}
		// Prepared, the file name a parameter.
		if _, err := db.Query("SELECT LOAD_FILE(?)", secret); err == nil || !strings.Contains(err.Error(), "1290") {
			t.Errorf("%s: prepared LOAD_FILE: %v, want ERROR 1290", user[0], err)
		}
		// Variables still work.
		if got := queryStrings(t, db, "SELECT COUNT(*) FROM events INTO @n"); len(got) != 0 {
			t.Errorf("INTO @n returned rows %v", got)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files written: %v", entries)
	}
}

// TestUserChangesAreRefusedForReal: statements that change users or
// privileges fail and change nothing. GMS applied them in memory and
// then failed to save them: CREATE USER answered an error yet the user
// could log in, and a reader's ALTER USER changed their SQL password.
func TestUserChangesAreRefusedForReal(t *testing.T) {
	_, open := testFront(t)
	admin, reader := open("admin", "admin-pw"), open("reader", "r-pw")
	for _, q := range []string{
		"CREATE USER zed IDENTIFIED BY 'x'",
		"GRANT SELECT ON *.* TO reader",
		"GRANT ALL ON *.* TO zed",
		"ALTER USER reader IDENTIFIED BY 'changed'",
		"CREATE ROLE r1",
		"RENAME USER reader TO r2",
		"DROP USER reader",
		"REVOKE SELECT ON eventsql.* FROM reader",
		"FLUSH PRIVILEGES",
	} {
		if _, err := admin.Exec(q); err == nil || !strings.Contains(err.Error(), "1290") || !strings.Contains(err.Error(), "nothing was changed") {
			t.Errorf("admin: %s: %v, want ERROR 1290", q, err)
		}
	}
	if _, err := reader.Exec("ALTER USER reader IDENTIFIED BY 'changed'"); err == nil {
		t.Error("a reader's ALTER USER of themselves succeeded")
	}
	if err := open("zed", "x").Ping(); err == nil || !strings.Contains(err.Error(), "1045") {
		t.Errorf("zed logged in: %v", err)
	}
	if err := open("reader", "changed").Ping(); err == nil {
		t.Error("the reader's password changed")
	}
	fresh := open("reader", "r-pw")
	if err := fresh.Ping(); err != nil {
		t.Fatalf("the reader's own password: %v", err)
	}
	if _, err := fresh.Query("SELECT User FROM mysql.user"); err == nil || !strings.Contains(err.Error(), "1044") {
		t.Errorf("the reader reads mysql.user after GRANT: %v", err)
	}
	got := queryStrings(t, admin, "SELECT User FROM mysql.user ORDER BY User")
	if fmt.Sprint(got) != "[[admin] [reader]]" {
		t.Errorf("mysql.user = %v", got)
	}
}

// TestRoutinesAndEventsAreEmpty: the metadata tools read about stored
// procedures and events is empty rather than an error (GMS failed with
// "database eventsql doesn't support stored procedures"), and creating
// them is refused like other DDL.
func TestRoutinesAndEventsAreEmpty(t *testing.T) {
	_, open := testFront(t)
	reader, admin := open("reader", "r-pw"), open("admin", "admin-pw")
	for _, q := range []string{
		"SELECT COUNT(*) FROM information_schema.ROUTINES",
		"SELECT COUNT(*) FROM information_schema.PARAMETERS",
		"SELECT COUNT(*) FROM information_schema.EVENTS",
		"SELECT COUNT(*) FROM information_schema.TRIGGERS",
	} {
		if got := queryStrings(t, reader, q); fmt.Sprint(got) != "[[0]]" {
			t.Errorf("%s = %v", q, got)
		}
	}
	for _, q := range []string{"SHOW PROCEDURE STATUS", "SHOW FUNCTION STATUS", "SHOW EVENTS", "SHOW PROCEDURE STATUS WHERE Db = 'eventsql'"} {
		if got := queryStrings(t, reader, q); len(got) != 0 {
			t.Errorf("%s = %v", q, got)
		}
	}
	for _, q := range []string{
		"CREATE PROCEDURE p() SELECT 1",
		"CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO SELECT 1",
	} {
		if _, err := admin.Exec(q); err == nil || !strings.Contains(err.Error(), "1036") {
			t.Errorf("%s: %v, want ERROR 1036", q, err)
		}
	}
	if _, err := admin.Exec("CALL p()"); err == nil {
		t.Error("CALL of an unknown procedure succeeded")
	}
}
