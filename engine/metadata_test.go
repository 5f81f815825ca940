package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func appendN(t testing.TB, s *Store, stream string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := s.Append(context.Background(), stream, ExpectAny, jsonEvent("E", fmt.Sprintf(`{"i":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStreamMetadataIsHonouredByEveryRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir, testOptions())
	appendN(t, s, "m-1", 5)
	appendN(t, s, "other-1", 2)
	if err := s.SetStreamMetadata(ctx, "m-1", StreamMetadata{MaxCount: 2}); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store, want string) {
		t.Helper()
		got := fmt.Sprint(versions(collect(t)(s.ReadStream(ctx, "m-1", 0, ReadOptions{}))),
			positions(collect(t)(s.ReadAll(ctx, 0, ReadOptions{}))),
			positions(collect(t)(s.ReadCategory(ctx, "m", 0, ReadOptions{}))),
			versions(collect(t)(s.ReadStream(ctx, "m-1", -1, ReadOptions{Direction: Backward}))))
		if got != want {
			t.Fatalf("reads = %s, want %s", got, want)
		}
	}
	check(s, "[3 4] [4 5 6 7] [4 5] [4 3]")
	appendN(t, s, "m-1", 1) // the window moves with new events
	check(s, "[4 5] [5 6 7 8] [5 8] [5 4]")
	if err := s.SetStreamMetadata(ctx, "m-1", StreamMetadata{TruncateBefore: 1}); err != nil {
		t.Fatal(err)
	}
	check(s, "[1 2 3 4 5] [2 3 4 5 6 7 8] [2 3 4 5 8] [5 4 3 2 1]")
	info, err := s.StreamInfo(ctx, "m-1")
	if err != nil || info.EventCount != 5 || info.Version != 5 || info.Metadata.TruncateBefore != 1 {
		t.Fatalf("info = %+v, %v", info, err)
	}
	// Survives a reopen, and a lost index.
	s.Close()
	s = openTestStore(t, dir, testOptions())
	check(s, "[1 2 3 4 5] [2 3 4 5 6 7 8] [2 3 4 5 8] [5 4 3 2 1]")
}

func TestMaxAge(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	now := time.Now().Add(-time.Hour)
	opts.Clock = func() time.Time { return now }
	s := openTestStore(t, t.TempDir(), opts)
	appendN(t, s, "age-1", 2)
	now = time.Now()
	appendN(t, s, "age-1", 1)
	if err := s.SetStreamMetadata(ctx, "age-1", StreamMetadata{MaxAge: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if got := versions(collect(t)(s.ReadStream(ctx, "age-1", 0, ReadOptions{}))); fmt.Sprint(got) != "[2]" {
		t.Fatalf("stream read = %v", got)
	}
	if got := positions(collect(t)(s.ReadAll(ctx, 0, ReadOptions{}))); fmt.Sprint(got) != "[3]" {
		t.Fatalf("$all = %v", got)
	}
	if err := s.SetStreamMetadata(ctx, "age-1", StreamMetadata{MaxAge: 1500 * time.Millisecond}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("fractional max age: %v", err)
	}
}

func TestSoftAndHardDelete(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	appendN(t, s, "soft-1", 3)
	appendN(t, s, "hard-1", 2)
	if err := s.DeleteStream(ctx, "soft-1", 1, false); !errors.Is(err, ErrWrongExpectedVersion) {
		t.Fatalf("delete with a wrong version: %v", err)
	}
	if err := s.DeleteStream(ctx, "soft-1", 2, false); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, "hard-1", ExpectAny, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadStream(ctx, "soft-1", 0, ReadOptions{}); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("read soft-deleted: %v", err)
	}
	if _, err := s.ReadStream(ctx, "hard-1", 0, ReadOptions{}); !errors.Is(err, ErrStreamDeleted) {
		t.Fatalf("read hard-deleted: %v", err)
	}
	if got := collect(t)(s.ReadAll(ctx, 0, ReadOptions{})); len(got) != 0 {
		t.Fatalf("$all shows %d deleted events", len(got))
	}
	if _, err := s.Append(ctx, "hard-1", ExpectAny, jsonEvent("E", `{}`)); !errors.Is(err, ErrStreamDeleted) {
		t.Fatalf("append to hard-deleted: %v", err)
	}
	if err := s.SetStreamMetadata(ctx, "hard-1", StreamMetadata{MaxCount: 1}); !errors.Is(err, ErrStreamDeleted) {
		t.Fatalf("metadata of hard-deleted: %v", err)
	}
	if err := s.DeleteStream(ctx, "never-1", ExpectAny, false); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("soft delete of a missing stream: %v", err)
	}
	// A soft-deleted stream comes back with the next version.
	r, err := s.Append(ctx, "soft-1", ExpectNoStream, jsonEvent("E", `{}`))
	if err != nil || r.Streams[0].NextExpectedVersion != 3 {
		t.Fatalf("recreate = %+v, %v", r, err)
	}
	if got := versions(collect(t)(s.ReadStream(ctx, "soft-1", 0, ReadOptions{}))); fmt.Sprint(got) != "[3]" {
		t.Fatalf("recreated stream = %v", got)
	}
	info, err := s.StreamInfo(ctx, "hard-1")
	if err != nil || info.Deleted != "hard" {
		t.Fatalf("info = %+v, %v", info, err)
	}
	var names []string
	it, err := s.ListStreams(ctx, ListStreamsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for it.Next() {
		names = append(names, it.Stream().Name+"/"+it.Stream().Deleted)
	}
	it.Close()
	if fmt.Sprint(names) != "[hard-1/hard soft-1/]" {
		t.Fatalf("streams = %v", names)
	}
}

func TestWaitForEvents(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	got := make(chan uint64, 1)
	go func() {
		h, err := s.WaitForEvents(ctx, 0)
		if err != nil {
			t.Error(err)
		}
		got <- h
	}()
	select {
	case h := <-got:
		t.Fatalf("WaitForEvents returned %d before any append", h)
	case <-time.After(20 * time.Millisecond):
	}
	appendN(t, s, "w-1", 1)
	select {
	case h := <-got:
		if h != 1 {
			t.Fatalf("head = %d", h)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitForEvents did not wake up")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := s.WaitForEvents(cctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// Close wakes waiters.
	done := make(chan error, 1)
	go func() { _, err := s.WaitForEvents(ctx, 1); done <- err }()
	time.Sleep(10 * time.Millisecond)
	s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if _, err := s.Append(ctx, "w-1", ExpectAny, jsonEvent("E", `{}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	openTestStore(t, dir, testOptions())
	if _, err := Open(context.Background(), dir, testOptions()); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
}

// TestSkipExistenceCheckReadsTheSame reads streams in every restriction
// state with and without the stream state's point read
// (ReadOptions.SkipExistenceCheck): the same events, forward and
// backward, from several versions, and the same errors for deleted
// streams; a missing stream reads as no events instead of
// ErrStreamNotFound. It runs again after a reopen (the restricted view
// loaded from the index).
func TestSkipExistenceCheckReadsTheSame(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	now := time.Now().Add(-time.Hour)
	opts.Clock = func() time.Time { return now }
	dir := t.TempDir()
	s := openTestStore(t, dir, opts)
	appendN(t, s, "aged-1", 2) // an hour old
	now = time.Now()
	for _, name := range []string{"plain-1", "count-1", "tb-1", "aged-1", "soft-1", "hard-1", "back-1", "custom-1"} {
		appendN(t, s, name, 4)
	}
	set := func(name string, m StreamMetadata) {
		t.Helper()
		if err := s.SetStreamMetadata(ctx, name, m); err != nil {
			t.Fatal(err)
		}
	}
	set("count-1", StreamMetadata{MaxCount: 3})
	set("tb-1", StreamMetadata{TruncateBefore: 2})
	set("aged-1", StreamMetadata{MaxAge: 10 * time.Minute})
	set("custom-1", StreamMetadata{Custom: []byte(`{"owner":"x"}`)})
	set("meta-only-1", StreamMetadata{MaxCount: 1}) // no events
	for name, hard := range map[string]bool{"soft-1": false, "hard-1": true, "back-1": false} {
		if err := s.DeleteStream(ctx, name, ExpectAny, hard); err != nil {
			t.Fatal(err)
		}
	}
	appendN(t, s, "back-1", 2) // undeleted by an append
	appendN(t, s, "count-1", 1)

	read := func(name string, from int64, dir Direction, skip bool) string {
		t.Helper()
		it, err := s.ReadStream(ctx, name, from, ReadOptions{Direction: dir, SkipExistenceCheck: skip})
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprint(versions(collectIt(t, it, nil)))
	}
	check := func() {
		t.Helper()
		for _, name := range []string{"plain-1", "count-1", "tb-1", "aged-1", "soft-1", "hard-1", "back-1", "custom-1", "meta-only-1", "never-1"} {
			for _, c := range []struct {
				from int64
				dir  Direction
			}{{0, Forward}, {2, Forward}, {9, Forward}, {-1, Backward}, {2, Backward}, {0, Backward}} {
				want, got := read(name, c.from, c.dir, false), read(name, c.from, c.dir, true)
				if strings.Contains(want, ErrStreamNotFound.Error()) && name == "never-1" {
					want = "[]" // missing streams read as no events
				}
				if got != want {
					t.Errorf("%s from %d %v: %s with the existence check skipped, want %s", name, c.from, c.dir, got, want)
				}
			}
		}
	}
	check()
	if got := read("count-1", 0, Forward, true); got != "[2 3 4]" {
		t.Fatalf("count-1 = %s, want the last 3 versions", got)
	}
	s.Close()
	s = openTestStore(t, dir, opts)
	check()
}
