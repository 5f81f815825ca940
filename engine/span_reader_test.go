package engine

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestSpanReadsShareReads counts the preads of type reads: frames of a
// type lying close together share reads, frames far apart get one each,
// and both return the events $all holds.
func TestSpanReadsShareReads(t *testing.T) {
	for _, tt := range []struct {
		name string
		// filler is the data size of the "B" event between two "A" events.
		filler int
		// maxReads bounds the preads of reading all n "A" events.
		maxReads func(n int) int
		minReads func(n int) int
	}{
		{"dense", 100, func(n int) int { return n / 20 }, func(int) int { return 1 }},
		{"sparse", maxFrameGap + 1000, func(n int) int { return n }, func(n int) int { return n }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			opts := testOptions()
			opts.SegmentSize = 1 << 20
			opts.SkipWarmup = true // count preads, none replaced by mapped reads
			s := openTestStore(t, t.TempDir(), opts)
			const n = 600
			for i := range n {
				evs := []EventData{
					{Type: "A", Data: eventData("a", i, 150)},
					{Type: "B", Data: []byte(strings.Repeat("b", tt.filler))},
				}
				if _, err := s.Append(ctx, fmt.Sprintf("s-%d", i%10), ExpectAny, evs...); err != nil {
					t.Fatal(err)
				}
			}
			before := s.Stats().LogReads
			got := collect(t)(s.ReadType(ctx, "A", 0, ReadOptions{}))
			reads := int(s.Stats().LogReads - before)
			if len(got) != n {
				t.Fatalf("%d events, want %d", len(got), n)
			}
			all := collect(t)(s.ReadAll(ctx, 0, ReadOptions{}))
			for k, e := range got {
				w := all[2*k]
				if e.Position != w.Position || e.Type != "A" || !bytes.Equal(e.Data, eventData("a", k, 150)) {
					t.Fatalf("event %d: position %d type %s, want position %d type A (or different data)", k, e.Position, e.Type, w.Position)
				}
			}
			if reads > tt.maxReads(n) || reads < tt.minReads(n) {
				t.Fatalf("read %d events with %d preads, want %d..%d", n, reads, tt.minReads(n), tt.maxReads(n))
			}
			t.Logf("%d events, %d preads", n, reads)
			// A short read fetches little ahead of what it returns.
			before = s.Stats().LogReads
			if got := collect(t)(s.ReadType(ctx, "A", 0, ReadOptions{Limit: 1})); len(got) != 1 {
				t.Fatalf("limit 1: %d events", len(got))
			}
			if reads := s.Stats().LogReads - before; reads != 1 {
				t.Fatalf("limit 1: %d preads, want 1", reads)
			}
		})
	}
}
