package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestBulkFilterPathsAgree applies the same random bulk commands — new
// ids, ids repeated inside a command, after rejected parts, in other
// streams, whole parts repeated (replays), wrong expected versions,
// several commands in flight — to three stores: one whose existence
// filter answers as usual (probeIDs), one whose filter answers "maybe"
// for everything (every lookup goes through the recent runs' indexes and
// the id index) and one whose filter is not ready (the path of a store
// still building it). The outcomes and the logs must be the same.
func TestBulkFilterPathsAgree(t *testing.T) {
	ctx := context.Background()
	mode := []string{"filter", "saturated", "not-ready"}
	stores := make([]*Store, len(mode))
	for i, m := range mode {
		o := testOptions()
		o.SegmentSize = 8 << 20
		o.idFlushEntries = 400 // some ids in Pebble, some in memory
		s := openTestStore(t, t.TempDir(), o)
		waitFilterReady(t, s)
		switch m {
		case "saturated":
			for w := range s.applier.filter.words {
				s.applier.filter.words[w].Store(^uint64(0))
			}
		case "not-ready":
			s.applier.filter.ready.Store(false)
		}
		stores[i] = s
	}

	rng := rand.New(rand.NewPCG(1, 2))
	var pool []uuid.UUID       // ids generated so far
	var earlier []StreamAppend // parts generated so far
	newID := func() uuid.UUID {
		id := uuid.UUID{}
		for i := range id {
			id[i] = byte(rng.UintN(256))
		}
		pool = append(pool, id)
		return id
	}
	mkCommand := func() Command {
		parts := make([]StreamAppend, 100+rng.IntN(300))
		for i := range parts {
			if len(earlier) > 0 && rng.IntN(8) == 0 { // a whole earlier part again
				parts[i] = earlier[rng.IntN(len(earlier))]
				continue
			}
			p := StreamAppend{Stream: fmt.Sprintf("s-%d", rng.IntN(25)), Expected: ExpectAny}
			if rng.IntN(10) == 0 {
				p.Expected = ExpectedVersion(rng.IntN(20))
			}
			for range 1 + rng.IntN(3) {
				id := newID()
				if len(pool) > 1 && rng.IntN(6) == 0 {
					id = pool[rng.IntN(len(pool)-1)] // an earlier id, maybe written, maybe not
				}
				p.Events = append(p.Events, idEvent(id, fmt.Sprintf("T%d", rng.IntN(3)), `{"a":1}`))
			}
			parts[i] = p
			earlier = append(earlier, p)
		}
		return Command{Appends: parts, Independent: true, JSONValidated: true, Time: time.Unix(1700000000, 0)}
	}

	type submitted struct{ ps []*Pending }
	var inflight []submitted
	var outcomes [][]string // per command, per store: the results as text
	wait := func(sub submitted) {
		t.Helper()
		var texts []string
		for _, p := range sub.ps {
			res, err := p.Wait()
			if err != nil {
				t.Fatal(err)
			}
			texts = append(texts, fmt.Sprintf("%+v", res))
		}
		outcomes = append(outcomes, texts)
	}
	for range 40 {
		cmd := mkCommand()
		var sub submitted
		for _, s := range stores {
			c := cmd
			c.Appends = cloneParts(cmd.Appends) // prepare fills in the command
			p, err := s.Submit(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			sub.ps = append(sub.ps, p)
		}
		inflight = append(inflight, sub)
		if len(inflight) == 3 {
			wait(inflight[0])
			inflight = inflight[1:]
		}
	}
	for _, sub := range inflight {
		wait(sub)
	}
	rejected, replayed := 0, 0
	for c, texts := range outcomes {
		for i := 1; i < len(texts); i++ {
			if texts[i] != texts[0] {
				t.Fatalf("command %d: %s store answered\n%s\nthe %s store\n%s", c, mode[i], texts[i], mode[0], texts[0])
			}
		}
	}
	logs := make([][]string, len(stores))
	for i, s := range stores {
		for _, e := range collect(t)(s.ReadAll(ctx, 0, ReadOptions{})) {
			logs[i] = append(logs[i], fmt.Sprintf("%d %s %d %s %s", e.Position, e.Stream, e.Version, e.ID, e.Type))
		}
	}
	for i := 1; i < len(logs); i++ {
		if fmt.Sprint(logs[i]) != fmt.Sprint(logs[0]) {
			t.Fatalf("the %s store's log differs from the %s store's", mode[i], mode[0])
		}
	}
	res, err := stores[0].Apply(ctx, Command{Appends: cloneParts(earlier[:200]), Independent: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, sr := range res.Streams {
		switch {
		case sr.Err != nil:
			rejected++
		case sr.Replayed:
			replayed++
		}
	}
	if rejected == 0 || replayed == 0 || len(logs[0]) == 0 {
		t.Fatalf("the workload is too tame: %d events, %d rejected and %d replayed parts among 200 repeated", len(logs[0]), rejected, replayed)
	}
}

func cloneParts(parts []StreamAppend) []StreamAppend {
	out := make([]StreamAppend, len(parts))
	for i, p := range parts {
		p.Events = append([]EventData(nil), p.Events...)
		out[i] = p
	}
	return out
}

// waitFilterReady waits for the background fill of a fresh store's
// existence filter.
func waitFilterReady(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !s.applier.filter.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the existence filter never became ready")
		}
		time.Sleep(time.Millisecond)
	}
}
