package export

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventsql/eventsql/engine"
)

// discardFile is a part file that keeps nothing (benchmarks measure the
// encoding, not the disk).
type discardFile struct{ io.Writer }

func (discardFile) Sync() error  { return nil }
func (discardFile) Close() error { return nil }

// benchBatch is a batch of events like the bulk-import generator's: 64
// streams, 4 types, ~240 bytes of JSON data, metadata on every other one.
func benchBatch(first uint64) *batch {
	b := &batch{}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range batchRows {
		pos := first + uint64(i)
		e := engine.RecordedEvent{Position: pos, Stream: fmt.Sprintf("order-%d", pos%64), Version: int64(pos / 64),
			ID: uuid.New(), Type: []string{"OrderPlaced", "OrderPaid", "OrderShipped", "OrderCancelled"}[pos%4],
			CreatedAt: t0.Add(time.Duration(pos) * time.Millisecond), DataIsJSON: true, MetadataIsJSON: true,
			Data: fmt.Appendf(nil, `{"orderId":"o-%d","customer":"customer-%d","amount":%d,"price":%d.25,"currency":"EUR","address":{"city":"Berlin","zip":"10115"},"items":["sku-%d","sku-%d"]}`,
				pos, pos%997, pos%1000, pos%500, pos%31, pos%17)}
		if i%2 == 0 {
			e.Metadata = fmt.Appendf(nil, `{"correlationId":"c-%d"}`, pos)
		}
		b.add(&e, 0, uint32(pos%4))
	}
	return b
}

// BenchmarkEventsWriter measures the events dataset's writer alone (rows
// built and encoded, pages compressed; no log reading, no disk): per
// event, and allocations per batch of 4096 events. "bycolumn" is the
// column-by-column writer used when the events dataset is written alone
// (its data column on a second goroutine).
func BenchmarkEventsWriter(b *testing.B) {
	for _, v := range []struct {
		name     string
		ts       Timestamps
		byColumn bool
	}{{"int64", TimestampsInt64, false}, {"int96", TimestampsInt96, false}, {"bycolumn", TimestampsInt64, true}} {
		ts := v.ts
		b.Run(v.name, func(b *testing.B) {
			o := (&Options{Dir: b.TempDir(), Timestamps: ts}).withDefaults()
			o.create = func(string) (outFile, error) { return discardFile{io.Discard}, nil }
			pc, err := newPartConfig(o.Dir, "bench", &o)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(pc.close)
			w := newEventsWriter(pc, 0, v.byColumn)
			defer w.stopHelper()
			batches := []*batch{benchBatch(1), benchBatch(1 + batchRows)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := w.write(batches[i%2]); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.cur.w.Close(); err != nil { // the footer too (nothing to rename)
				b.Fatal(err)
			}
			if err := w.cur.buf.Flush(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchRows), "ns/event")
		})
	}
}

// BenchmarkTypedWriter measures the by_type writers alone (one shard,
// the 4 event types of benchBatch; JSON walked, rows built and encoded,
// pages compressed; no log reading, no disk): per event, and
// allocations per batch of 4096 events.
func BenchmarkTypedWriter(b *testing.B) {
	for _, ts := range []Timestamps{TimestampsInt64, TimestampsInt96} {
		b.Run(string(ts), func(b *testing.B) {
			o := (&Options{Dir: b.TempDir(), Timestamps: ts}).withDefaults()
			o.create = func(string) (outFile, error) { return discardFile{io.Discard}, nil }
			pc, err := newPartConfig(o.Dir, "bench", &o)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(pc.close)
			var mu sync.Mutex
			w := newTypedWriter(pc, &Manifest{Datasets: map[string]*Dataset{}}, &mu, 0, 1)
			batches := []*batch{benchBatch(1), benchBatch(1 + batchRows)}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := w.write(ctx, batches[i%2]); err != nil {
					b.Fatal(err)
				}
			}
			for _, t := range w.types { // the footers too (nothing to rename)
				if t.cur != nil {
					if err := t.cur.w.Close(); err != nil {
						b.Fatal(err)
					}
					if err := t.cur.buf.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchRows), "ns/event")
		})
	}
}
