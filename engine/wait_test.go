package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestWaitForCommitWakesOnEveryCommand: waiters on the commit mark wake
// for appends, metadata changes, soft and hard deletes (which append no
// event, so WaitForEvents sleeps through them), all of them at once, and
// the mark after an acknowledged command already covers it.
func TestWaitForCommitWakesOnEveryCommand(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir(), testOptions())
	appendN(t, s, "w-1", 1)
	commands := []struct {
		name string
		run  func() error
	}{
		{"append", func() error { _, err := s.Append(ctx, "w-2", ExpectAny, jsonEvent("E", `{}`)); return err }},
		{"metadata", func() error { return s.SetStreamMetadata(ctx, "w-1", StreamMetadata{MaxCount: 1}) }},
		{"soft delete", func() error { return s.DeleteStream(ctx, "w-2", ExpectAny, false) }},
		{"hard delete", func() error { return s.DeleteStream(ctx, "w-1", ExpectAny, true) }},
	}
	for _, c := range commands {
		mark := s.CommitMark()
		const waiters = 8
		var wg sync.WaitGroup
		got := make(chan uint64, waiters)
		wctx, cancel := context.WithTimeout(ctx, time.Minute) // a guard: a missed wake-up fails, not hangs
		for range waiters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := s.WaitForCommit(wctx, mark)
				if err != nil {
					t.Errorf("%s: WaitForCommit: %v", c.name, err)
				}
				got <- m
			}()
		}
		head := s.Head()
		if err := c.run(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		after := s.CommitMark()
		if after <= mark {
			t.Fatalf("%s: the mark did not move: %d -> %d", c.name, mark, after)
		}
		wg.Wait()
		cancel()
		close(got)
		for m := range got {
			if m <= mark || m > after {
				t.Fatalf("%s: woke with mark %d, want in (%d, %d]", c.name, m, mark, after)
			}
		}
		// An old mark answers at once.
		if m, err := s.WaitForCommit(ctx, mark); err != nil || m != after {
			t.Fatalf("%s: WaitForCommit(old mark) = %d, %v; want %d", c.name, m, err, after)
		}
		if c.name != "append" {
			// WaitForEvents, tied to the head position, is not woken.
			short, stop := context.WithTimeout(ctx, time.Millisecond)
			if _, err := s.WaitForEvents(short, head); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s: WaitForEvents = %v, want to keep waiting", c.name, err)
			}
			stop()
		}
	}
	// Close wakes waiters with ErrClosed.
	done := make(chan error, 1)
	mark := s.CommitMark()
	go func() { _, err := s.WaitForCommit(ctx, mark); done <- err }()
	s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
