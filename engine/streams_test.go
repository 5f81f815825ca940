package engine

import (
	"context"
	"fmt"
	"testing"
)

// TestStreamInfoFirstPositionIsTheFirstVisible: FirstPosition is the
// position of the first event reads return, as EventCount counts them: it
// included the events hidden by $maxCount and $tb. The stream spans
// several posting blocks, so the lookup crosses them.
func TestStreamInfoFirstPositionIsTheFirstVisible(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	evs := make([]EventData, 1200) // blocks of up to maxPostingsPerBlock
	for i := range evs {
		evs[i] = jsonEvent("E", fmt.Sprintf(`{"i":%d}`, i))
	}
	appendN(t, s, "other-1", 3)
	if _, err := s.Append(ctx, "s-1", ExpectAny, evs[:700]...); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "other-1", 3) // positions and versions part ways
	if _, err := s.Append(ctx, "s-1", ExpectAny, evs[700:]...); err != nil {
		t.Fatal(err)
	}
	// What a read of the stream returns first.
	firstRead := func() (uint64, int64) {
		t.Helper()
		it, err := s.ReadStream(ctx, "s-1", 0, ReadOptions{})
		if err != nil {
			return 0, 0
		}
		defer it.Close()
		var first uint64
		var n int64
		for it.Next() {
			if n == 0 {
				first = it.Event().Position
			}
			n++
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return first, n
	}
	check := func(what string) {
		t.Helper()
		wantFirst, wantCount := firstRead()
		info, err := s.StreamInfo(ctx, "s-1")
		if err != nil {
			t.Fatal(err)
		}
		it, err := s.ListStreams(ctx, ListStreamsOptions{Prefix: "s-"})
		if err != nil {
			t.Fatal(err)
		}
		if !it.Next() {
			t.Fatalf("%s: ListStreams: %v", what, it.Err())
		}
		listed := it.Stream()
		it.Close()
		for _, got := range []StreamInfo{info, listed} {
			if got.FirstPosition != wantFirst || got.EventCount != wantCount || got.LastPosition != 1206 {
				t.Fatalf("%s: first %d, count %d, last %d; reads return %d events from %d (last 1206)",
					what, got.FirstPosition, got.EventCount, got.LastPosition, wantCount, wantFirst)
			}
		}
	}
	check("no metadata")
	for _, m := range []StreamMetadata{{MaxCount: 2}, {MaxCount: 700}, {TruncateBefore: 1}, {TruncateBefore: 512},
		{TruncateBefore: 699}, {TruncateBefore: 700}, {TruncateBefore: 1100, MaxCount: 500}, {TruncateBefore: 5000}} {
		if err := s.SetStreamMetadata(ctx, "s-1", m); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("%+v", m))
	}
	if err := s.DeleteStream(ctx, "s-1", ExpectAny, false); err != nil {
		t.Fatal(err)
	}
	check("soft-deleted")
	// Reopened: the same from the persisted index.
	s.Close()
	s = openTestStore(t, s.dir, testOptions())
	check("reopened")
}
