package sqlfront

import (
	"context"
	"fmt"
	"testing"

	"github.com/eventsql/eventsql/engine"
)

// TestStreamsFirstPositionIsTheFirstVisible: eventsql.streams'
// first_position is the first event the stream's reads return, like
// event_count counts them — it was the first event ever written, hidden
// by $maxCount or $tb — and NULL when they return none.
func TestStreamsFirstPositionIsTheFirstVisible(t *testing.T) {
	st, open := testFront(t)
	ctx := context.Background()
	for i := range 6 {
		appendEvents(t, st, "a-1", "E", fmt.Sprintf(`{"i":%d}`, i))
		appendEvents(t, st, "b-1", "E", `{}`)
		appendEvents(t, st, "c-1", "E", `{}`)
		appendEvents(t, st, "d-1", "E", `{}`)
	}
	for stream, m := range map[string]engine.StreamMetadata{"a-1": {MaxCount: 2}, "b-1": {TruncateBefore: 4}, "c-1": {TruncateBefore: 10}} {
		if err := st.SetStreamMetadata(ctx, stream, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteStream(ctx, "d-1", engine.ExpectAny, false); err != nil {
		t.Fatal(err)
	}
	db := open("reader", "r-pw")
	got := queryStrings(t, db, `SELECT s.stream, s.event_count, s.first_position, s.last_position,
		(SELECT COUNT(*) FROM events e WHERE e.stream = s.stream), (SELECT MIN(position) FROM events e WHERE e.stream = s.stream)
		FROM streams s ORDER BY s.stream`)
	want := "[[a-1 2 17 21 2 17] [b-1 2 18 22 2 18] [c-1 0 NULL 23 0 NULL] [d-1 0 NULL 24 0 NULL]]"
	if fmt.Sprint(got) != want {
		t.Fatalf("streams = %v\nwant     %s", got, want)
	}
	// A lookup by name answers the same.
	if got := queryStrings(t, db, "SELECT first_position FROM streams WHERE stream = 'b-1'"); fmt.Sprint(got) != "[[18]]" {
		t.Fatalf("first_position of b-1 = %v", got)
	}
}
