package engine

import (
	"context"
	"fmt"
	"testing"
)

// TestIndexerRecentStreamsTrimmed: the indexer's direct-mapped cache of
// recent streams is emptied with its map, so a stream met again after a
// trim — here two streams sharing a slot, in one batch — is indexed from
// one state.
func TestIndexerRecentStreamsTrimmed(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	a := "slot-a"
	b := ""
	for i := 0; b == ""; i++ {
		if n := fmt.Sprintf("slot-b%d", i); recentSlot([]byte(n)) == recentSlot([]byte(a)) {
			b = n
		}
	}
	one := func(stream string) StreamAppend {
		return StreamAppend{Stream: stream, Expected: ExpectAny, Events: []EventData{jsonEvent("E", `{}`)}}
	}
	if _, err := s.Apply(ctx, Command{Independent: true, Appends: []StreamAppend{one(b), one(a)}}); err != nil { // a last: in the slot at the trim
		t.Fatal(err)
	}
	s.Head() // the indexer is done with them (reads catch up first)
	s.indexer.trimCaches()
	if _, err := s.Apply(ctx, Command{Independent: true, Appends: []StreamAppend{one(a), one(b), one(a)}}); err != nil {
		t.Fatal(err)
	}
	for stream, want := range map[string]int{a: 3, b: 2} {
		evs := collect(t)(s.ReadStream(ctx, stream, 0, ReadOptions{}))
		if len(evs) != want {
			t.Fatalf("%s: %d events, want %d", stream, len(evs), want)
		}
	}
	if err := s.failure(); err != nil {
		t.Fatal(err)
	}
}
