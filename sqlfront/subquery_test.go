package sqlfront

import (
	"testing"
)

// TestCorrelatedSubqueriesUseIndexes checks that a subquery correlated
// with an outer event table by stream or position looks its rows up
// per outer row (events decoded are counted), also when the outer table
// is read through one of our index plans under an alias, and that the
// results are those of the equivalent join. Each query runs once before
// it is counted, so planning work (sampling) is not counted.
func TestCorrelatedSubqueriesUseIndexes(t *testing.T) {
	st, db, orderPos := joinFixture(t)
	lo, hi := orderPos[100], orderPos[110] // 11 orders
	tests := []struct {
		name      string
		query     string
		reference string // the same rows computed another way
		maxRead   uint64
	}{
		{"scalar COUNT by stream, aliased outer with a position filter",
			`SELECT o.stream, (SELECT COUNT(*) FROM by_type.PaymentReceived p WHERE p.stream = o.stream)
			 FROM by_type.OrderPlaced o WHERE o.position BETWEEN ? AND ? ORDER BY o.stream`,
			`SELECT o.stream, COUNT(p.position) FROM by_type.OrderPlaced o
			 LEFT JOIN by_type.PaymentReceived p ON p.stream = o.stream
			 WHERE o.position BETWEEN ? AND ? GROUP BY o.stream ORDER BY o.stream`,
			11 + 11*4},
		{"scalar MAX by stream, unaliased outer",
			`SELECT OrderPlaced.stream, (SELECT MAX(amount) FROM by_type.PaymentReceived WHERE PaymentReceived.stream = OrderPlaced.stream)
			 FROM by_type.OrderPlaced WHERE OrderPlaced.position BETWEEN ? AND ? ORDER BY 1`,
			`SELECT o.stream, MAX(p.amount) FROM by_type.OrderPlaced o
			 LEFT JOIN by_type.PaymentReceived p ON p.stream = o.stream
			 WHERE o.position BETWEEN ? AND ? GROUP BY o.stream ORDER BY o.stream`,
			11 + 11*4},
		{"scalar COUNT by stream, unaliased mixed-case outer without a filter",
			`SELECT OrderPlaced.stream, (SELECT COUNT(*) FROM by_type.PaymentReceived p WHERE p.stream = OrderPlaced.stream)
			 FROM by_type.OrderPlaced WHERE ? < ? ORDER BY 1`,
			`SELECT o.stream, COUNT(p.position) FROM by_type.OrderPlaced o
			 LEFT JOIN by_type.PaymentReceived p ON p.stream = o.stream
			 WHERE ? < ? GROUP BY o.stream ORDER BY o.stream`,
			1000 + 1000*4},
		{"scalar by position on events",
			`SELECT a.position, (SELECT b.event_type FROM events b WHERE b.position = a.position + 1)
			 FROM events a WHERE a.position BETWEEN ? AND ? ORDER BY a.position`,
			`SELECT a.position, b.event_type FROM events a LEFT JOIN events b ON b.position = a.position + 1
			 WHERE a.position BETWEEN ? AND ? ORDER BY a.position`,
			2 * 30},
		{"EXISTS by stream",
			`SELECT o.stream FROM by_type.OrderPlaced o WHERE o.position BETWEEN ? AND ?
			 AND EXISTS (SELECT 1 FROM by_type.PaymentReceived p WHERE p.stream = o.stream AND p.method = 'cash') ORDER BY 1`,
			`SELECT DISTINCT o.stream FROM by_type.OrderPlaced o JOIN by_type.PaymentReceived p ON p.stream = o.stream
			 WHERE o.position BETWEEN ? AND ? AND p.method = 'cash' ORDER BY 1`,
			11 + 11*4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Once untimed: the join coster may sample a filter's
			// selectivity the first time it plans it.
			queryStrings(t, db, tt.query, lo, hi)
			before := st.Stats().EventsDecoded
			got := queryStrings(t, db, tt.query, lo, hi)
			if n := st.Stats().EventsDecoded - before; n > tt.maxRead {
				t.Errorf("decoded %d events, want <= %d (a scan per outer row?)", n, tt.maxRead)
			}
			want := queryStrings(t, db, tt.reference, lo, hi)
			if len(got) == 0 || sorted(got) != sorted(want) {
				t.Errorf("got\n%s\nwant\n%s", sorted(got), sorted(want))
			}
		})
	}
}
