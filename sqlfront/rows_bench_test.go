package sqlfront

import (
	"context"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
)

// BenchmarkRowBuild reads events and builds the rows of SELECT * (all
// base columns): the per-row work of a scan before the result writer.
func BenchmarkRowBuild(b *testing.B) {
	st := openStore(b)
	fillShop(b, st, 20_000)
	fe, err := New(st, nil, Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	t := newEventsTable(fe, dbEventsql, "events", scopeAll, "", nil)
	ctx := sql.NewContext(context.Background())
	n := 0
	for b.Loop() {
		it, err := newRowIter(ctx, t, newScanPlan())
		if err != nil {
			b.Fatal(err)
		}
		for {
			e, err := it.nextEvent()
			if err != nil {
				break
			}
			_ = it.row(e)
			n++
		}
		it.Close(ctx)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/row")
}
