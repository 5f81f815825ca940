package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestExpectedVersion(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	if _, err := s.Append(ctx, "a-1", ExpectAny, jsonEvent("E", `1`)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, "gone-1", ExpectAny, true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stream   string
		expected ExpectedVersion
		current  int64 // -99: success expected
		sentinel error
	}{
		{"any on existing", "a-1", ExpectAny, -99, nil},
		{"exact match", "a-1", 1, -99, nil},
		{"exact mismatch", "a-1", 0, 2, ErrWrongExpectedVersion},
		{"no stream on existing", "a-1", ExpectNoStream, 2, ErrWrongExpectedVersion},
		{"stream exists on existing", "a-1", ExpectStreamExists, -99, nil},
		{"stream exists on missing", "b-1", ExpectStreamExists, -1, ErrWrongExpectedVersion},
		{"exact on missing", "c-1", 0, -1, ErrWrongExpectedVersion},
		{"no stream on missing", "d-1", ExpectNoStream, -99, nil},
		{"hard-deleted", "gone-1", ExpectAny, 0, ErrStreamDeleted},
		{"invalid expected version", "e-1", -3, 0, ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Head()
			_, err := s.Append(ctx, tt.stream, tt.expected, jsonEvent("E", `{}`))
			if tt.sentinel == nil {
				if err != nil {
					t.Fatalf("append: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			var wev *WrongExpectedVersionError
			if errors.As(err, &wev) && wev.Current != tt.current {
				t.Fatalf("current = %d, want %d", wev.Current, tt.current)
			}
			if s.Head() != before {
				t.Fatalf("a failed append moved the head from %d to %d", before, s.Head())
			}
		})
	}
}

func TestIdempotentRetry(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	id1, id2 := uuid.New(), uuid.New()
	evs := []EventData{idEvent(id1, "E", `1`), idEvent(id2, "E", `2`)}
	first, err := s.Append(ctx, "s-1", ExpectNoStream, evs...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "s-1", ExpectAny, jsonEvent("E", `3`)); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []ExpectedVersion{ExpectNoStream, ExpectAny} {
		again, err := s.Append(ctx, "s-1", ev, evs...)
		if err != nil {
			t.Fatalf("retry with %s: %v", ev, err)
		}
		if !again.Idempotent || again.FirstPosition != first.FirstPosition || again.LastPosition != first.LastPosition ||
			again.Streams[0].NextExpectedVersion != 1 {
			t.Fatalf("retry result = %+v, first = %+v", again, first)
		}
	}
	if s.Head() != 3 {
		t.Fatalf("head = %d after retries, want 3", s.Head())
	}
	// Reopen: the id index must answer from disk.
	dir := s.Dir()
	s.Close()
	s = openTestStore(t, dir, testOptions())
	if again, err := s.Append(ctx, "s-1", ExpectNoStream, evs...); err != nil || !again.Idempotent {
		t.Fatalf("retry after reopen = %+v, %v", again, err)
	}

	bad := []struct {
		name   string
		stream string
		events []EventData
	}{
		{"same id in another stream", "other-1", []EventData{idEvent(id1, "E", `1`)}},
		{"ids out of order", "s-1", []EventData{idEvent(id2, "E", `2`), idEvent(id1, "E", `1`)}},
		{"old and new ids mixed", "s-1", []EventData{idEvent(id1, "E", `1`), idEvent(uuid.New(), "E", `9`)}},
		{"new then old", "s-1", []EventData{idEvent(uuid.New(), "E", `9`), idEvent(id2, "E", `2`)}},
		{"id twice in one append", "s-2", []EventData{idEvent(id2, "E", `2`), idEvent(id2, "E", `2`)}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Append(ctx, tt.stream, ExpectAny, tt.events...)
			var dup *DuplicateEventIDError
			if !errors.As(err, &dup) || !errors.Is(err, ErrDuplicateEventID) {
				t.Fatalf("err = %v, want a DuplicateEventIDError", err)
			}
			if s.Head() != 3 {
				t.Fatalf("head = %d, want 3", s.Head())
			}
		})
	}
	// Wrong place: exact expected version that does not match where the
	// events went.
	if _, err := s.Append(ctx, "s-1", 5, evs...); !errors.Is(err, ErrDuplicateEventID) {
		t.Fatalf("retry at another version: %v", err)
	}
}

func TestIdempotentRetryOfMultiStreamAppend(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	parts := []StreamAppend{
		{Stream: "order-1", Expected: ExpectNoStream, Events: []EventData{jsonEvent("Placed", `{}`)}},
		{Stream: "payment-1", Expected: ExpectNoStream, Events: []EventData{jsonEvent("Paid", `{}`), jsonEvent("Settled", `{}`)}},
	}
	r1, err := s.AppendMulti(ctx, parts)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.AppendMulti(ctx, parts) // ids were filled in by the first call
	if err != nil || !r2.Idempotent || r2.FirstPosition != r1.FirstPosition || r2.LastPosition != r1.LastPosition {
		t.Fatalf("retry = %+v, %v (first %+v)", r2, err, r1)
	}
}

func TestMultiStreamAppendIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	if _, err := s.Append(ctx, "b-1", ExpectAny, jsonEvent("E", `{}`)); err != nil {
		t.Fatal(err)
	}
	_, err := s.AppendMulti(ctx, []StreamAppend{
		{Stream: "a-1", Expected: ExpectNoStream, Events: []EventData{jsonEvent("E", `{}`)}},
		{Stream: "b-1", Expected: ExpectNoStream, Events: []EventData{jsonEvent("E", `{}`)}},
	})
	if !errors.Is(err, ErrWrongExpectedVersion) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.ReadStream(ctx, "a-1", 0, ReadOptions{}); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("a-1 was written by a failed multi-stream append: %v", err)
	}
	// Same stream twice: the second part sees the first.
	r, err := s.AppendMulti(ctx, []StreamAppend{
		{Stream: "c-1", Expected: ExpectNoStream, Events: []EventData{jsonEvent("E", `{}`)}},
		{Stream: "c-1", Expected: 0, Events: []EventData{jsonEvent("E", `{}`)}},
	})
	if err != nil || r.Streams[1].NextExpectedVersion != 1 {
		t.Fatalf("same stream twice = %+v, %v", r, err)
	}
}

func TestBadInputWritesNothing(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	opts.MaxEventSize = 4096
	s := openTestStore(t, t.TempDir(), opts)
	long := strings.Repeat("x", 256)
	tests := []struct {
		name   string
		stream string
		event  EventData
		field  string
	}{
		{"empty stream", "", jsonEvent("E", `{}`), "stream"},
		{"stream over 255 bytes", long, jsonEvent("E", `{}`), "stream"},
		{"reserved stream", "$all", jsonEvent("E", `{}`), "stream"},
		{"NUL in stream", "a\x00b", jsonEvent("E", `{}`), "stream"},
		{"invalid UTF-8 stream", "a\xffb", jsonEvent("E", `{}`), "stream"},
		{"empty type", "s-1", jsonEvent("", `{}`), "eventType"},
		{"type over 255 bytes", "s-1", jsonEvent(long, `{}`), "eventType"},
		{"invalid JSON data", "s-1", jsonEvent("E", `{"a":`), "data"},
		{"invalid JSON metadata", "s-1", EventData{Type: "E", Data: []byte(`{}`), Metadata: []byte(`nope`), MetadataIsJSON: true}, "metadata"},
		{"oversize event", "s-1", EventData{Type: "E", Data: make([]byte, 5000)}, "data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Append(ctx, tt.stream, ExpectAny, tt.event)
			var in *InputError
			if !errors.As(err, &in) || !errors.Is(err, ErrInvalidInput) || in.Field != tt.field {
				t.Fatalf("err = %v (%T), want an InputError on %q", err, err, tt.field)
			}
		})
	}
	if _, err := s.Append(ctx, "s-1", ExpectAny); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("append of no events: %v", err)
	}
	if s.Head() != 0 {
		t.Fatalf("bad input wrote events: head = %d", s.Head())
	}
	// Binary (non-JSON) data is fine when not declared JSON.
	if _, err := s.Append(ctx, "s-1", ExpectAny, EventData{Type: "Blob", Data: []byte{0, 1, 2}}); err != nil {
		t.Fatal(err)
	}
}

// TestEventIDsSurviveIngestAndReopen writes enough events for several
// id tables to be ingested, then checks every id is found (lookup and
// idempotent retry) before and after reopening, and after the index is
// rebuilt.
func TestEventIDsSurviveIngestAndReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir, testOptions())
	var ids []uuid.UUID
	for i := 0; i < 500; i++ {
		id := uuid.New()
		ids = append(ids, id)
		if _, err := s.Append(ctx, "ids-1", ExpectAny, idEvent(id, "E", `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s *Store) {
		t.Helper()
		for i, id := range ids {
			e, err := s.GetEvent(ctx, id)
			if err != nil || e.Position != uint64(i+1) {
				t.Fatalf("event %d: %+v, %v", i, e, err)
			}
		}
		r, err := s.Append(ctx, "ids-1", ExpectedVersion(9), idEvent(ids[10], "E", `{}`))
		if err != nil || !r.Idempotent || r.FirstPosition != 11 {
			t.Fatalf("retry = %+v, %v", r, err)
		}
		if _, err := s.Append(ctx, "other-1", ExpectAny, idEvent(ids[400], "E", `{}`)); !errors.Is(err, ErrDuplicateEventID) {
			t.Fatalf("reuse of an ingested id: %v", err)
		}
	}
	check(s)
	s.Close()
	s = openTestStore(t, dir, testOptions())
	check(s)
	s.Close()
	if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, testOptions())
	check(s)
}

// TestCommandLargerThanSegmentFirst: a command larger than a segment,
// appended while the active segment is still empty, gets a segment of its
// own (it used to overrun the empty segment's mapping).
func TestCommandLargerThanSegmentFirst(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o := testOptions()
	o.SegmentSize = 1 << 20
	s := openTestStore(t, dir, o)
	big := `"` + strings.Repeat("x", 3<<20) + `"`
	for _, data := range []string{big, `1`, big} {
		if _, err := s.Append(ctx, "a-1", ExpectAny, jsonEvent("E", data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, o)
	evs := collect(t)(s.ReadStream(ctx, "a-1", 0, ReadOptions{}))
	if len(evs) != 3 || len(evs[0].Data) != len(big) || string(evs[1].Data) != "1" {
		t.Fatalf("read back %d events", len(evs))
	}
}
