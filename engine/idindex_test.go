package engine

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/uuid"
)

func TestSortIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	gen := map[string]func(i int) pendingID{
		"random": func(i int) pendingID {
			var p pendingID
			binary.LittleEndian.PutUint64(p.id[:], rng.Uint64())
			binary.LittleEndian.PutUint64(p.id[8:], rng.Uint64())
			p.e.pos = uint64(i)
			return p
		},
		"time-ordered (shared prefix)": func(i int) pendingID {
			var p pendingID
			binary.BigEndian.PutUint64(p.id[:], 0x0190_0000_0000_0000+uint64(rng.IntN(1<<20)))
			binary.LittleEndian.PutUint64(p.id[8:], rng.Uint64())
			p.e.pos = uint64(i)
			return p
		},
	}
	for name, g := range gen {
		for _, n := range []int{0, 1, 100, 4096, 5000, 20000, 70000, 300000} {
			ids := make([]pendingID, n)
			for i := range ids {
				ids[i] = g(i)
			}
			want := slices.Clone(ids)
			slices.SortFunc(want, compareIDs)
			got := sortIDs(ids)
			if len(got) != n {
				t.Fatalf("%s n=%d: %d ids out", name, n, len(got))
			}
			for i := range got {
				if got[i].id != want[i].id {
					t.Fatalf("%s n=%d: id %d out of order", name, n, i)
				}
			}
		}
	}
}

// TestMergeIDRuns: merging sorted runs (some empty, ids repeated across
// runs as after a crash) gives the order sorting them all gives.
func TestMergeIDRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{0, 1, 2, 3, 7, 40} {
		var runs [][]pendingID
		var all []pendingID
		for r := range k {
			run := make([]pendingID, rng.IntN(300)*(r%3))
			for i := range run {
				run[i].id = uuid.New()
				if len(all) > 0 && rng.IntN(10) == 0 {
					run[i].id = all[rng.IntN(len(all))].id
				}
				run[i].e.pos = uint64(i)
			}
			run = sortIDs(run)
			all = append(all, run...)
			runs = append(runs, run)
		}
		var got []uuid.UUID
		if err := mergeIDRuns(runs, func(p pendingID) error { got = append(got, p.id); return nil }); err != nil {
			t.Fatal(err)
		}
		want := sortIDs(slices.Clone(all))
		if len(got) != len(want) {
			t.Fatalf("%d runs: %d ids merged, want %d", k, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i].id {
				t.Fatalf("%d runs: id %d is %s, want %s", k, i, got[i], want[i].id)
			}
		}
	}
}
