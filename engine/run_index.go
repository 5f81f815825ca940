package engine

import (
	"hash/maphash"

	"github.com/google/uuid"
)

// runIndex finds event ids in a run of recentEntry (the ids a bulk
// command applied) by open addressing: a table of entry numbers, no
// copies of the entries. It serves the rare lookups the existence filter
// answers "maybe" for (false positives, retries), where a Go map of the
// run cost ~50-100 ns an entry to build and allocated a copy of every
// entry — built for a whole 10k-event command because of one false
// positive. Building this costs a few ns an entry.
//
// The hash is seeded, so ids chosen by a client cannot be made to
// collide on purpose.
type runIndex struct {
	seed  maphash.Seed
	slots []int32 // entry number + 1; 0 is empty
	mask  uint64
	n     int // entries indexed: run[:n]
}

func newRunIndex(seed maphash.Seed) *runIndex { return &runIndex{seed: seed} }

// sync indexes the entries of run not yet indexed (runs only grow until
// they are reset) and returns the index.
func (x *runIndex) sync(run []recentEntry) *runIndex {
	if len(run) < x.n {
		x.reset()
	}
	if need := 2 * len(run); len(x.slots) < need {
		size := 64
		for size < need {
			size *= 2
		}
		if cap(x.slots) >= size {
			x.slots = x.slots[:size]
			clear(x.slots)
		} else {
			x.slots = make([]int32, size)
		}
		x.mask = uint64(size - 1)
		x.n = 0
	}
	for i := x.n; i < len(run); i++ {
		j := maphash.Comparable(x.seed, run[i].id) & x.mask
		for x.slots[j] != 0 {
			j = (j + 1) & x.mask
		}
		x.slots[j] = int32(i + 1)
	}
	x.n = len(run)
	return x
}

// lookup finds id in run (the run last given to sync).
func (x *runIndex) lookup(run []recentEntry, id uuid.UUID) (recentID, bool) {
	if len(x.slots) == 0 {
		return recentID{}, false
	}
	j := maphash.Comparable(x.seed, id) & x.mask
	for {
		s := x.slots[j]
		if s == 0 {
			return recentID{}, false
		}
		if e := &run[s-1]; e.id == id {
			return e.r, true
		}
		j = (j + 1) & x.mask
	}
}

// reset empties the index, keeping its table for reuse.
func (x *runIndex) reset() {
	clear(x.slots)
	x.n = 0
}
