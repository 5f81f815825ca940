package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// testClock returns a clock that advances one millisecond per call from
// a fixed instant, so tests are deterministic.
func testClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

func testOptions() Options {
	o := DefaultOptions()
	o.SegmentSize = 64 << 10
	o.IndexMemtableSize = 1 << 20
	o.IndexCacheSize = 8 << 20
	o.Clock = testClock()
	o.idFlushEntries = 64 // exercise ingesting event ids into the index
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return o
}

func openTestStore(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func jsonEvent(typ string, data string) EventData {
	return EventData{Type: typ, Data: []byte(data), DataIsJSON: true}
}

func idEvent(id uuid.UUID, typ, data string) EventData {
	e := jsonEvent(typ, data)
	e.ID = id
	return e
}

// collect reads an iterator to the end: collect(t)(store.ReadAll(...)).
func collect(t testing.TB) func(*EventIterator, error) []*RecordedEvent {
	return func(it *EventIterator, err error) []*RecordedEvent { return collectIt(t, it, err) }
}

func collectIt(t testing.TB, it *EventIterator, err error) []*RecordedEvent {
	t.Helper()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	defer it.Close()
	var out []*RecordedEvent
	for it.Next() {
		out = append(out, it.Event().Clone())
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterate: %v", err)
	}
	return out
}

func versions(evs []*RecordedEvent) []int64 {
	var v []int64
	for _, e := range evs {
		v = append(v, e.Version)
	}
	return v
}

func positions(evs []*RecordedEvent) []uint64 {
	var p []uint64
	for _, e := range evs {
		p = append(p, e.Position)
	}
	return p
}

func TestAppendAndReadBack(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	res, err := s.Append(ctx, "cart-1", ExpectNoStream, jsonEvent("ItemAdded", `{"sku":"A"}`), jsonEvent("ItemAdded", `{"sku":"B"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstPosition != 1 || res.LastPosition != 2 || res.Streams[0].NextExpectedVersion != 1 {
		t.Fatalf("result = %+v", res)
	}
	if _, err := s.Append(ctx, "order-1", ExpectAny, jsonEvent("OrderPlaced", `{"total":3}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "cart-1", 1, jsonEvent("CheckedOut", `{}`)); err != nil {
		t.Fatal(err)
	}
	evs := collect(t)(s.ReadStream(ctx, "cart-1", 0, ReadOptions{}))
	if got := fmt.Sprint(versions(evs), positions(evs)); got != "[0 1 2] [1 2 4]" {
		t.Fatalf("stream read = %s", got)
	}
	if string(evs[1].Data) != `{"sku":"B"}` || evs[2].Type != "CheckedOut" || evs[0].Stream != "cart-1" {
		t.Fatalf("events = %+v", evs)
	}
	back := collect(t)(s.ReadStream(ctx, "cart-1", -1, ReadOptions{Direction: Backward}))
	if got := fmt.Sprint(versions(back)); got != "[2 1 0]" {
		t.Fatalf("backward = %s", got)
	}
	all := collect(t)(s.ReadAll(ctx, 0, ReadOptions{}))
	if got := fmt.Sprint(positions(all)); got != "[1 2 3 4]" {
		t.Fatalf("$all = %s", got)
	}
	byType := collect(t)(s.ReadType(ctx, "ItemAdded", 0, ReadOptions{}))
	if got := fmt.Sprint(positions(byType)); got != "[1 2]" {
		t.Fatalf("type = %s", got)
	}
	byCat := collect(t)(s.ReadCategory(ctx, "cart", 2, ReadOptions{}))
	if got := fmt.Sprint(positions(byCat)); got != "[2 4]" {
		t.Fatalf("category = %s", got)
	}
	e, err := s.GetEvent(ctx, evs[1].ID)
	if err != nil || e.Position != 2 {
		t.Fatalf("get event = %+v, %v", e, err)
	}
	_, err = s.Append(ctx, "cart-1", 5, jsonEvent("X", `{}`))
	var wev *WrongExpectedVersionError
	if !errors.As(err, &wev) || wev.Current != 2 {
		t.Fatalf("wrong expected version: %v", err)
	}
}
