package engine

import (
	"hash/maphash"
	"testing"

	"github.com/google/uuid"
)

// TestRunIndex: a run indexed as it grows, reset and reused for shorter
// and longer runs, finds exactly its ids.
func TestRunIndex(t *testing.T) {
	x := newRunIndex(maphash.MakeSeed())
	var run []recentEntry
	check := func() {
		t.Helper()
		for i, e := range run {
			r, ok := x.lookup(run, e.id)
			if !ok || r.pos != uint64(i) {
				t.Fatalf("entry %d of %d: %v %v", i, len(run), r, ok)
			}
		}
		if _, ok := x.lookup(run, uuid.New()); ok {
			t.Fatal("found an id not in the run")
		}
	}
	if _, ok := x.lookup(run, uuid.New()); ok {
		t.Fatal("empty index found an id")
	}
	for _, n := range []int{1, 5, 31, 32, 33, 200, 5000} {
		for len(run) < n {
			run = append(run, recentEntry{id: uuid.New(), r: recentID{pos: uint64(len(run))}})
		}
		x.sync(run)
		check()
	}
	// Reused for another, shorter run.
	x.reset()
	run = run[:0]
	for i := range 10 {
		run = append(run, recentEntry{id: uuid.New(), r: recentID{pos: uint64(i)}})
	}
	x.sync(run)
	check()
}

func TestExistenceFilterTestAndAdd(t *testing.T) {
	f := newExistenceFilterMin(1000, 16)
	g := f.larger(4000)
	var hs []uint64
	for range 1000 {
		h := f.hash(eventIDKey(nil, uuid.New()))
		hs = append(hs, h)
		f.testAndAddOwned(h)
		g.addHash(h)
	}
	fresh := 0
	for _, h := range hs {
		if !f.testAndAddOwned(h) {
			t.Fatal("a key added before is reported absent")
		}
		if !g.mayContainHash(h) {
			t.Fatal("the larger filter lost a key added by hash")
		}
	}
	for range 1000 {
		if !f.testAndAddOwned(f.hash(eventIDKey(nil, uuid.New()))) {
			fresh++
		}
	}
	if fresh < 950 {
		t.Fatalf("only %d of 1000 new keys were reported absent", fresh)
	}
}
