package sqlfront

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/eventsql/eventsql/engine"
)

// TestStreamsIndex checks that filters on eventsql.streams' stream and
// category read only the streams they select (counted by the engine),
// and return exactly what a full scan filtered by hand returns.
func TestStreamsIndex(t *testing.T) {
	st, open := testFront(t)
	ctx := context.Background()
	var names []string
	for _, c := range []string{"cart", "order"} {
		for i := 1; i <= 200; i++ {
			names = append(names, fmt.Sprintf("%s-%d", c, i))
		}
	}
	names = append(names, "order", "-x-y", "orders")
	for _, n := range names {
		appendEvents(t, st, n, "Touched", `{}`)
	}
	appendEvents(t, st, "orders", "Touched", `{}`, `{}`) // more events than streams
	if err := st.DeleteStream(ctx, "cart-9", engine.ExpectAny, false); err != nil {
		t.Fatal(err)
	}
	db := open("reader", "r-pw")

	// information_schema and SHOW TABLE STATUS report the stream count
	// (deleted streams are rows too).
	want := fmt.Sprint(len(names))
	if got := queryStrings(t, db, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'eventsql' AND TABLE_NAME = 'streams'"); got[0][0] != want {
		t.Errorf("information_schema TABLE_ROWS = %v, want %s", got, want)
	}
	if got := queryStrings(t, db, "SELECT COUNT(*) FROM streams"); got[0][0] != want {
		t.Errorf("COUNT(*) = %v, want %s", got, want)
	}

	where := func(keep func(name string) bool) []string {
		var out []string
		for _, n := range names {
			if keep(n) {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	between := func(lo, hi string) func(string) bool {
		return func(n string) bool { return n >= lo && n <= hi }
	}
	tests := []struct {
		name    string
		where   string
		want    []string
		maxRead uint64 // stream states read
	}{
		{"point", "stream = 'cart-7'", []string{"cart-7"}, 1},
		{"point, other case", "stream = 'CART-7'", nil, 1},
		{"point, no such stream", "stream = 'cart-999'", nil, 1},
		{"point, invalid name", "stream = ''", nil, 1},
		{"in", "stream IN ('cart-7', 'order-9', 'nope')", []string{"cart-7", "order-9"}, 3},
		{"between", "stream BETWEEN 'cart-10' AND 'cart-12'", where(between("cart-10", "cart-12")), 25},
		{"greater", "stream > 'order-98'", where(func(n string) bool { return n > "order-98" }), 4},
		{"less", "stream < 'cart-100'", where(func(n string) bool { return n < "cart-100" }), 4},
		{"category", "category = 'order'", where(func(n string) bool { return engine.Category(n) == "order" }), 201},
		{"category of a name starting with -", "category = '-x-y'", []string{"-x-y"}, 1},
		{"categories", "category IN ('cart', 'orders')", where(func(n string) bool { return n == "orders" || strings.HasPrefix(n, "cart-") }), 201},
		{"deleted stream", "stream = 'cart-9' AND deleted = 'soft'", []string{"cart-9"}, 1},
		{"not indexed", "event_count = 1 AND stream LIKE '%-19_'", where(func(n string) bool {
			return len(n) >= 4 && n[len(n)-4:len(n)-1] == "-19"
		}), uint64(len(names))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := st.Stats().StreamsRead
			got := queryStrings(t, db, "SELECT stream FROM streams WHERE "+tt.where+" ORDER BY stream")
			read := st.Stats().StreamsRead - before
			var flat []string
			for _, r := range got {
				flat = append(flat, r[0])
			}
			if fmt.Sprint(flat) != fmt.Sprint(tt.want) {
				t.Errorf("got %v\nwant %v", flat, tt.want)
			}
			if read > tt.maxRead {
				t.Errorf("read %d streams, want <= %d", read, tt.maxRead)
			}
		})
	}

	t.Run("join from events", func(t *testing.T) {
		q := `SELECT s.stream, s.category, COUNT(*) FROM events e JOIN streams s ON s.stream = e.stream
			WHERE e.stream IN ('cart-3', 'order-4') GROUP BY s.stream, s.category ORDER BY s.stream`
		before := st.Stats().StreamsRead
		got := queryStrings(t, db, q)
		if read := st.Stats().StreamsRead - before; read > 2 {
			t.Errorf("read %d streams, want <= 2", read)
		}
		if fmt.Sprint(got) != "[[cart-3 cart 1] [order-4 order 1]]" {
			t.Errorf("got %v", got)
		}
		if plan := explainJoin(t, db, q); !strings.Contains(plan, "LookupJoin") {
			t.Errorf("want a lookup join:\n%s", plan)
		}
	})
}
