package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentAppendsAndReads runs writers, readers and a live-tail
// follower together (run it with -race). Every stream must end with
// gapless versions and $all with gapless positions.
func TestConcurrentAppendsAndReads(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	const writers, perWriter = 8, 150
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				stream := fmt.Sprintf("w%d-%d", w, i%3)
				var err error
				if i%10 == 0 {
					_, err = s.AppendMulti(ctx, []StreamAppend{
						{Stream: stream, Expected: ExpectAny, Events: []EventData{jsonEvent("A", `{}`)}},
						{Stream: "shared-1", Expected: ExpectAny, Events: []EventData{jsonEvent("B", `{}`)}},
					})
				} else {
					_, err = s.Append(ctx, stream, ExpectAny, jsonEvent("A", fmt.Sprintf(`{"i":%d}`, i)))
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// A follower tails $all live.
	total := uint64(writers * (perWriter + perWriter/10))
	followed := make(chan uint64, 1)
	go func() {
		var last uint64
		for last < total {
			if _, err := s.WaitForEvents(ctx, last); err != nil {
				t.Error(err)
				break
			}
			it, err := s.ReadAll(ctx, last+1, ReadOptions{})
			if err != nil {
				t.Error(err)
				break
			}
			for it.Next() {
				if p := it.Event().Position; p != last+1 {
					t.Errorf("follower saw position %d after %d", p, last)
				}
				last = it.Event().Position
			}
			it.Close()
		}
		followed <- last
	}()
	// Readers poll streams while writing goes on.
	var rwg sync.WaitGroup
	for r := 0; r < 2; r++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for i := 0; i < 50; i++ {
				it, err := s.ReadStream(ctx, fmt.Sprintf("w%d-0", i%writers), 0, ReadOptions{})
				if err != nil {
					continue // not written yet
				}
				want := int64(0)
				for it.Next() {
					if it.Event().Version != want {
						t.Errorf("version %d, want %d", it.Event().Version, want)
					}
					want++
				}
				it.Close()
			}
		}()
	}
	wg.Wait()
	rwg.Wait()
	if got := <-followed; got != total {
		t.Fatalf("follower reached %d, want %d", got, total)
	}
	if s.Head() != total {
		t.Fatalf("head = %d, want %d", s.Head(), total)
	}
	evs := collect(t)(s.ReadStream(ctx, "shared-1", 0, ReadOptions{}))
	for i, e := range evs {
		if e.Version != int64(i) {
			t.Fatalf("shared-1 version %d at %d", e.Version, i)
		}
	}
	if len(evs) != writers*perWriter/10 {
		t.Fatalf("shared-1 has %d events", len(evs))
	}
}
