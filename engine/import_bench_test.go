package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkImportEach: Independent commands of 10k single-event parts
// (~300-byte events, 1000 interleaved streams), two in flight: the
// engine's share of a bulk import. Reports ns and CPU per event.
func BenchmarkImportEach(b *testing.B) {
	ctx := context.Background()
	o := DefaultOptions()
	o.Logger = testOptions().Logger
	s := openTestStore(b, b.TempDir(), o)
	data := []byte(`{"sku":"SKU-04821","qty":3,"price":19.99,"currency":"EUR","customer":{"id":"cust-0012345","tier":"gold"},"tags":["web","promo"],"note":"abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz abcdefghij"}`)
	meta := []byte(`{"source":"gen","seq":12345}`)
	const batch = 10_000
	types := []string{"ItemAdded", "ItemRemoved", "QuantityChanged", "CheckedOut"}
	names := make([]string, 100_000)
	for i := range names {
		names[i] = fmt.Sprintf("cart-%d", i)
	}
	mk := func(k int) []StreamAppend {
		parts := make([]StreamAppend, batch)
		evs := make([]EventData, batch)
		for i := range parts {
			n := k*batch + i
			evs[i] = EventData{ID: uuid.New(), Type: types[n%4], Data: data, Metadata: meta, DataIsJSON: true, MetadataIsJSON: true}
			parts[i] = StreamAppend{Stream: names[(n/10000)*1000%len(names)+n%1000], Expected: ExpectAny, Events: evs[i : i+1]}
		}
		return parts
	}
	n := max(b.N/batch, 4)
	cmds := make([][]StreamAppend, n)
	for k := range cmds {
		cmds[k] = mk(k)
	}
	b.ResetTimer()
	start := time.Now()
	var inflight []*Pending
	for _, parts := range cmds {
		p, err := s.Submit(ctx, Command{Appends: parts, Independent: true, JSONValidated: true})
		if err != nil {
			b.Fatal(err)
		}
		inflight = append(inflight, p)
		if len(inflight) == 4 {
			if _, err := inflight[0].Wait(); err != nil {
				b.Fatal(err)
			}
			inflight = inflight[1:]
		}
	}
	for _, p := range inflight {
		if _, err := p.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*batch)/time.Since(start).Seconds(), "events/s")
}
