package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/google/uuid"
)

func TestExistenceFilterHasNoFalseNegatives(t *testing.T) {
	f := newExistenceFilterMin(1000, 16)
	var keys [][]byte
	for i := 0; i < 5000; i++ { // five times its capacity: still no false negatives
		k := eventIDKey(nil, uuid.New())
		f.add(k)
		keys = append(keys, k)
	}
	for _, k := range keys {
		if !f.mayContain(k) {
			t.Fatalf("false negative for %x", k)
		}
	}
	if !f.full() {
		t.Fatal("filter over capacity does not report full")
	}
	fp := 0
	for i := 0; i < 10000; i++ {
		if f.mayContain(eventIDKey(nil, uuid.New())) {
			fp++
		}
	}
	t.Logf("false positives at 5x capacity: %d/10000", fp)
}

// TestExistenceFilterGrowsWithoutLosingIDs makes the filter fill up and
// be rebuilt (twice as large, from the index, while appends go on) many
// times; every id ever written must still be recognised as a duplicate.
func TestExistenceFilterGrowsWithoutLosingIDs(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	opts.filterMinKeys = 64
	dir := t.TempDir()
	s := openTestStore(t, dir, opts)
	var mu sync.Mutex
	var ids []uuid.UUID
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				id := uuid.New()
				if _, err := s.Append(ctx, fmt.Sprintf("g%d-%d", w, i%7), ExpectAny, idEvent(id, "E", `{}`)); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if cap := s.applier.filter.capacity; cap <= 64 {
		t.Fatalf("the filter never grew (capacity %d)", cap)
	}
	check := func(s *Store) {
		t.Helper()
		for _, id := range ids {
			_, err := s.Append(ctx, "elsewhere-1", ExpectAny, idEvent(id, "E", `{}`))
			if !errors.Is(err, ErrDuplicateEventID) {
				t.Fatalf("id %s written before was accepted again: %v", id, err)
			}
		}
		// New streams are still told apart from existing ones.
		if _, err := s.Append(ctx, "g0-0", ExpectNoStream, jsonEvent("E", `{}`)); !errors.Is(err, ErrWrongExpectedVersion) {
			t.Fatalf("existing stream taken for new: %v", err)
		}
	}
	check(s)
	s.Close()
	s = openTestStore(t, dir, opts)
	// Wait for the background fill so the filter, not the index, answers.
	for !s.applier.filter.ready.Load() {
		if _, err := s.Append(ctx, "tick-1", ExpectAny, jsonEvent("E", `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	check(s)
}

// TestExpectEventsGrowsTheFilterAhead: announced events make the filter
// grow once, before they come, and it does not grow again while they are
// written; every id stays a duplicate afterwards.
func TestExpectEventsGrowsTheFilterAhead(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	opts.filterMinKeys = 64
	s := openTestStore(t, t.TempDir(), opts)
	waitFilterReady(t, s)
	s.ExpectEvents(5000)
	// The next group takes the hint; wait for the larger filter.
	for s.applier.filter.capacity < 10_000 || !s.applier.filter.ready.Load() {
		if _, err := s.Append(ctx, "tick-1", ExpectAny, jsonEvent("E", `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	capacity := s.applier.filter.capacity
	var ids []uuid.UUID
	for c := range 5 {
		parts := make([]StreamAppend, 1000)
		for i := range parts {
			id := uuid.New()
			ids = append(ids, id)
			parts[i] = StreamAppend{Stream: fmt.Sprintf("s-%d-%d", c, i%100), Expected: ExpectAny, Events: []EventData{idEvent(id, "E", `{}`)}}
		}
		if _, err := s.Apply(ctx, Command{Appends: parts, Independent: true}); err != nil {
			t.Fatal(err)
		}
	}
	if s.applier.filter.capacity != capacity || s.applier.next != nil {
		t.Fatalf("the filter grew again while the announced events came: capacity %d -> %d", capacity, s.applier.filter.capacity)
	}
	for _, id := range ids {
		if _, err := s.Append(ctx, "other-1", ExpectAny, idEvent(id, "E", `{}`)); !errors.Is(err, ErrDuplicateEventID) {
			t.Fatalf("id %s accepted twice: %v", id, err)
		}
	}
}

// TestExistenceFilterStructuredIDs: event ids are hashed by a multiply-mix
// of their halves; ids that differ only in a few bytes (counters, time-
// ordered UUIDv7s) must spread as well as random ones.
func TestExistenceFilterStructuredIDs(t *testing.T) {
	const n = 200_000
	patterns := map[string]func(i uint64) uuid.UUID{
		"random": func(uint64) uuid.UUID { return uuid.New() },
		"counter in the last bytes": func(i uint64) uuid.UUID {
			var id uuid.UUID
			binary.BigEndian.PutUint64(id[8:], i)
			return id
		},
		"counter in the first bytes": func(i uint64) uuid.UUID {
			var id uuid.UUID
			binary.BigEndian.PutUint64(id[:8], i)
			return id
		},
		"UUIDv7": func(uint64) uuid.UUID { return uuid.Must(uuid.NewV7()) },
	}
	for name, mk := range patterns {
		f := newExistenceFilterMin(n, 16)
		for i := range uint64(n) {
			f.add(eventIDKey(nil, mk(i)))
		}
		fp := 0
		for i := range uint64(n) {
			if f.mayContain(eventIDKey(nil, mk(n+i))) {
				fp++
			}
		}
		if rate := float64(fp) / n; rate > 0.005 {
			t.Errorf("%s: %.3f%% false positives at capacity, want about 0.1%%", name, 100*rate)
		}
	}
}

// TestExistenceFilterMapped: a filter large enough to get its own
// mapping (huge pages advised) works like a small one, and dropping
// filters releases their mappings (run under -race and with many
// filters made and dropped).
func TestExistenceFilterMapped(t *testing.T) {
	for round := range 8 {
		f := newExistenceFilterMin(4<<20, 16)
		if len(f.words)*8 < hugeFilterBytes {
			t.Fatalf("a %d-byte filter is not mapped", len(f.words)*8)
		}
		keys := make([][]byte, 1000)
		for i := range keys {
			keys[i] = eventIDKey(nil, uuid.New())
			f.add(keys[i])
		}
		for _, k := range keys {
			if !f.mayContain(k) || !f.testAndAddOwned(f.hash(k)) {
				t.Fatalf("round %d: a key added is missing", round)
			}
		}
		runtime.GC()
	}
}
