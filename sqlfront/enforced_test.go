package sqlfront

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// TestEnforcedFiltersDropped checks which conjuncts of the Filter over
// an index read are left to evaluate (the plan GMS analyzed, given to
// unenforced) and that results equal those of the same condition written
// so that nothing is pushed down (position + 0, CONCAT(stream, ”)),
// which GMS evaluates on every row of a full scan.
func TestEnforcedFiltersDropped(t *testing.T) {
	st := openStore(t)
	fillAggData(t, st)
	var fe *Front
	open := killFront(t, st, func(f *Front) { fe = f })
	db := open("reader")
	for _, tc := range []struct {
		query, reference string
		// kept: the columns of the conjuncts left to evaluate ("" = none);
		// "-": the Filter is not over an index read, or there is none.
		kept string
	}{
		{"SELECT * FROM events WHERE position BETWEEN 10 AND 20",
			"SELECT * FROM events WHERE position + 0 BETWEEN 10 AND 20", ""},
		{"SELECT * FROM events WHERE position > 10 AND position <= 20.5",
			"SELECT * FROM events WHERE position + 0 > 10 AND position + 0 <= 20.5", ""},
		{"SELECT * FROM events WHERE 15 = position",
			"SELECT * FROM events WHERE position + 0 = 15", ""},
		{"SELECT * FROM events e WHERE e.position >= 2990",
			"SELECT * FROM events e WHERE e.position + 0 >= 2990", ""},
		{"SELECT * FROM events WHERE position BETWEEN 20 AND 10",
			"SELECT * FROM events WHERE position + 0 BETWEEN 20 AND 10", "-"}, // no rows: left alone
		{"SELECT * FROM events WHERE position IN (3, 7)",
			"SELECT * FROM events WHERE position + 0 IN (3, 7)", "position"},
		{"SELECT * FROM events WHERE stream = 'order-3'",
			"SELECT * FROM events WHERE CONCAT(stream, '') = 'order-3'", ""},
		{"SELECT * FROM events WHERE stream IN ('order-3', 'cart-4', 'nope')",
			"SELECT * FROM events WHERE CONCAT(stream, '') IN ('order-3', 'cart-4', 'nope')", ""},
		{"SELECT * FROM events WHERE stream = 'order-3' AND version > 2",
			"SELECT * FROM events WHERE CONCAT(stream, '') = 'order-3' AND version > 2", "version"},
		{"SELECT * FROM events WHERE stream = 'order-3' AND event_type = 'PaymentMade'",
			"SELECT * FROM events WHERE CONCAT(stream, '') = 'order-3' AND CONCAT(event_type, '') = 'PaymentMade'", "event_type"},
		{"SELECT * FROM events WHERE event_type IN ('PaymentMade', 'Mixed') AND position > 100",
			"SELECT * FROM events WHERE CONCAT(event_type, '') IN ('PaymentMade', 'Mixed') AND position + 0 > 100", ""},
		{"SELECT * FROM by_category.order WHERE event_type = 'Mixed'",
			"SELECT * FROM by_category.order WHERE CONCAT(event_type, '') = 'Mixed'", ""},
		{"SELECT * FROM by_type.Mixed WHERE event_type = 'Mixed' AND position < 500",
			"SELECT * FROM by_type.Mixed WHERE CONCAT(event_type, '') = 'Mixed' AND position + 0 < 500", "event_type"},
		{"SELECT * FROM events WHERE position BETWEEN 100 AND 2000 AND created_at >= '2026-03-02'",
			"SELECT * FROM events WHERE position + 0 BETWEEN 100 AND 2000 AND created_at >= '2026-03-02'", "created_at"},
		{"SELECT COUNT(*) FROM events WHERE position BETWEEN 10 AND 20",
			"SELECT COUNT(*) FROM events WHERE position + 0 BETWEEN 10 AND 20", "-"},
		{"SELECT event_type, COUNT(*) FROM events WHERE event_type = 'Mixed' GROUP BY event_type",
			"SELECT event_type, COUNT(*) FROM events WHERE CONCAT(event_type, '') = 'Mixed' GROUP BY event_type", "-"},
		// A conjunct on the outer query's columns is not the inner read's.
		{"SELECT a.position FROM events a WHERE a.position <= 60 AND EXISTS (SELECT 1 FROM events b WHERE b.stream = a.stream AND b.position BETWEEN 1200 AND 1300 AND a.position > 40)",
			"SELECT a.position FROM events a WHERE a.position + 0 <= 60 AND EXISTS (SELECT 1 FROM events b WHERE b.stream = a.stream AND b.position + 0 BETWEEN 1200 AND 1300 AND a.position + 0 > 40)", "-"},
		{"SELECT a.position, b.position FROM events a JOIN events b ON b.stream = a.stream WHERE a.position BETWEEN 1 AND 5 AND b.version = 0",
			"SELECT a.position, b.position FROM events a JOIN events b ON b.stream = a.stream WHERE a.position + 0 BETWEEN 1 AND 5 AND b.version = 0", "-"},
	} {
		got := sortedRows(queryStrings(t, db, tc.query))
		want := sortedRows(queryStrings(t, db, tc.reference))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.query, got, want)
		}
		if len(want) == 0 && !strings.Contains(tc.query, "20 AND 10") {
			t.Errorf("%s: no rows; the case tests nothing", tc.query)
		}
		if tc.kept == "-" {
			continue
		}
		f := analyzedFilter(t, fe, tc.query)
		keep, ok := unenforced(sql.NewEmptyContext(), f)
		if !ok {
			keep = []sql.Expression{f.Expression} // all of it
		}
		kept := fmt.Sprint(keep)
		if tc.kept == "" && len(keep) > 0 || tc.kept != "" && !strings.Contains(kept, tc.kept) {
			t.Errorf("%s: kept %s, want the conjuncts on %q", tc.query, kept, tc.kept)
		}
		for _, col := range []string{"position", "stream"} {
			if col != tc.kept && strings.Contains(kept, "."+col+" ") {
				t.Errorf("%s: kept %s", tc.query, kept)
			}
		}
	}
}

// analyzedFilter returns the Filter of q's plan as GMS analyzes it for a
// reader.
func analyzedFilter(t *testing.T, fe *Front, q string) *plan.Filter {
	t.Helper()
	sess := sql.NewBaseSessionWithClientServer("", sql.Client{User: "reader", Address: "127.0.0.1"}, 1)
	sess.SetCurrentDatabase(dbEventsql)
	ctx := sql.NewContext(context.Background(), sql.WithSession(sess))
	n, err := fe.engine.AnalyzeQuery(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var f *plan.Filter
	transform.Inspect(n, func(n sql.Node) bool {
		if x, ok := n.(*plan.Filter); ok && f == nil {
			f = x
		}
		return f == nil
	})
	if f == nil {
		t.Fatalf("%s: no Filter in %s", q, sql.DebugString(ctx, n))
	}
	return f
}

// sortedRows sorts rows by their text (results without ORDER BY come in
// the order of the read).
func sortedRows(rows [][]string) [][]string {
	slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return rows
}

// TestEnforcedDecisions checks enforced against plans the conjuncts did
// not come from: a conjunct is dropped only when the plan's read makes it
// true.
func TestEnforcedDecisions(t *testing.T) {
	ctx := sql.NewEmptyContext()
	tbl := newEventsTable(nil, dbEventsql, "events", scopeAll, "", nil)
	pos := expression.NewGetFieldWithTable(0, 0, types.Uint64, dbEventsql, "events", "position", false)
	stream := expression.NewGetFieldWithTable(1, 1, typeName, dbEventsql, "events", "stream", false)
	typ := expression.NewGetFieldWithTable(4, 4, typeName, dbEventsql, "events", "event_type", false)
	ver := expression.NewGetFieldWithTable(2, 2, types.Int64, dbEventsql, "events", "version", false)
	num := func(v int64) sql.Expression { return expression.NewLiteral(v, types.Int64) }
	str := func(s string) sql.Expression { return expression.NewLiteral(s, typeName) }
	rng := &scanPlan{lo: 10, hi: 20}
	streams := &scanPlan{lo: 1, hi: math.MaxUint64, streams: []string{"a", "b"}}
	typesPlan := &scanPlan{lo: 1, hi: math.MaxUint64, types: []string{"T"}}
	both := &scanPlan{lo: 1, hi: math.MaxUint64, streams: []string{"a"}, types: []string{"T"}}
	for _, tc := range []struct {
		p    *scanPlan
		c    sql.Expression
		want bool
	}{
		{rng, expression.NewGreaterThanOrEqual(pos, num(5)), true},
		{rng, expression.NewGreaterThan(pos, num(15)), false},
		{rng, expression.NewLessThanOrEqual(pos, num(20)), true},
		{rng, expression.NewLessThan(pos, num(20)), false},
		{rng, expression.NewBetween(pos, num(10), num(20)), true},
		{rng, expression.NewBetween(pos, num(11), num(20)), false},
		{rng, expression.NewEquals(pos, num(10)), false},
		{rng, expression.NewGreaterThan(num(30), pos), true}, // 30 > position
		{rng, expression.NewGreaterThan(ver, num(0)), false},
		{rng, expression.NewGreaterThan(pos, str("5")), false}, // text: GMS converts; left to it
		{rng, expression.NewGreaterThan(pos, expression.NewLiteral(nil, types.Null)), false},
		{streams, expression.NewEquals(stream, str("a")), false}, // b is read too
		{streams, expression.NewInTuple(stream, expression.NewTuple(str("b"), str("a"), str("c"))), true},
		{streams, expression.NewEquals(typ, str("T")), false},
		{typesPlan, expression.NewEquals(typ, str("T")), true},
		{typesPlan, expression.NewEquals(stream, str("a")), false},
		{both, expression.NewEquals(stream, str("a")), true},
		{both, expression.NewEquals(typ, str("T")), false}, // read by stream: any type
	} {
		if got := tbl.enforced(ctx, tc.p, tc.c); got != tc.want {
			t.Errorf("plan %s, %s: enforced %v, want %v", tc.p, tc.c, got, tc.want)
		}
	}
}
