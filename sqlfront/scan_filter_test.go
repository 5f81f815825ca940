package sqlfront

import (
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
)

// serveFront serves st with opts and returns the front and a reader's
// connection pool.
func serveFront(t testing.TB, st *engine.Store, opts Options) (*Front, *sql.DB) {
	t.Helper()
	accounts := []Account{{Name: "reader", NativeHash: httpfront.HashPassword("r-pw")}}
	fe, err := New(st, accounts, opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
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
	return fe, db
}

// scanFilterCases have WHERE clauses the scans take in part, in whole or
// not at all; each runs with scan filters and without. (A Filter right
// over an unaliased table is a "simple select" to GMS, which then runs no
// custom rule: the exec builder gives those scans their filter,
// enforced.go.)
var scanFilterCases = []struct {
	query string
	args  []any
	// filtered: the scan must drop events itself.
	filtered bool
}{
	{"SELECT o.position, o.amount, o.sku FROM by_type.OrderPlaced o WHERE o.amount = 7", nil, true},
	{"SELECT o.position, amount, sku FROM by_type.OrderPlaced o WHERE amount > 500 AND sku = 'sku-1'", nil, true},
	{"SELECT o.position, price FROM by_type.OrderPlaced o WHERE sku IN ('sku-1', 'sku-3') AND price < 0.3", nil, true},
	{"SELECT o.position, paid FROM by_type.OrderPlaced o WHERE paid IS NULL", nil, true},
	{"SELECT o.position, paid FROM by_type.OrderPlaced o WHERE paid IS NOT NULL AND paid = 1", nil, true},
	{"SELECT o.position, paid FROM by_type.OrderPlaced o WHERE paid = true", nil, false},
	{"SELECT o.position, at FROM by_type.OrderPlaced o WHERE at > '2026-02-12'", nil, false},
	{"SELECT o.position FROM by_type.OrderPlaced o WHERE amount = '7'", nil, false},
	{"SELECT o.position FROM by_type.OrderPlaced o WHERE sku = 'SKU-1' OR sku = 'sku-2'", nil, false},
	{"SELECT o.position, amount FROM by_type.OrderPlaced o WHERE amount BETWEEN 10 AND 20", nil, true},
	{"SELECT o.position, amount FROM by_type.OrderPlaced o WHERE NOT (amount = 7) AND price >= 0.5", nil, true},
	{"SELECT o.position FROM by_type.OrderPlaced o WHERE amount > 100 OR sku = 'sku-2'", nil, false},
	{"SELECT o.position, version FROM by_type.OrderPlaced o WHERE version = 2 AND stream = 'order-3'", nil, true},
	{"SELECT o.position, amount FROM by_type.OrderPlaced o WHERE amount > ? AND sku = ?", []any{900, "sku-2"}, true},
	{"SELECT position, amount FROM by_type.OrderPlaced WHERE amount > ? AND sku = ?", []any{900, "sku-2"}, true},
	{"SELECT position, event_type FROM events WHERE version > 25 AND event_type <> 'Mixed'", nil, true},
	{"SELECT * FROM by_type.OrderPlaced WHERE amount BETWEEN 10 AND 20", nil, true},
	{"SELECT position FROM by_type.OrderPlaced WHERE sku = 'sku-1' AND position > 100", nil, true},
	{"SELECT position, amount FROM by_type.OrderPlaced WHERE stream = 'order-3' AND amount > 300", nil, true},
	{"SELECT position FROM by_type.OrderPlaced WHERE amount > 100 OR sku = 'sku-2'", nil, false},
	{"SELECT e.position, e.event_type FROM events e WHERE e.version > 25 AND e.event_type <> 'Mixed'", nil, true},
	{"SELECT e.position FROM events e WHERE e.version < 2 AND e.position > 100", nil, true},
	{"SELECT c.position, c.stream FROM by_category.cart c WHERE version < 2", nil, true},
	{"SELECT m.position, v FROM by_type.Mixed m WHERE v = 1", nil, false},
	{"SELECT d.position, a, b FROM by_type.Dup d WHERE b = 'last'", nil, true},
	{`SELECT o.position, o.amount, p.amount FROM by_type.OrderPlaced o JOIN by_type.PaymentMade p ON p.stream = o.stream
	  WHERE o.amount < 50 AND p.amount > 0.5`, nil, true},
	{`SELECT o.position, p.position FROM by_type.OrderPlaced o LEFT JOIN by_type.PaymentMade p
	  ON p.stream = o.stream AND p.amount >= 1 WHERE o.sku = 'sku-3' AND o.amount < 100`, nil, true},
	{`SELECT o.position, o.sku FROM by_type.OrderPlaced o WHERE o.sku = 'sku-1' AND o.amount <
	  (SELECT COUNT(*) FROM by_type.PaymentMade p WHERE p.amount > 1)`, nil, true},
	{`SELECT o.position, o.sku FROM by_type.OrderPlaced o WHERE o.amount < 30 AND EXISTS
	  (SELECT 1 FROM by_type.PaymentMade p WHERE p.stream = o.stream AND p.amount > 1.2)`, nil, true},
}

// TestScanFiltersMatchGMS: the rows are the same whether the scans drop
// events themselves or GMS filters every row.
func TestScanFiltersMatchGMS(t *testing.T) {
	st := openStore(t)
	fillAggData(t, st)
	fe, native := serveFront(t, st, Options{Version: "x"})
	_, generic := serveFront(t, st, Options{Version: "x", DisableNativeAggregates: true})
	for _, c := range scanFilterCases {
		before := fe.scanFiltered.Load()
		got, err := runQuery(t, native, c.query, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		dropped := fe.scanFiltered.Load() - before
		want, err := runQuery(t, generic, c.query, c.args...)
		if err != nil {
			t.Fatalf("%s (generic): %v", c.query, err)
		}
		if fmt.Sprint(got.types) != fmt.Sprint(want.types) || sorted(got.rows) != sorted(want.rows) {
			t.Errorf("%s:\nscan filters %v\nGMS only     %v", c.query, got, want)
		}
		if len(want.rows) == 0 {
			t.Errorf("%s: no rows; the case tests nothing", c.query)
		}
		if c.filtered && dropped == 0 {
			t.Errorf("%s: the scans dropped no event", c.query)
		}
		if plan := explain(t, native, c.query, c.args...); !strings.Contains(plan, "Filter") {
			t.Errorf("%s: the plan lost its Filter:\n%s", c.query, plan)
		}
	}
}
