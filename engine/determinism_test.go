package engine

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

// commandScript generates a fixed sequence of commands: appends (single,
// multi-stream, conflicting, retried), metadata changes and deletes.
func commandScript(n int) []Command {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var cmds []Command
	var lastAppend *Command
	for i := 0; i < n; i++ {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		if i%97 == 13 {
			at = at.Add(-time.Hour) // a clock going backwards must not reorder stamps
		}
		stream := fmt.Sprintf("s%d-%d", rng.IntN(5), rng.IntN(20))
		switch r := rng.IntN(100); {
		case r < 3:
			cmds = append(cmds, Command{Time: at, Metadata: &MetadataChange{Stream: stream, Metadata: StreamMetadata{MaxCount: int64(1 + rng.IntN(5))}}})
		case r < 5:
			cmds = append(cmds, Command{Time: at, Delete: &StreamDelete{Stream: stream, Expected: ExpectAny, Hard: rng.IntN(4) == 0}})
		case r < 8 && lastAppend != nil:
			retry := *lastAppend
			retry.Time = at
			cmds = append(cmds, retry)
		default:
			var parts []StreamAppend
			for p := 0; p < 1+rng.IntN(3); p++ {
				var evs []EventData
				for e := 0; e < 1+rng.IntN(4); e++ {
					id := uuid.UUID{}
					for b := range id {
						id[b] = byte(rng.UintN(256))
					}
					evs = append(evs, EventData{ID: id, Type: fmt.Sprintf("T%d", rng.IntN(4)),
						Data: []byte(fmt.Sprintf(`{"n":%d}`, rng.IntN(1000))), DataIsJSON: true})
				}
				ev := ExpectAny
				if rng.IntN(5) == 0 {
					ev = ExpectedVersion(rng.IntN(4))
				}
				parts = append(parts, StreamAppend{Stream: fmt.Sprintf("s%d-%d", rng.IntN(5), rng.IntN(20)), Expected: ev, Events: evs})
			}
			// A quarter are bulk-import commands, whose parts succeed or
			// fail one by one.
			c := Command{Time: at, Appends: parts, Independent: rng.IntN(4) == 0}
			cmds = append(cmds, c)
			lastAppend = &cmds[len(cmds)-1]
		}
	}
	return cmds
}

// TestDeterministicApply feeds the same commands to two stores, one
// command at a time and concurrently-batched, and compares the log files
// byte for byte and every outcome.
func TestDeterministicApply(t *testing.T) {
	ctx := context.Background()
	cmds := commandScript(2000)
	run := func(dir string) []string {
		opts := testOptions()
		opts.Clock = func() time.Time { panic("apply must not read the clock when the command has a time") }
		s := openTestStore(t, dir, opts)
		var outcomes []string
		for i := range cmds {
			c := cmds[i]
			c.Appends = append([]StreamAppend(nil), c.Appends...)
			res, err := s.Apply(ctx, c)
			outcomes = append(outcomes, fmt.Sprintf("%d %d %v %v", res.FirstPosition, res.LastPosition, res.Idempotent, err))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return outcomes
	}
	a, b := t.TempDir(), t.TempDir()
	outA, outB := run(a), run(b)
	for i := range outA {
		if outA[i] != outB[i] {
			t.Fatalf("command %d: %s vs %s", i, outA[i], outB[i])
		}
	}
	filesA, _ := filepath.Glob(filepath.Join(a, "log", "*.seg"))
	filesB, _ := filepath.Glob(filepath.Join(b, "log", "*.seg"))
	if len(filesA) < 2 || len(filesA) != len(filesB) {
		t.Fatalf("segments: %d vs %d (want several)", len(filesA), len(filesB))
	}
	for i := range filesA {
		if filepath.Base(filesA[i]) != filepath.Base(filesB[i]) {
			t.Fatalf("segment names differ: %s vs %s", filesA[i], filesB[i])
		}
		da, _ := os.ReadFile(filesA[i])
		db, _ := os.ReadFile(filesB[i])
		if i == len(filesA)-1 {
			// Past the active segment's last record lie its tail mark and
			// zero-filled window, which depend on timing (docs/format.md).
			da, db = da[:tailOf(t, filesA[i]).Committed], db[:tailOf(t, filesB[i]).Committed]
		}
		if !bytes.Equal(da, db) {
			t.Fatalf("segment %s differs", filepath.Base(filesA[i]))
		}
	}
}
