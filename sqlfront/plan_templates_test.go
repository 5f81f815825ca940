package sqlfront

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/eventsql/eventsql/engine"
)

// templateFronts serves st twice, with plan templates (fast) and with
// every query parsed and analyzed (slow), and opens a reader connection
// to each that interpolates arguments into the query text, as most
// clients do.
func templateFronts(t *testing.T, st *engine.Store) (fast, slow *Front, fastDB, slowDB *sql.DB) {
	return templateFrontsWith(t, st, true)
}

// templateFrontsWith is templateFronts with the clients interpolating
// arguments or (false) sending queries with arguments as prepared
// statements, the Go driver's default.
func templateFrontsWith(t *testing.T, st *engine.Store, interpolate bool) (fast, slow *Front, fastDB, slowDB *sql.DB) {
	t.Helper()
	fast, fastAddr := startFront(t, st, nil)
	slow, slowAddr := startFront(t, st, func(fe *Front) { fe.noPlanTemplates = true })
	open := func(addr string) *sql.DB {
		c := mysql.NewConfig()
		c.User, c.Passwd, c.Net, c.Addr, c.DBName = "reader", "pw", "tcp", addr, "eventsql"
		c.InterpolateParams = interpolate
		db, err := sql.Open("mysql", c.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1) // one session: SET and USE stay in force
		t.Cleanup(func() { db.Close() })
		return db
	}
	return fast, slow, open(fastAddr), open(slowAddr)
}

// sameOnBoth runs query on both servers and fails unless the column
// metadata, the values and the errors are the same. It returns how many
// queries the fast server planned from a template.
func sameOnBoth(t *testing.T, fast *Front, fastDB, slowDB *sql.DB, query string, args ...any) uint64 {
	t.Helper()
	before := fast.plans.hits.Load()
	a, errA := rawQuery(t, fastDB, query, args...)
	hits := fast.plans.hits.Load() - before
	b, errB := rawQuery(t, slowDB, query, args...)
	what := fmt.Sprintf("%s %v", query, args)
	if fmt.Sprint(errA) != fmt.Sprint(errB) {
		t.Fatalf("%s: error with templates %v, without %v", what, errA, errB)
	}
	if d := diffResults(a, b); d != "" {
		t.Fatalf("%s (from a template: %v): %s", what, hits > 0, d)
	}
	return hits
}

// TestPlanTemplatesGiveTheSameResults runs queries of many shapes with
// random literals (streams that exist and do not, positions at the edges
// and beyond, empty and reversed ranges, LIMIT 0, strings where numbers
// go) on a server that plans them from templates and on one that parses
// and analyzes each, and requires the same results; the shapes that
// templates are for must have been planned from them. It does so with
// arguments interpolated into the text and with prepared statements
// (bound_query.go).
func TestPlanTemplatesGiveTheSameResults(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	for _, interpolate := range []bool{true, false} {
		t.Run(fmt.Sprintf("interpolate=%v", interpolate), func(t *testing.T) {
			fast, slow, fastDB, slowDB := templateFrontsWith(t, st, interpolate)
			planTemplateShapes(t, fast, slow, fastDB, slowDB)
		})
	}
}

func planTemplateShapes(t *testing.T, fast, slow *Front, fastDB, slowDB *sql.DB) {
	rng := rand.New(rand.NewPCG(3, 5))
	pick := func(vals ...any) any { return vals[rng.IntN(len(vals))] }
	stream := func() any {
		return pick("cat-1", "cat-2", "dog-1", "dog-22", "plain", "café-7", "cat-3", "missing", "")
	}
	pos := func() any {
		return pick(uint64(0), uint64(1), uint64(2), uint64(5), uint64(100), uint64(1500), uint64(2999), uint64(3000),
			uint64(3001), uint64(1)<<40, uint64(1)<<63, ^uint64(0), uint64(rng.IntN(3100)), uint64(rng.IntN(3100)))
	}
	limit := func() any { return pick(0, 1, 3, 50, 100000) }
	small := func() any { return pick(0, 1, 3, 10, 200, 70000, -1) }
	for _, sh := range []struct {
		query    string
		args     func() []any
		template bool // planned from templates after two queries
	}{
		{"SELECT * FROM events WHERE stream = ?", func() []any { return []any{stream()} }, true},
		{"SELECT position, event_type FROM events WHERE stream = ? ORDER BY position DESC LIMIT ?", func() []any { return []any{stream(), limit()} }, true},
		{"SELECT * FROM events WHERE position BETWEEN ? AND ?", func() []any { return []any{pos(), pos()} }, true},
		{"SELECT position, stream FROM events WHERE position >= ? AND position < ? LIMIT ?, ?", func() []any { return []any{pos(), pos(), limit(), limit()} }, false}, // many digests (literal classes)
		{"SELECT e.position, e.stream AS s FROM events e WHERE e.stream = ? AND e.version > ?", func() []any { return []any{stream(), small()} }, true},
		{"SELECT * FROM by_type.Typed WHERE stream = ? AND i > ?", func() []any { return []any{stream(), small()} }, true},
		{"SELECT position, s, t FROM by_type.Typed WHERE position BETWEEN ? AND ?", func() []any { return []any{pos(), pos()} }, true},
		{"SELECT position, data FROM by_category.cat WHERE stream = ?", func() []any { return []any{stream()} }, true},
		{"SELECT * FROM events WHERE event_type = ? AND position > ? LIMIT ?", func() []any { return []any{pick("Typed", "Raw", "Other", "Missing"), pos(), limit()} }, true},
		{"SELECT position FROM events WHERE position = ?", func() []any { return []any{pos()} }, true},
		{"SELECT position FROM events WHERE position > ? AND position < ?", func() []any { return []any{pos(), pos()} }, true},
		// Shapes that may or may not become templates: same results.
		{"SELECT position FROM events WHERE created_at >= ? LIMIT ?", func() []any { return []any{pick("2000-01-01 00:00:00", "2999-01-01", "garbage"), limit()} }, false},
		{"SELECT position FROM events WHERE stream = ? OR stream = ?", func() []any { return []any{stream(), stream()} }, false},
		{"SELECT position FROM events WHERE stream = ? AND stream = ?", func() []any { return []any{stream(), stream()} }, false},
		{"SELECT position FROM events WHERE position = ?", func() []any { return []any{pick("5", "abc", "0", "2999")} }, false},
		{"SELECT position, version FROM events WHERE stream = ? AND version = ?", func() []any { return []any{stream(), pick(0, 1, 2, 5)} }, false},
		{"SELECT * FROM events WHERE stream = ? LIMIT ?", func() []any { return []any{pick("cat-1", "it's", `back\slash`), limit()} }, false},
		{"SELECT position FROM events WHERE position BETWEEN ? AND ? AND event_type = ?", func() []any { return []any{pos(), pos(), pick("Typed", "Raw")} }, false},
	} {
		hits := uint64(0)
		for range 40 {
			hits += sameOnBoth(t, fast, fastDB, slowDB, sh.query, sh.args()...)
		}
		t.Logf("%3d of 40 from a template: %s", hits, sh.query)
		if sh.template && hits == 0 {
			t.Errorf("%s: no query planned from a template", sh.query)
		}
	}
	if slow.plans.hits.Load() != 0 {
		t.Errorf("the server without templates planned %d queries from them", slow.plans.hits.Load())
	}
}

// TestPlanTemplatesFollowTheStore checks that queries planned from
// templates see what changed since the template was made: new events, a
// new field of a by_type table (a new column), and a new event type whose
// name now matches a by_type table name exactly where it matched in
// another case before.
func TestPlanTemplatesFollowTheStore(t *testing.T) {
	st, _ := testFrontAddr(t)
	fast, _, fastDB, slowDB := templateFronts(t, st)
	ctx := context.Background()
	appendEvent := func(stream, typ, data string) {
		t.Helper()
		if _, err := st.Append(ctx, stream, engine.ExpectAny, engine.EventData{Type: typ, Data: []byte(data), DataIsJSON: true}); err != nil {
			t.Fatal(err)
		}
	}
	appendEvent("order-1", "Paid", `{"amount":1}`)
	appendEvent("order-2", "Paid", `{"amount":2}`)
	queries := []string{
		"SELECT * FROM by_type.Paid WHERE stream = ?",
		"SELECT * FROM by_type.paid WHERE stream = ?",
		"SELECT position, event_type FROM events WHERE stream = ?",
		"SELECT * FROM by_category.order WHERE stream = ?",
	}
	// run runs each query 5 times and returns how many of by_type.Paid's
	// were planned from a template.
	run := func() uint64 {
		var paid uint64
		for i, q := range queries {
			for _, s := range []string{"order-1", "order-2", "order-1", "order-2", "order-1"} {
				if h := sameOnBoth(t, fast, fastDB, slowDB, q, s); i == 0 {
					paid += h
				}
			}
		}
		return paid
	}
	if run() == 0 {
		t.Fatal("no query planned from a template")
	}
	appendEvent("order-1", "Paid", `{"amount":3,"currency":"EUR"}`) // a new column
	if run() == 0 {
		t.Error("by_type.Paid not planned from a template after it gained a column")
	}
	appendEvent("order-1", "paid", `{"lower":true}`) // by_type.paid is now this type
	run()
	appendEvent("order-2", "Paid", `{"amount":"text"}`) // amount becomes JSON
	run()
	a, err := rawQuery(t, fastDB, "SELECT * FROM by_type.Paid WHERE stream = ?", "order-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.rows) != 2 || len(a.cols) != numBaseColumns+2 {
		t.Errorf("by_type.Paid for order-1: %d rows, columns %q", len(a.rows), a.cols)
	}
}

// TestPlanTemplatesFollowTheSession checks that session state that
// changes a plan keeps a template from being used where it no longer
// fits (sql_select_limit, the current database, sql_mode), and that a
// query planned from a template starts with no warnings, as any
// statement does.
func TestPlanTemplatesFollowTheSession(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	fast, _, fastDB, slowDB := templateFronts(t, st)
	q := "SELECT position FROM events WHERE stream = ?"
	both := func(query string, args ...any) uint64 { return sameOnBoth(t, fast, fastDB, slowDB, query, args...) }
	exec := func(stmt string) {
		t.Helper()
		for _, db := range []*sql.DB{fastDB, slowDB} {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	for _, s := range []string{"cat-1", "dog-1", "cat-1"} {
		both(q, s)
	}
	if both(q, "dog-1") == 0 {
		t.Fatal("not planned from a template")
	}
	exec("SET sql_select_limit = 2")
	for range 3 {
		both(q, "cat-1")
	}
	exec("SET sql_select_limit = DEFAULT")
	exec("USE by_category")
	for range 3 {
		both("SELECT position FROM cat WHERE stream = ?", "cat-2")
		both(q, "cat-1") // "events" is no table here
	}
	exec("USE eventsql")
	exec("SET sql_mode = 'ANSI_QUOTES'")
	for range 3 {
		both(q, "cat-1")
	}
	exec("SET sql_mode = DEFAULT")

	both(q, "cat-1")

	// Warnings: a statement that leaves one, then a templated query.
	for _, db := range []*sql.DB{fastDB, slowDB} {
		if _, err := rawQuery(t, db, "SELECT CAST('x1' AS SIGNED)"); err != nil {
			t.Fatal(err)
		}
	}
	if both(q, "cat-2") == 0 {
		t.Fatal("not planned from a template")
	}
	for _, db := range []*sql.DB{fastDB, slowDB} {
		w, err := rawQuery(t, db, "SHOW WARNINGS")
		if err != nil {
			t.Fatal(err)
		}
		if len(w.rows) != 0 {
			t.Errorf("%d warnings after a query that made none", len(w.rows))
		}
	}
}

// TestPlanTemplatesCover checks which query shapes become templates: a
// digest seen once is noted, the second query makes the template, the
// third (every literal different) checks it against the analyzer, and
// the fourth is planned from it. Shapes that must not become templates
// never are.
func TestPlanTemplatesCover(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	fast, _, fastDB, slowDB := templateFronts(t, st)
	for _, tc := range []struct {
		query    string
		args     [4][]any
		template bool
	}{
		{"SELECT * FROM events WHERE stream = ?", [4][]any{{"cat-1"}, {"cat-2"}, {"dog-1"}, {"plain"}}, true},
		{"SELECT * FROM events WHERE position BETWEEN ? AND ?", [4][]any{{1000, 1100}, {1200, 1300}, {1400, 1450}, {2000, 2099}}, true},
		{"SELECT position, stream FROM events WHERE position >= ? AND position < ? LIMIT ?, ?", [4][]any{{1000, 1100, 1, 5}, {1200, 1300, 2, 6}, {1400, 1450, 3, 7}, {2000, 2099, 4, 8}}, true},
		{"SELECT position, event_type FROM events WHERE stream = ? ORDER BY position DESC LIMIT ?", [4][]any{{"cat-1", 1}, {"cat-2", 2}, {"dog-1", 3}, {"plain", 4}}, true},
		{"SELECT position FROM events WHERE stream = ? ORDER BY position LIMIT ?, ?", [4][]any{{"cat-1", 1, 5}, {"cat-2", 2, 6}, {"dog-1", 3, 7}, {"plain", 4, 8}}, true},
		{"SELECT * FROM by_type.Typed WHERE stream = ? AND i > ?", [4][]any{{"cat-1", 1}, {"cat-2", 2}, {"dog-1", 3}, {"plain", 4}}, true},
		{"SELECT position FROM by_category.cat WHERE stream = ?", [4][]any{{"cat-1"}, {"cat-2"}, {"cat-3"}, {"cat-1"}}, true},
		{"SELECT * FROM events WHERE created_at >= ? LIMIT ?", [4][]any{{"2026-01-01", 1}, {"2026-01-02", 2}, {"2026-01-03", 3}, {"2026-01-04", 4}}, true},
		{"SELECT position FROM events WHERE stream = ? OR stream = ?", [4][]any{{"cat-1", "a"}, {"cat-2", "b"}, {"dog-1", "c"}, {"plain", "d"}}, false},
		{"SELECT position, 7 FROM events WHERE stream = ?", [4][]any{{"cat-1"}, {"cat-2"}, {"dog-1"}, {"plain"}}, false},
		{"SELECT COUNT(*) FROM events WHERE stream = ?", [4][]any{{"cat-1"}, {"cat-2"}, {"dog-1"}, {"plain"}}, false},
		{"SELECT * FROM events LIMIT ?", [4][]any{{1}, {2}, {3}, {4}}, false},
		{"SELECT stream FROM streams WHERE stream = ?", [4][]any{{"cat-1"}, {"cat-2"}, {"dog-1"}, {"plain"}}, false},
	} {
		var hits uint64
		for i, args := range tc.args {
			h := sameOnBoth(t, fast, fastDB, slowDB, tc.query, args...)
			if i < 3 && h != 0 {
				t.Errorf("%s: query %d planned from a template", tc.query, i+1)
			}
			hits += h
		}
		if (hits == 1) != tc.template {
			t.Errorf("%s: planned from a template %v, want %v", tc.query, hits == 1, tc.template)
		}
	}
}

// TestPlanTemplatesConcurrently plans queries from one template on
// several connections at once (the template's plan is shared; each
// query's plan is its own) and checks every result.
func TestPlanTemplatesConcurrently(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	fast, _, fastDB, slowDB := templateFronts(t, st)
	fastDB.SetMaxOpenConns(4)
	streams := []string{"cat-1", "cat-2", "dog-1", "dog-22", "plain", "café-7", "cat-3", "missing"}
	q := "SELECT * FROM events WHERE stream = ? ORDER BY position LIMIT ?"
	want := map[string]rawResult{}
	for _, s := range streams {
		r, err := rawQuery(t, slowDB, q, s, 20)
		if err != nil {
			t.Fatal(err)
		}
		want[s] = r
	}
	before := fast.plans.hits.Load()
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range 60 {
				s := streams[(g+i)%len(streams)]
				r, err := rawQuery(t, fastDB, q, s, 20)
				if err == nil {
					if d := diffResults(r, want[s]); d != "" {
						err = fmt.Errorf("%s: %s", s, d)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if fast.plans.hits.Load()-before < 200 {
		t.Errorf("%d of 240 queries planned from the template", fast.plans.hits.Load()-before)
	}
}

// TestPlanTemplatesOnMultiStatementConnections checks that a connection
// with multi-statements on (the mysql CLI's, some drivers') gets
// templates for single statements and still runs several statements in
// one query.
func TestPlanTemplatesOnMultiStatementConnections(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	fast, addr := startFront(t, st, nil)
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = "reader", "pw", "tcp", addr, "eventsql"
	c.InterpolateParams, c.MultiStatements = true, true
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	before := fast.plans.hits.Load()
	for _, s := range []string{"cat-1", "cat-2", "dog-1", "plain", "cat-3"} {
		if _, err := rawQuery(t, db, "SELECT position FROM events WHERE stream = ?;", s); err != nil {
			t.Fatal(err)
		}
	}
	if fast.plans.hits.Load() == before {
		t.Error("no query planned from a template on a multi-statement connection")
	}
	rows, err := db.Query("SELECT position FROM events WHERE stream = 'cat-1' LIMIT 1; SELECT position FROM events WHERE stream = 'dog-1' LIMIT 2")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	sets := 0
	for {
		n := 0
		for rows.Next() {
			n++
		}
		if want := []int{1, 2}[sets]; n != want {
			t.Errorf("result %d: %d rows, want %d", sets+1, n, want)
		}
		sets++
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil || sets != 2 {
		t.Errorf("%d results, err %v", sets, err)
	}
}
