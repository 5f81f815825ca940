package sqlfront

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
)

// twoFronts serves one store twice: with native aggregates (chunks of
// chunk positions, so scans merge many chunks) and without.
func twoFronts(t testing.TB, st *engine.Store, chunk uint64) (native, generic *sql.DB) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	accounts := []Account{
		{Name: "admin", Admin: true, NativeHash: httpfront.HashPassword("admin-pw")},
		{Name: "reader", NativeHash: httpfront.HashPassword("r-pw")},
	}
	serve := func(opts Options) *sql.DB {
		fe, err := New(st, accounts, opts, logger)
		if err != nil {
			t.Fatal(err)
		}
		if chunk > 0 {
			fe.aggChunk = chunk
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go fe.Serve(l)
		db, err := sql.Open("mysql", fmt.Sprintf("reader:r-pw@tcp(%s)/eventsql?parseTime=true", l.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			db.Close()
			fe.Close()
		})
		return db
	}
	return serve(Options{Version: "x"}), serve(Options{Version: "x", DisableNativeAggregates: true})
}

func openStore(t testing.TB) *engine.Store {
	t.Helper()
	return openStoreIn(t, t.TempDir())
}

// openStoreIn is openStore in dir.
func openStoreIn(t testing.TB, dir string) *engine.Store {
	t.Helper()
	opts := engine.DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.SegmentSize = 1 << 20
	st, err := engine.Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fillAggData writes events of three types over three categories, with
// typed fields of every kind, NULLs, and DOUBLE values whose sum depends
// on the order of addition, appended over ten days (7 hours a batch).
func fillAggData(t testing.TB, st *engine.Store) {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 5, 0, 0, 0, time.UTC)
	for b := range 30 {
		var parts []engine.StreamAppend
		for s := range 10 {
			i := b*10 + s
			var evs []engine.EventData
			for k := range 10 {
				j := i*10 + k
				var d string
				typ := "OrderPlaced"
				switch {
				case j%5 == 3:
					typ = "PaymentMade"
					d = fmt.Sprintf(`{"amount":%g,"order":"order-%d"}`, float64(j%17)*0.1, j%9)
				case j%11 == 4:
					typ = "Mixed"
					if j%2 == 0 {
						d = `{"v":1}`
					} else {
						d = `{"v":"x"}`
					}
				default:
					price := float64(j%7) * 0.1
					if j%13 == 0 {
						price = 1e15 + 0.5
					}
					d = fmt.Sprintf(`{"amount":%d,"price":%v,"sku":"sku-%d","at":"2026-0%d-1%dT10:00:00Z"`, j%1000, price, j%4, 1+j%3, j%10)
					if j%3 == 0 {
						d += fmt.Sprintf(`,"paid":%v`, j%2 == 0)
					}
					d += "}"
				}
				evs = append(evs, engine.EventData{Type: typ, Data: []byte(d), DataIsJSON: true})
			}
			cat := []string{"order", "cart", "payment"}[i%3]
			parts = append(parts, engine.StreamAppend{Stream: fmt.Sprintf("%s-%d", cat, i%40), Expected: engine.ExpectAny, Events: evs})
		}
		if _, err := st.Apply(ctx, engine.Command{Time: start.Add(time.Duration(b) * 7 * time.Hour), Appends: parts}); err != nil {
			t.Fatal(err)
		}
	}
	// A stream named like its category; fields written twice (the last
	// counts) and keys with escapes.
	if _, err := st.Append(ctx, "cart", engine.ExpectAny, engine.EventData{Type: "Mixed", Data: []byte(`{"v":2}`), DataIsJSON: true},
		engine.EventData{Type: "Dup", Data: []byte(`{"a":1,"b":"first","a":2,"c\u0064":"x","b":"last"}`), DataIsJSON: true},
		engine.EventData{Type: "Dup", Data: []byte(`{"b":"only","a":5, "cd" : "y\"z"}`), DataIsJSON: true}); err != nil {
		t.Fatal(err)
	}
}

// result is a query's column names, column types and rows as text.
type result struct {
	cols  []string
	types []string
	rows  [][]string
}

func runQuery(t testing.TB, db *sql.DB, q string, args ...any) (result, error) {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		return result{}, err
	}
	defer rows.Close()
	var r result
	r.cols, _ = rows.Columns()
	cts, _ := rows.ColumnTypes()
	for _, c := range cts {
		r.types = append(r.types, c.DatabaseTypeName())
	}
	for rows.Next() {
		vals := make([]sql.NullString, len(r.cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return result{}, err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = v.String
			if !v.Valid {
				row[i] = "NULL"
			}
		}
		r.rows = append(r.rows, row)
	}
	return r, rows.Err()
}

// explain returns the plan of q; EXPLAIN cannot be prepared, so
// arguments are inlined.
func explain(t testing.TB, db *sql.DB, q string, args ...any) string {
	t.Helper()
	for _, a := range args {
		lit := fmt.Sprint(a)
		if s, ok := a.(string); ok {
			lit = "'" + s + "'"
		}
		q = strings.Replace(q, "?", lit, 1)
	}
	rows, err := db.Query("EXPLAIN PLAN " + q)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", q, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		b.WriteString(s + "\n")
	}
	return b.String()
}

type aggCase struct {
	query string
	args  []any
	// native: the plan uses NativeAggregate; indexOnly: it decodes no
	// event (while no stream hides events); perDay: it decodes one event
	// per day (and more than one in all).
	native, indexOnly, perDay bool
}

var aggCases = []aggCase{
	{query: "SELECT event_type, COUNT(*) FROM events GROUP BY event_type", native: true, indexOnly: true},
	{query: "SELECT COUNT(*), event_type FROM events GROUP BY event_type HAVING COUNT(*) > 100", native: true, indexOnly: true},
	{query: "SELECT event_type AS t, COUNT(*) AS n FROM events GROUP BY t ORDER BY n DESC", native: true, indexOnly: true},
	{query: "SELECT COUNT(*) FROM events WHERE event_type = 'OrderPlaced'", native: true, indexOnly: true},
	{query: "SELECT event_type, COUNT(*), MIN(position), MAX(position) FROM events WHERE event_type IN ('Mixed', 'PaymentMade', 'Nope') GROUP BY event_type", native: true, indexOnly: true},
	{query: "SELECT COUNT(*), MAX(position) FROM events WHERE event_type = 'Nope'", native: true, indexOnly: true},
	{query: "SELECT COUNT(*), MIN(position) FROM events WHERE event_type = 'Mixed' AND event_type = 'OrderPlaced'", native: true, indexOnly: true},
	{query: "SELECT COUNT(*), MIN(position) FROM events WHERE event_type = 'Mixed' AND event_type IN ('Mixed', 'OrderPlaced')", native: true, indexOnly: true},
	{query: "SELECT COUNT(*) FROM events WHERE event_type IN ('OrderPlaced', 'Mixed') AND position > 10", native: true},
	{query: "SELECT COUNT(*) FROM events WHERE stream = 'order-6'", native: true},
	{query: "SELECT COUNT(*) FROM events WHERE stream = ?", args: []any{"order-6"}, native: true},
	{query: "SELECT COUNT(*), MAX(version) FROM events WHERE stream IN ('order-6', 'cart-1', 'nope')", native: true},
	{query: "SELECT COUNT(*) FROM events WHERE position BETWEEN 100 AND 1500", native: true, indexOnly: true},
	{query: "SELECT COUNT(*), MIN(position), MAX(position) FROM events WHERE position > 2000", native: true, indexOnly: true},
	{query: "SELECT COUNT(*), MIN(position) FROM events WHERE position >= 10.5 AND position < 2999.5 AND position <= 18446744073709551615", native: true},
	{query: "SELECT COUNT(*), MIN(position) FROM events WHERE position >= 10 AND position < 2999 AND position <= 18446744073709551615 AND -5 < position", native: true, indexOnly: true},
	{query: "SELECT COUNT(*), MAX(position) FROM events WHERE position = 7", native: true, indexOnly: true},
	{query: "SELECT COUNT(*), MAX(position) FROM events WHERE position = 7 AND position > 7", native: true, indexOnly: true},
	{query: "SELECT COUNT(*) FROM events WHERE created_at >= '2000-01-01 00:00:00'", native: true},
	{query: "SELECT COUNT(*) FROM events WHERE position > 100000", native: true, indexOnly: true},
	{query: "SELECT stream, COUNT(*) FROM events GROUP BY stream", native: true, indexOnly: true},
	{query: "SELECT stream, COUNT(*) FROM by_category.`order` GROUP BY stream", native: true, indexOnly: true},
	{query: "SELECT stream, COUNT(*), MIN(position), MAX(position), MIN(version), MAX(version) FROM by_category.cart GROUP BY stream", native: true, indexOnly: true},
	{query: "SELECT stream AS s, MAX(version) AS v FROM events GROUP BY s HAVING v > 15 ORDER BY s", native: true, indexOnly: true},
	{query: "SELECT event_type, COUNT(*) FROM by_category.cart GROUP BY event_type", native: true},
	{query: "SELECT DATE(created_at), COUNT(*) FROM events GROUP BY DATE(created_at)", native: true, perDay: true},
	{query: "SELECT DATE(created_at), MIN(created_at), COUNT(*), MIN(position), MAX(position) FROM events WHERE position > 500 AND position <= 2700 GROUP BY DATE(created_at)", native: true, perDay: true},
	{query: "SELECT DATE(created_at) AS d, COUNT(*) FROM events GROUP BY d HAVING COUNT(*) > 250 ORDER BY d DESC", native: true, perDay: true},
	{query: "SELECT event_type, DATE(created_at) AS day, COUNT(*) FROM events GROUP BY 1, 2", native: true},
	{query: "SELECT SUM(amount), MIN(amount), MAX(amount), AVG(amount), COUNT(amount) FROM by_type.OrderPlaced", native: true},
	{query: "SELECT SUM(amount), AVG(amount) FROM by_type.OrderPlaced WHERE amount > 500", native: true},
	{query: "SELECT SUM(price), AVG(price), MIN(price), MAX(price) FROM by_type.OrderPlaced", native: true},
	{query: "SELECT SUM(price), AVG(price) FROM by_type.OrderPlaced WHERE amount >= 10 AND amount < 900 AND sku <> 'sku-2'", native: true},
	{query: "SELECT SUM(price), COUNT(*) FROM by_type.OrderPlaced WHERE amount > ? AND sku = ?", args: []any{100, "sku-1"}, native: true},
	{query: "SELECT sku, SUM(price), COUNT(*), AVG(amount) FROM by_type.OrderPlaced GROUP BY sku", native: true},
	{query: "SELECT SUM(amount), AVG(amount), MIN(amount), COUNT(*) FROM by_type.OrderPlaced WHERE amount > 100000", native: true},
	{query: "SELECT sku, SUM(amount) FROM by_type.OrderPlaced WHERE amount > 100000 GROUP BY sku", native: true},
	{query: "SELECT COUNT(*), SUM(amount) FROM by_type.OrderPlaced WHERE stream = 'order-3'", native: true},
	{query: "SELECT SUM(position), AVG(version), MIN(created_at), MAX(created_at) FROM events", native: true},
	{query: "SELECT COUNT(paid), SUM(paid), MIN(at), MAX(at) FROM by_type.OrderPlaced", native: true},
	{query: "SELECT COUNT(*) FROM by_type.OrderPlaced o WHERE o.amount = 7", native: true},
	{query: "SELECT MIN(sku), MAX(stream), MIN(event_id) FROM by_type.OrderPlaced WHERE paid IS NULL", native: true},
	{query: "SELECT SUM(amount) FROM by_type.PaymentMade WHERE amount BETWEEN 0.3 AND 1.2 OR amount IN (0.1, 1.5)", native: true},
	{query: "SELECT stream, COUNT(*) FROM by_category.payment WHERE event_type = 'PaymentMade' GROUP BY stream HAVING COUNT(*) > 2", native: true},
	{query: "SELECT COUNT(*), SUM(price) FROM by_type.OrderPlaced WHERE position > -1 AND 300 < amount AND version >= 2 AND sku < 'sku-2' AND price >= 0", native: true},
	{query: "SELECT COUNT(*), AVG(amount) FROM by_type.OrderPlaced WHERE price > 0.3 AND price <= 1e15 AND amount <> 7 AND stream <> 'order-3'", native: true},
	{query: "SELECT COUNT(*) FROM events WHERE position >= 18446744073709551615 OR version < 0", native: true},
	{query: "SELECT COUNT(*) FROM by_type.OrderPlaced WHERE NOT (amount = 7) AND paid = 1 AND at > '2026-02-12'", native: true},
	{query: "SELECT COUNT(*), SUM(price) FROM by_type.OrderPlaced WHERE amount IN (7, 8, 900, 12)", native: true},
	{query: "SELECT COUNT(*), SUM(amount) FROM by_type.OrderPlaced WHERE price IN (0, 1) AND paid IS NOT NULL", native: true},
	{query: "SELECT COUNT(*), MAX(amount) FROM by_type.OrderPlaced WHERE position BETWEEN 5 AND 2000 AND version BETWEEN 1 AND 3", native: true},
	{query: "SELECT event_type, COUNT(*) FROM events WHERE stream IN ('order-6', 'cart-1') AND event_type IN ('OrderPlaced', 'Mixed') GROUP BY event_type", native: true},
	// A column as a condition (true when not zero), as MySQL and GMS
	// take it: the native scan once kept only Go true, so none.
	{query: "SELECT COUNT(*), SUM(amount) FROM by_type.OrderPlaced WHERE paid", native: true},
	{query: "SELECT COUNT(*) FROM by_type.OrderPlaced WHERE paid AND amount > 100", native: true},
	{query: "SELECT COUNT(*) FROM by_type.OrderPlaced WHERE NOT paid", native: true},
	{query: "SELECT sku, COUNT(*) FROM by_type.OrderPlaced WHERE amount GROUP BY sku", native: true},
	{query: "SELECT COUNT(*) FROM by_type.OrderPlaced WHERE price", native: true},
	{query: "SELECT SUM(a), MIN(b), MAX(cd), COUNT(*) FROM by_type.Dup", native: true},
	{query: "SELECT SUM(a) FROM by_type.Dup WHERE b = 'last'", native: true},
	{query: "SELECT b, SUM(a) FROM by_type.Dup WHERE cd IS NOT NULL GROUP BY b", native: true},
	// Shapes left to GMS.
	{query: "SELECT SUM(amount * 2) FROM by_type.OrderPlaced"},
	{query: "SELECT COUNT(DISTINCT stream) FROM events"},
	{query: "SELECT COUNT(*) FROM events WHERE data->>'$.amount' = '5'"},
	{query: "SELECT COUNT(v), MAX(v) FROM by_type.Mixed"},
	{query: "SELECT e.event_type, COUNT(*) FROM events e JOIN streams s ON s.stream = e.stream GROUP BY e.event_type"},
}

// TestNativeAggregatesMatchGMS runs every case with native aggregates on
// and off and compares columns, types and rows exactly (row order too:
// both give groups in order of first appearance), then again once streams
// hide events (index counts no longer exact).
func TestNativeAggregatesMatchGMS(t *testing.T) {
	st := openStore(t)
	fillAggData(t, st)
	native, generic := twoFronts(t, st, 97)
	check := func(t *testing.T, restricted bool) {
		for _, c := range aggCases {
			plan := explain(t, native, c.query, c.args...)
			if got := strings.Contains(plan, "NativeAggregate"); got != c.native {
				t.Errorf("%s: native plan = %v, want %v:\n%s", c.query, got, c.native, plan)
			}
			if strings.Contains(explain(t, generic, c.query, c.args...), "NativeAggregate") {
				t.Errorf("%s: native plan with native aggregates off", c.query)
			}
			before := st.Stats().EventsDecoded
			got, err := runQuery(t, native, c.query, c.args...)
			if err != nil {
				t.Errorf("%s: %v", c.query, err)
				continue
			}
			decoded := st.Stats().EventsDecoded - before
			want, err := runQuery(t, generic, c.query, c.args...)
			if err != nil {
				t.Errorf("%s (generic): %v", c.query, err)
				continue
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s:\nnative  %v\ngeneric %v", c.query, got, want)
			}
			if len(want.rows) == 0 && !strings.Contains(c.query, "100000") && !strings.Contains(c.query, "HAVING") {
				t.Errorf("%s: no rows; the case tests nothing", c.query)
			}
			if c.indexOnly && !restricted && decoded != 0 {
				t.Errorf("%s: decoded %d events, want 0 (index counts)", c.query, decoded)
			}
			if c.perDay && !restricted && (decoded > 12 || decoded < 2) {
				t.Errorf("%s: decoded %d events, want one a day over ten days", c.query, decoded)
			}
			if c.indexOnly && restricted && decoded == 0 && want.rows[0][0] != "0" {
				t.Errorf("%s: decoded nothing while streams hide events", c.query)
			}
		}
	}
	// Warm up schema inference, which reads events once per type.
	for _, typ := range []string{"OrderPlaced", "PaymentMade", "Mixed"} {
		runQuery(t, native, "SELECT 1 FROM by_type."+typ+" LIMIT 1")
		runQuery(t, generic, "SELECT 1 FROM by_type."+typ+" LIMIT 1")
	}
	t.Run("all visible", func(t *testing.T) { check(t, false) })
	ctx := context.Background()
	if err := st.SetStreamMetadata(ctx, "order-6", engine.StreamMetadata{MaxCount: 3}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteStream(ctx, "cart-1", engine.ExpectAny, false); err != nil {
		t.Fatal(err)
	}
	t.Run("streams hide events", func(t *testing.T) { check(t, true) })
}

// TestNativeAggregatesParallel: plans evaluating only Go predicates scan
// on every core; plans with GMS expressions (which may write session
// warnings) on one.
func TestNativeAggregatesParallel(t *testing.T) {
	st := openStore(t)
	fillAggData(t, st)
	native, _ := twoFronts(t, st, 97)
	for q, want := range map[string]string{
		"SELECT COUNT(*) FROM events WHERE version > 3 AND stream IN ('order-1', 'cart-2') OR version = 1": "read: scan",
		"SELECT DATE(created_at), COUNT(*) FROM events WHERE version > 3 GROUP BY DATE(created_at)":        "read: parallel scan",
		"SELECT SUM(amount) FROM by_type.OrderPlaced WHERE sku IN ('sku-1', 'sku-2') AND paid IS NULL":     "read: parallel scan",
	} {
		if plan := explain(t, native, q); !strings.Contains(plan, want) {
			t.Errorf("%s: plan does not say %q:\n%s", q, want, plan)
		}
	}
}

// TestNativeAggregatesPrepared runs cases as server-side prepared
// statements (go-sql-driver prepares whenever there are arguments).
func TestNativeAggregatesPrepared(t *testing.T) {
	st := openStore(t)
	fillAggData(t, st)
	native, generic := twoFronts(t, st, 97)
	for _, q := range []string{
		"SELECT event_type, COUNT(*) FROM events WHERE position > ? GROUP BY event_type",
		"SELECT SUM(price), MAX(amount) FROM by_type.OrderPlaced WHERE amount > ?",
		"SELECT sku, COUNT(*) FROM by_type.OrderPlaced WHERE stream IN (?, ?) GROUP BY sku",
	} {
		for _, args := range [][]any{{1}, {700}} {
			if strings.Count(q, "?") == 2 {
				args = []any{"order-3", fmt.Sprint("cart-", args[0].(int)%40)}
			}
			stmt, err := native.Prepare(q)
			if err != nil {
				t.Fatal(err)
			}
			// Twice on one statement: the plan is reused with new values.
			for range 2 {
				rows, err := stmt.Query(args...)
				if err != nil {
					t.Fatal(err)
				}
				rows.Close()
			}
			stmt.Close()
			got, err := runQuery(t, native, q, args...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := runQuery(t, generic, q, args...)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || len(want.rows) == 0 {
				t.Errorf("%s %v:\nnative  %v\ngeneric %v", q, args, got, want)
			}
		}
	}
	// One prepared statement, executed with different values, is answered
	// from the type index each time.
	stmt, err := native.Prepare("SELECT COUNT(*) FROM events WHERE event_type = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for _, typ := range []string{"Mixed", "OrderPlaced", "Mixed", "Nope"} {
		before := st.Stats().EventsDecoded
		var got string
		if err := stmt.QueryRow(typ).Scan(&got); err != nil {
			t.Fatal(err)
		}
		decoded := st.Stats().EventsDecoded - before
		want, err := runQuery(t, generic, "SELECT COUNT(*) FROM events WHERE event_type = ?", typ)
		if err != nil {
			t.Fatal(err)
		}
		if got != want.rows[0][0] || decoded != 0 {
			t.Errorf("prepared count of %s = %s (decoded %d), want %s from the index", typ, got, decoded, want.rows[0][0])
		}
	}
}

// TestNativeAggregatesWhileAppending checks that a native aggregate sees
// one head position: every append writes an A and a B event with the
// same amount, so any consistent snapshot has equal counts and sums.
func TestNativeAggregatesWhileAppending(t *testing.T) {
	st := openStore(t)
	native, _ := twoFronts(t, st, 5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	appendPair := func(i int) error {
		d := []byte(fmt.Sprintf(`{"amount":%d}`, i%10))
		_, err := st.Append(ctx, fmt.Sprintf("pair-%d", i%50), engine.ExpectAny,
			engine.EventData{Type: "A", Data: d, DataIsJSON: true}, engine.EventData{Type: "B", Data: d, DataIsJSON: true})
		return err
	}
	for i := range 200 {
		if err := appendPair(i); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		for i := 200; ; i++ {
			if ctx.Err() != nil {
				done <- nil
				return
			}
			if err := appendPair(i); err != nil {
				done <- err
				return
			}
		}
	}()
	queries := []string{
		"SELECT event_type, COUNT(*) FROM events GROUP BY event_type",
		"SELECT event_type, COUNT(*), SUM(version) > 0 FROM events WHERE position > 0 GROUP BY event_type",
		"SELECT event_type, COUNT(*) FROM by_category.pair GROUP BY event_type",
	}
	for i := range 60 {
		q := queries[i%len(queries)]
		r, err := runQuery(t, native, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.rows) != 2 || r.rows[0][1] != r.rows[1][1] {
			t.Fatalf("%s: %v: A and B counts differ", q, r.rows)
		}
		if !strings.Contains(explain(t, native, q), "NativeAggregate") {
			t.Fatalf("%s is not native", q)
		}
	}
	cancel()
	if err := <-done; err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
}

// TestNativeScanRunsChunksConcurrently checks that a parallel plan has
// chunks in progress on several workers at once (each chunk waits a
// little before it reads, so they overlap whenever there are workers).
func TestNativeScanRunsChunksConcurrently(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core")
	}
	st := openStore(t)
	fillAggData(t, st)
	var active, most atomic.Int64
	open := killFront(t, st, func(fe *Front) {
		fe.aggChunk = 50
		fe.beforeChunk = func(context.Context) {
			n := active.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(3 * time.Millisecond)
			active.Add(-1)
		}
	})
	db := open("reader")
	if got := queryStrings(t, db, "SELECT COUNT(*) FROM events WHERE version >= 0"); got[0][0] != fmt.Sprint(st.Head()) {
		t.Fatalf("count = %v, want %d", got, st.Head())
	}
	if m := most.Load(); m < 2 {
		t.Fatalf("at most %d chunks at once, want 2 (one per core)", m)
	}
}

// TestTypedColumnsFromDuplicateFields: a typed column takes a field's last
// value when the data repeats it (MySQL's JSON keeps the last), however
// many typed columns a query reads, natively or not.
func TestTypedColumnsFromDuplicateFields(t *testing.T) {
	st := openStore(t)
	fillAggData(t, st)
	native, generic := twoFronts(t, st, 0)
	for _, c := range []struct{ query, want string }{
		{"SELECT a FROM by_type.Dup ORDER BY position", "[[2] [5]]"},
		{"SELECT a, b, cd FROM by_type.Dup ORDER BY position", `[[2 last x] [5 only y"z]]`},
		{"SELECT MAX(a), MIN(b) FROM by_type.Dup", "[[5 last]]"},
		{"SELECT MAX(b) FROM by_type.Dup", "[[only]]"},
	} {
		for _, db := range []*sql.DB{native, generic} {
			got, err := runQuery(t, db, c.query)
			if err != nil {
				t.Fatalf("%s: %v", c.query, err)
			}
			if fmt.Sprint(got.rows) != c.want {
				t.Errorf("%s: got %v, want %s", c.query, got.rows, c.want)
			}
		}
	}
}
