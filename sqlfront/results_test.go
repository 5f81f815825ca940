package sqlfront

import (
	"strconv"
	"testing"
)

// TestResultBatchBoundaries reads results of sizes around the 128-row
// batch (the first batch is written by the connection's goroutine, the
// rest arrive from a reader goroutine) and checks every row arrives, once
// and in order.
func TestResultBatchBoundaries(t *testing.T) {
	st := openStore(t)
	fillAggData(t, st) // 3001 events
	open := killFront(t, st, nil)
	db := open("reader")
	for _, n := range []int{0, 1, 127, 128, 129, 255, 256, 257, 639, 640, 641, 1152, 1153, 3001} {
		rows := queryStrings(t, db, "SELECT position, data FROM events WHERE version >= 0 AND position <= "+strconv.Itoa(n))
		if len(rows) != n {
			t.Fatalf("%d rows: got %d", n, len(rows))
		}
		for i, r := range rows {
			if r[0] != strconv.Itoa(i+1) || r[1] == "NULL" {
				t.Fatalf("%d rows: row %d is %v", n, i, r)
			}
		}
	}
}
