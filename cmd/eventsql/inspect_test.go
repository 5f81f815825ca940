package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/eventsql/eventsql/engine"
)

// TestFlagsAfterArguments: "eventsql inspect DIR --records" (the README's
// example) and "eventsql import FILE --data DIR" take the flags after the
// argument; the flag package alone stopped at DIR and refused the rest
// as more arguments.
func TestFlagsAfterArguments(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := writeInput(t)
	var out, errb bytes.Buffer
	err := run(ctx, []string{"import", file, "--data", dir, "--show-errors", "0"}, &out, &errb)
	if err == nil || !strings.Contains(out.String(), "2 events written, 0 duplicates, 1 rejected") || strings.Contains(out.String(), "line 2") {
		t.Fatalf("import FILE --data DIR: %v, %q %q", err, out.String(), errb.String())
	}

	for _, args := range [][]string{
		{"inspect", dir, "--records", "--limit", "1"},
		{"inspect", "--records", dir, "--limit=1"},
		{"inspect", "--records", "--limit", "1", dir},
	} {
		out.Reset()
		errb.Reset()
		if err := run(ctx, args, &out, &errb); err != nil {
			t.Fatalf("%q: %v %s", args, err, errb.String())
		}
		if n := strings.Count(out.String(), " event pos="); n != 1 || !strings.Contains(out.String(), `stream="cart-1"`) {
			t.Fatalf("%q printed %d records:\n%s", args, n, out.String())
		}
	}
	out.Reset()
	if err := run(ctx, []string{"inspect", dir, "--records", "other"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "got 2 arguments") {
		t.Fatalf("two directories: %v", err)
	}

	// The store is intact after inspecting it.
	opts := engine.DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := engine.Open(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Head() != 2 {
		t.Fatalf("head %d after inspect, want 2", st.Head())
	}
}
