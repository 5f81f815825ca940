package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
)

// BenchmarkRebuildIndex measures re-indexing the whole log on open (the
// index directory deleted), in events per second.
func BenchmarkRebuildIndex(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	opts := testOptions()
	opts.SegmentSize = 64 << 20
	opts.IndexMemtableSize = 16 << 20
	opts.idFlushEntries = defaultIDFlushEntries
	s, err := Open(ctx, dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	const events = 500_000
	data := []byte(`{"orderId":"o-1","sku":"SKU-123","qty":3,"price":12.5,"note":"padding padding padding padding padding padding padding padding padding padding padding padding"}`)
	for i := 0; i < events/1000; i++ {
		var parts []StreamAppend
		for st := 0; st < 100; st++ {
			evs := make([]EventData, 10)
			for j := range evs {
				evs[j] = EventData{ID: uuid.New(), Type: fmt.Sprintf("T%d", j%4), Data: data, DataIsJSON: true}
			}
			parts = append(parts, StreamAppend{Stream: fmt.Sprintf("order-%d", (i%100)*100+st), Expected: ExpectAny, Events: evs})
		}
		if _, err := s.AppendMulti(ctx, parts); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		os.RemoveAll(filepath.Join(dir, "index"))
		b.StartTimer()
		s, err := Open(ctx, dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
