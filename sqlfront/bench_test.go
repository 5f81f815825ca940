package sqlfront

import (
	"context"
	"fmt"
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
