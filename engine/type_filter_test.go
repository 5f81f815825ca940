package engine

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestStreamReadsByType: a stream read limited to an event type returns
// exactly the stream's events of that type, in either direction, from any
// version and with limits, and reads no other event.
func TestStreamReadsByType(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	types := []string{"A", "B", "C", "D"}
	// Small groups first (a type block per append), then one large
	// command (blocks of up to 512), then small ones again.
	appendRound := func(round int) {
		for i := range 12 {
			typ := types[(round*7+i*3)%3] // D is never written
			if round%5 == 0 {
				typ = "A"
			}
			if _, err := s.Append(ctx, fmt.Sprintf("s-%d", i), ExpectAny, jsonEvent(typ, fmt.Sprintf(`{"r":%d}`, round))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for r := range 20 {
		appendRound(r)
	}
	var parts []StreamAppend
	for i := range 12 {
		var evs []EventData
		for k := range 300 {
			evs = append(evs, jsonEvent(types[(i+k)%3], `{}`))
		}
		parts = append(parts, StreamAppend{Stream: fmt.Sprintf("s-%d", i), Expected: ExpectAny, Events: evs})
	}
	if _, err := s.AppendMulti(ctx, parts); err != nil {
		t.Fatal(err)
	}
	for r := 20; r < 40; r++ {
		appendRound(r)
	}

	for i := range 12 {
		stream := fmt.Sprintf("s-%d", i)
		all := collect(t)(s.ReadStream(ctx, stream, 0, ReadOptions{}))
		for _, typ := range types {
			for _, dir := range []Direction{Forward, Backward} {
				for _, from := range []int64{-1, 0, 17, 200, 339} {
					for _, limit := range []int{0, 1, 7} {
						var want []*RecordedEvent
						if dir == Forward {
							for _, e := range all {
								if e.Type == typ && e.Version >= from {
									want = append(want, e)
								}
							}
						} else {
							for k := len(all) - 1; k >= 0; k-- {
								if e := all[k]; e.Type == typ && (from < 0 || e.Version <= from) {
									want = append(want, e)
								}
							}
						}
						if limit > 0 && len(want) > limit {
							want = want[:limit]
						}
						before := s.Stats().EventsDecoded
						got := collect(t)(s.ReadStream(ctx, stream, from, ReadOptions{EventType: typ, Direction: dir, Limit: limit}))
						decoded := s.Stats().EventsDecoded - before
						if len(got) != len(want) {
							t.Fatalf("%s type %s dir %d from %d limit %d: %d events, want %d", stream, typ, dir, from, limit, len(got), len(want))
						}
						for k := range want {
							if got[k].Position != want[k].Position || got[k].ID != want[k].ID {
								t.Fatalf("%s type %s dir %d from %d: event %d at %d, want %d", stream, typ, dir, from, k, got[k].Position, want[k].Position)
							}
						}
						if decoded != uint64(len(want)) {
							t.Fatalf("%s type %s dir %d from %d limit %d: decoded %d events for %d", stream, typ, dir, from, limit, decoded, len(want))
						}
					}
				}
			}
		}
	}
	if _, err := s.ReadAll(ctx, 0, ReadOptions{EventType: "A"}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("ReadAll with an event type: %v, want ErrInvalidInput", err)
	}
	if _, err := s.ReadCategory(ctx, "s", 0, ReadOptions{EventType: "A"}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("ReadCategory with an event type: %v, want ErrInvalidInput", err)
	}
	if _, err := s.ReadStream(ctx, "s-1", 0, ReadOptions{EventType: "bad\x00type"}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("ReadStream with an invalid event type: %v, want ErrInvalidInput", err)
	}
}

// TestStreamReadsByTypeSeeNewEvents: decoded type blocks are cached
// across reads; events appended after a read, in new blocks, are found by
// the next one.
func TestStreamReadsByTypeSeeNewEvents(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	count := func(stream, typ string) int {
		return len(collect(t)(s.ReadStream(ctx, stream, 0, ReadOptions{EventType: typ})))
	}
	for round := 1; round <= 5; round++ {
		for _, st := range []string{"a-1", "a-2"} {
			if _, err := s.Append(ctx, st, ExpectAny, jsonEvent("X", `{}`), jsonEvent("Y", `{}`)); err != nil {
				t.Fatal(err)
			}
		}
		for _, st := range []string{"a-1", "a-2"} {
			if got := count(st, "X"); got != round {
				t.Fatalf("round %d: %s has %d X events, want %d", round, st, got, round)
			}
			if got := count(st, "Z"); got != 0 {
				t.Fatalf("round %d: %s has %d Z events, want 0", round, st, got)
			}
		}
	}
	// Z appears later: blocks cached while it had none do not hide it.
	if _, err := s.Append(ctx, "a-1", ExpectAny, jsonEvent("Z", `{}`)); err != nil {
		t.Fatal(err)
	}
	if got := count("a-1", "Z"); got != 1 {
		t.Fatalf("a-1 has %d Z events, want 1", got)
	}
}

func TestTypeBlockCache(t *testing.T) {
	var c typeBlockCache
	blk := func(from, to uint64, n int) *typeBlock {
		b := &typeBlock{from: from, to: to}
		for k := range n {
			b.block = append(b.block, posting{Pos: from + uint64(k)})
		}
		return b
	}
	c.add("T", blk(100, 199, 10))
	c.add("T", blk(0, 99, 0))
	c.add("T", blk(300, 310, 11))
	c.add("U", blk(150, 160, 1))
	for _, tt := range []struct {
		typ  string
		pos  uint64
		from uint64 // 0 with ok false: not cached
		ok   bool
	}{
		{"T", 0, 0, true}, {"T", 99, 0, true}, {"T", 100, 100, true}, {"T", 199, 100, true},
		{"T", 200, 0, false}, {"T", 299, 0, false}, {"T", 305, 300, true}, {"T", 311, 0, false},
		{"U", 150, 150, true}, {"U", 100, 0, false}, {"V", 1, 0, false},
	} {
		b := c.find(tt.typ, tt.pos)
		if (b != nil) != tt.ok || (b != nil && b.from != tt.from) {
			t.Errorf("find(%s, %d) = %+v, want from %d (cached %v)", tt.typ, tt.pos, b, tt.from, tt.ok)
		}
	}
	// The last block again, now with a successor: replaced, not doubled.
	c.add("T", blk(300, 399, 11))
	if b := c.find("T", 350); b == nil || b.to != 399 || c.postings != 10+11+1 {
		t.Fatalf("after replacing: %+v, %d postings", b, c.postings)
	}
	// Full: it starts over.
	c.add("T", blk(1000, 1000+maxCachedTypePostings, maxCachedTypePostings-5))
	if c.find("T", 150) != nil || c.find("T", 1000) == nil {
		t.Fatal("a full cache did not start over")
	}
}
