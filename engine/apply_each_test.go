package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func uid(n byte) uuid.UUID { return uuid.UUID{0x10, 15: n} }

// TestIndependentParts: in an Independent command each part is accepted
// or rejected on its own, in order, and the accepted ones are written
// contiguously as if alone.
func TestIndependentParts(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	if _, err := s.Append(ctx, "old-1", ExpectAny, idEvent(uid(1), "E", `1`)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, "gone-1", ExpectAny, true); err != nil {
		t.Fatal(err)
	}
	one := func(stream string, e EventData) StreamAppend {
		return StreamAppend{Stream: stream, Expected: ExpectAny, Events: []EventData{e}}
	}
	parts := []StreamAppend{
		0:  one("a-1", idEvent(uid(2), "E", `{"n":0}`)),
		1:  one("a-1", idEvent(uid(3), "E", `{bad`)),                                                                        // invalid JSON
		2:  one("$sys", idEvent(uid(4), "E", `1`)),                                                                          // reserved name
		3:  one("gone-1", idEvent(uid(5), "E", `1`)),                                                                        // hard-deleted
		4:  one("b-1", idEvent(uid(1), "E", `1`)),                                                                           // id used in old-1
		5:  one("old-1", idEvent(uid(1), "E", `1`)),                                                                         // replay of old-1's event
		6:  one("a-1", idEvent(uid(2), "E", `{"n":0}`)),                                                                     // replay of part 0
		7:  one("b-1", idEvent(uid(2), "E", `1`)),                                                                           // id of part 0, other stream
		8:  {Stream: "c-1", Expected: 5, Events: []EventData{idEvent(uid(6), "E", `1`)}},                                    // wrong expected version
		9:  {Stream: "c-1", Expected: ExpectAny, Events: []EventData{idEvent(uid(7), "E", `1`), idEvent(uid(7), "E", `2`)}}, // id twice in a part
		10: {Stream: "a-1", Expected: 0, Events: []EventData{idEvent(uid(8), "E", `1`), idEvent(uid(9), "E", `2`)}},
		11: one("a-1", EventData{Type: "", Data: []byte(`1`)}), // no type
	}
	want := []struct {
		err      error
		replayed bool
		first    uint64
		next     int64
	}{
		0:  {first: 2, next: 0},
		1:  {err: ErrInvalidInput},
		2:  {err: ErrInvalidInput},
		3:  {err: ErrStreamDeleted},
		4:  {err: ErrDuplicateEventID},
		5:  {replayed: true, first: 1, next: 0},
		6:  {replayed: true, first: 2, next: 0},
		7:  {err: ErrDuplicateEventID},
		8:  {err: ErrWrongExpectedVersion},
		9:  {err: ErrDuplicateEventID},
		10: {first: 3, next: 2},
		11: {err: ErrInvalidInput},
	}
	res, err := s.Apply(ctx, Command{Appends: parts, Independent: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstPosition != 2 || res.LastPosition != 4 {
		t.Fatalf("positions %d..%d, want 2..4", res.FirstPosition, res.LastPosition)
	}
	for i, w := range want {
		got := res.Streams[i]
		switch {
		case w.err != nil:
			if !errors.Is(got.Err, w.err) {
				t.Errorf("part %d: err = %v, want %v", i, got.Err, w.err)
			}
		case got.Err != nil || got.Replayed != w.replayed || got.FirstPosition != w.first || got.NextExpectedVersion != w.next:
			t.Errorf("part %d: %+v, want %+v", i, got, w)
		}
	}
	if s.Head() != 4 {
		t.Fatalf("head = %d, want 4", s.Head())
	}
	evs := collect(t)(s.ReadStream(ctx, "a-1", 0, ReadOptions{}))
	if len(evs) != 3 || evs[0].ID != uid(2) || evs[1].ID != uid(8) || evs[2].ID != uid(9) {
		t.Fatalf("a-1 holds %d events", len(evs))
	}

	// Retrying the whole command writes nothing new; rejected parts stay
	// rejected.
	res, err = s.Apply(ctx, Command{Appends: parts, Independent: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.LastPosition != 0 || s.Head() != 4 {
		t.Fatalf("retry wrote events: %+v, head %d", res, s.Head())
	}
	for _, i := range []int{0, 5, 6, 10} {
		if !res.Streams[i].Replayed {
			t.Errorf("retry: part %d not replayed: %+v", i, res.Streams[i])
		}
	}

	// A command whose every part is rejected writes nothing.
	res, err = s.Apply(ctx, Command{Appends: parts[1:5], Independent: true})
	if err != nil || res.LastPosition != 0 || s.Head() != 4 {
		t.Fatalf("all rejected: %+v, %v, head %d", res, err, s.Head())
	}
}

// TestIndependentSurvivesReopen: what an Independent command wrote is
// indexed like any append (reopen with the index rebuilt from the log).
func TestIndependentSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir, testOptions())
	var parts []StreamAppend
	for i := range 50 {
		stream := "x-1"
		if i%3 == 0 {
			stream = "$bad"
		}
		parts = append(parts, StreamAppend{Stream: stream, Expected: ExpectAny, Events: []EventData{jsonEvent("E", `{}`)}})
	}
	res, err := s.Apply(ctx, Command{Appends: parts, Independent: true, JSONValidated: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.LastPosition - res.FirstPosition + 1; n != 33 {
		t.Fatalf("wrote %d events, want 33", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, testOptions())
	if evs := collect(t)(s.ReadStream(ctx, "x-1", 0, ReadOptions{Limit: 100})); len(evs) != 33 || evs[32].Version != 32 {
		t.Fatalf("after reopen: %d events", len(evs))
	}
}

// TestSubmitKeepsOrder: commands submitted one after the other are
// applied in that order, whatever order their outcomes are awaited in.
func TestSubmitKeepsOrder(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	var ps []*Pending
	for i := range 20 {
		p, err := s.Submit(ctx, Command{Appends: []StreamAppend{{Stream: "o-1", Expected: ExpectedVersion(i - 1), Events: []EventData{jsonEvent("E", `{}`)}}}})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for i := len(ps) - 1; i >= 0; i-- {
		res, err := ps[i].Wait()
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		if res.FirstPosition != uint64(i+1) {
			t.Fatalf("command %d got position %d", i, res.FirstPosition)
		}
	}
	if st := s.Stats(); st.Events != 20 {
		t.Fatalf("stats count %d events", st.Events)
	}
}

// TestBulkIDsAreFound: ids of large index batches (kept as sorted runs
// rather than in the id map) are found by GetEvent and by the duplicate
// check, before and after they are ingested into the index, and after a
// reopen.
func TestBulkIDsAreFound(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o := testOptions()
	o.idFlushEntries = 750 // freeze after every second command (sorted runs count for a quarter)
	s := openTestStore(t, dir, o)
	var all []uuid.UUID
	for c := range 5 {
		parts := make([]StreamAppend, 2000)
		for i := range parts {
			id := uuid.New()
			all = append(all, id)
			parts[i] = StreamAppend{Stream: fmt.Sprintf("b-%d", i%37), Expected: ExpectAny, Events: []EventData{idEvent(id, "E", `{}`)}}
		}
		if _, err := s.Apply(ctx, Command{Appends: parts, Independent: true}); err != nil {
			t.Fatalf("command %d: %v", c, err)
		}
	}
	check := func(s *Store) {
		t.Helper()
		for i, id := range all {
			e, err := s.GetEvent(ctx, id)
			if err != nil || e.Position != uint64(i+1) {
				t.Fatalf("event %d: %v, %v", i, e, err)
			}
		}
		// Every id is a duplicate in another stream.
		res, err := s.Apply(ctx, Command{Independent: true, Appends: []StreamAppend{
			{Stream: "other-1", Expected: ExpectAny, Events: []EventData{idEvent(all[0], "E", `{}`)}},
			{Stream: "other-1", Expected: ExpectAny, Events: []EventData{idEvent(all[len(all)-1], "E", `{}`)}},
		}})
		if err != nil || !errors.Is(res.Streams[0].Err, ErrDuplicateEventID) || !errors.Is(res.Streams[1].Err, ErrDuplicateEventID) {
			t.Fatalf("duplicates: %+v, %v", res, err)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(openTestStore(t, dir, o))
}

// TestIndependentRepeatsInFlight: a bulk command repeating the ids of one
// still in flight (applied, not yet indexed) sees them: replays in the
// same streams, duplicates in others.
func TestIndependentRepeatsInFlight(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	mk := func(prefix string, ids []uuid.UUID) Command {
		parts := make([]StreamAppend, len(ids))
		for i, id := range ids {
			parts[i] = StreamAppend{Stream: fmt.Sprintf("%s-%d", prefix, i%7), Expected: ExpectAny, Events: []EventData{idEvent(id, "E", `{}`)}}
		}
		return Command{Appends: parts, Independent: true}
	}
	ids := make([]uuid.UUID, 3000)
	for i := range ids {
		ids[i] = uuid.New()
	}
	var ps []*Pending
	for _, c := range []Command{mk("a", ids), mk("a", ids), mk("b", ids)} {
		p, err := s.Submit(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	var res []Result
	for _, p := range ps {
		r, err := p.Wait()
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, r)
	}
	for i := range ids {
		if sr := res[1].Streams[i]; !sr.Replayed || sr.FirstPosition != uint64(i+1) {
			t.Fatalf("repeat %d: %+v", i, sr)
		}
		if sr := res[2].Streams[i]; !errors.Is(sr.Err, ErrDuplicateEventID) {
			t.Fatalf("other stream %d: %+v", i, sr)
		}
	}
	if s.Head() != uint64(len(ids)) {
		t.Fatalf("head = %d", s.Head())
	}
}

// TestIndependentCommandThatRolls: a bulk command that does not fit the
// active segment makes the log roll and is applied again in the new
// segment; its replays, duplicates (also of its own earlier parts) and
// positions come out as if it had fit, and all of it survives a reopen.
func TestIndependentCommandThatRolls(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o := testOptions()
	o.SegmentSize = 4096
	s := openTestStore(t, dir, o)
	if _, err := s.Append(ctx, "fill-1", ExpectAny, jsonEvent("E", `"`+strings.Repeat("f", 3000)+`"`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "old-1", ExpectAny, idEvent(uid(1), "E", `1`)); err != nil {
		t.Fatal(err)
	}
	segs := len(segmentPaths(t, dir))
	pad := `"` + strings.Repeat("p", 300) + `"`
	one := func(stream string, e EventData) StreamAppend {
		return StreamAppend{Stream: stream, Expected: ExpectAny, Events: []EventData{e}}
	}
	parts := []StreamAppend{
		one("a-1", idEvent(uid(2), "E", pad)),
		one("old-1", idEvent(uid(1), "E", `1`)), // replay
		one("b-1", idEvent(uid(2), "E", pad)),   // id of part 0, other stream
		one("a-1", idEvent(uid(3), "E", pad)),
		one("c-1", idEvent(uid(3), "E", pad)), // id of part 3, other stream
		one("c-1", idEvent(uid(4), "E", pad)),
	}
	res, err := s.Apply(ctx, Command{Appends: parts, Independent: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(segmentPaths(t, dir)); got != segs+1 {
		t.Fatalf("%d segments after the command, want %d (it does not fit the first)", got, segs+1)
	}
	if res.FirstPosition != 3 || res.LastPosition != 5 {
		t.Fatalf("positions %d..%d, want 3..5", res.FirstPosition, res.LastPosition)
	}
	sr := res.Streams
	if sr[0].FirstPosition != 3 || !sr[1].Replayed || sr[1].FirstPosition != 2 || !errors.Is(sr[2].Err, ErrDuplicateEventID) ||
		sr[3].FirstPosition != 4 || !errors.Is(sr[4].Err, ErrDuplicateEventID) || sr[5].FirstPosition != 5 || sr[5].NextExpectedVersion != 0 {
		t.Fatalf("results: %+v", sr)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, o)
	for id, pos := range map[uuid.UUID]uint64{uid(1): 2, uid(2): 3, uid(3): 4, uid(4): 5} {
		if e, err := s.GetEvent(ctx, id); err != nil || e.Position != pos {
			t.Fatalf("event %s after reopen: %+v, %v; want position %d", id, e, err, pos)
		}
	}
	if h := s.Head(); h != 5 {
		t.Fatalf("head = %d, want 5", h)
	}
}

// TestIndependentResultBuf: a command given storage for its results
// fills it (stale results from an earlier use are overwritten) and the
// results are the same as without.
func TestIndependentResultBuf(t *testing.T) {
	ctx := context.Background()
	mk := func(c int) Command {
		parts := make([]StreamAppend, 50)
		for i := range parts {
			parts[i] = StreamAppend{Stream: fmt.Sprintf("r-%d", i%7), Expected: ExpectAny, Events: []EventData{idEvent(uid(byte(i)), "E", `{}`)}}
		}
		parts[3].Expected = 99 // rejected
		if c == 1 {
			parts[3].Expected = ExpectAny
		}
		return Command{Appends: parts, Independent: true}
	}
	plain := openTestStore(t, t.TempDir(), testOptions())
	buffered := openTestStore(t, t.TempDir(), testOptions())
	buf := make([]StreamResult, 0, 64)
	for c := range 3 {
		want, err := plain.Apply(ctx, mk(c))
		if err != nil {
			t.Fatal(err)
		}
		cmd := mk(c)
		cmd.ResultBuf = buf
		got, err := buffered.Apply(ctx, cmd)
		if err != nil {
			t.Fatal(err)
		}
		if &got.Streams[0] != &buf[:1][0] {
			t.Fatalf("command %d: the results are not in the buffer given", c)
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("command %d: with a buffer\n%+v\nwithout\n%+v", c, got, want)
		}
		buf = got.Streams[:0]
	}
}

// TestBulkIDRunsRecycled: large index batches sort their ids into
// recycled slices, and ingested runs are recycled; across many batches
// and ingestions every id is still found, before and after a reopen.
func TestBulkIDRunsRecycled(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o := testOptions()
	o.SegmentSize = 16 << 20
	o.idFlushEntries = 3000 // ingest every third batch (sorted runs count for a quarter)
	s := openTestStore(t, dir, o)
	var all []uuid.UUID
	for c := range 12 {
		parts := make([]StreamAppend, 5000) // over sortIDsBuckets
		for i := range parts {
			id := uuid.New()
			all = append(all, id)
			parts[i] = StreamAppend{Stream: fmt.Sprintf("k-%d", i%101), Expected: ExpectAny, Events: []EventData{idEvent(id, "E", `{}`)}}
		}
		if _, err := s.Apply(ctx, Command{Appends: parts, Independent: true}); err != nil {
			t.Fatalf("command %d: %v", c, err)
		}
	}
	s.ids.spare.mu.Lock()
	spare := len(s.ids.spare.free)
	s.ids.spare.mu.Unlock()
	check := func(s *Store) {
		t.Helper()
		for i, id := range all {
			e, err := s.GetEvent(ctx, id)
			if err != nil || e.Position != uint64(i+1) {
				t.Fatalf("event %d: %v, %v", i, e, err)
			}
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(openTestStore(t, dir, o))
	t.Logf("%d spare id slices after 12 batches", spare)
}
