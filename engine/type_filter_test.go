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
