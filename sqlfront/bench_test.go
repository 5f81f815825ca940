package sqlfront

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/eventsql/eventsql/engine"
)

// fillTypes appends n events spread over types event types and
// categories (n/types events each), in batches.
func fillTypes(b testing.TB, st *engine.Store, n, types int) {
	b.Helper()
	ctx := context.Background()
	const batch = 1000
	for done := 0; done < n; done += batch {
		parts := make([]engine.StreamAppend, 0, batch/10)
		for i := done; i < done+batch && i < n; i += 10 {
			evs := make([]engine.EventData, 0, 10)
			for j := i; j < i+10 && j < n; j++ {
				evs = append(evs, engine.EventData{Type: fmt.Sprintf("Type%04d", j%types),
					Data: fmt.Appendf(nil, `{"amount":%d,"price":%d.25,"sku":"s%d"}`, j%1000, j%100, j%7), DataIsJSON: true})
			}
			parts = append(parts, engine.StreamAppend{Stream: fmt.Sprintf("c%04d-%d", (i/10)%types, i/10), Expected: engine.ExpectAny, Events: evs})
		}
		if _, err := st.AppendMulti(ctx, parts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPointLookup is a stream lookup over the driver with many event
// types and categories in the store (what every query pays to resolve
// tables).
func BenchmarkPointLookup(b *testing.B) {
	st, open := testFront(b)
	fillTypes(b, st, 20_000, 2000)
	db := open("reader", "r-pw")
	db.SetMaxOpenConns(1)
	for _, bc := range []struct{ name, query string }{
		{"events", "SELECT position, event_type FROM events WHERE stream = 'c0007-7'"},
		{"by_type", "SELECT position, amount FROM by_type.Type0070 WHERE stream = 'c0007-7'"},
		{"by_category", "SELECT position, event_type FROM by_category.c0007 WHERE stream = 'c0007-7'"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			want := len(queryStrings(b, db, bc.query))
			if want == 0 {
				b.Fatalf("%s: no rows", bc.query)
			}
			for b.Loop() {
				rows, err := db.Query(bc.query)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					n++
				}
				rows.Close()
				if n != want {
					b.Fatalf("%d rows, want %d", n, want)
				}
			}
		})
	}
}

// BenchmarkAggregates runs analytics queries over n events (default 1M,
// EVENTSQL_BENCH_EVENTS to change) with native aggregates and with
// go-mysql-server's GroupBy, in one run.
func BenchmarkAggregates(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("EVENTSQL_BENCH_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	st := openStore(b)
	fillTypes(b, st, n, 10)
	native, generic := twoFronts(b, st, 0)
	queries := []struct{ name, query string }{
		{"count_by_type", "SELECT event_type, COUNT(*) FROM events GROUP BY event_type"},
		{"count_by_type_scan", "SELECT event_type, COUNT(*) FROM events WHERE position > 1 GROUP BY event_type"},
		{"count_by_day", "SELECT DATE(created_at), COUNT(*) FROM events GROUP BY DATE(created_at)"},
		{"count_by_day_scan", "SELECT DATE(created_at), COUNT(*) FROM events WHERE version >= 0 GROUP BY DATE(created_at)"},
		{"sum_filtered", "SELECT SUM(amount), AVG(price) FROM by_type.Type0003 WHERE amount > 500"},
		{"sum_by_sku", "SELECT sku, SUM(price), MAX(amount) FROM by_type.Type0003 GROUP BY sku"},
	}
	for _, q := range queries {
		want, err := runQuery(b, generic, q.query)
		if err != nil {
			b.Fatal(err)
		}
		for _, side := range []struct {
			name string
			db   *sql.DB
		}{{"native", native}, {"gms", generic}} {
			b.Run(q.name+"/"+side.name, func(b *testing.B) {
				for b.Loop() {
					got, err := runQuery(b, side.db, q.query)
					if err != nil {
						b.Fatal(err)
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						b.Fatalf("%s: %v, want %v", q.query, got, want)
					}
				}
			})
		}
	}
}

// BenchmarkFilteredScan is a selective filter no index answers, on a
// plain single-table SELECT (GMS's "simple select", where only the exec
// builder can give the scan its filter) and on an aliased table (where
// the analyzer rule does): both should build rows only for the events
// that pass.
func BenchmarkFilteredScan(b *testing.B) {
	st, open := testFront(b)
	fillTypes(b, st, 200_000, 2)
	db := open("reader", "r-pw")
	db.SetMaxOpenConns(1)
	for _, bc := range []struct{ name, query string }{
		{"plain", "SELECT * FROM by_type.Type0001 WHERE amount > 990"},
		{"aliased", "SELECT * FROM by_type.Type0001 t WHERE t.amount > 990"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			want := len(queryStrings(b, db, bc.query))
			if want == 0 {
				b.Fatalf("%s: no rows", bc.query)
			}
			for b.Loop() {
				if got := len(queryStrings(b, db, bc.query)); got != want {
					b.Fatalf("%d rows, want %d", got, want)
				}
			}
			b.ReportMetric(float64(100_000)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
