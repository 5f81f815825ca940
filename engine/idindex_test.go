package engine

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
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
		for _, n := range []int{0, 1, 100, 5000, 70000} {
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
