package engine

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/sys/unix"
)

// existenceFilter is an in-memory blocked Bloom filter over the event ids
// and stream names in the store. The apply step asks it before probing
// the index: a point lookup in the index costs 3-6 µs, the filter ~50 ns,
// and almost every id an append brings is new. It answers "certainly
// absent" or "maybe present" (then the index decides), so it never
// changes an outcome, only its cost.
//
// It takes 2 bytes per key (16 bits, 8 probes in one 512-bit block: about
// 0.1% false positives, each of which costs an index probe; 10 bits gave
// about 1%, a tenth of a microsecond per appended event) and is built in the
// background on open from the index; until it is ready, lookups go to the
// index. When it fills up, a filter four times the size is built the same way.
type existenceFilter struct {
	blocks   uint64
	words    []atomic.Uint64 // blocks * 8 words: 512-bit blocks
	seed     maphash.Seed
	idKeys   [3]uint64 // the hash keys of event ids, derived from seed
	capacity uint64
	count    atomic.Uint64
	ready    atomic.Bool
}

const (
	filterBitsPerKey = 16
	filterProbes     = 8
	minFilterKeys    = 1 << 20
)

func newExistenceFilter(capacity uint64) *existenceFilter {
	return newExistenceFilterMin(capacity, minFilterKeys)
}

// newExistenceFilterMin lets tests start small so the filter grows.
func newExistenceFilterMin(capacity, minKeys uint64) *existenceFilter {
	capacity = max(capacity, minKeys)
	blocks := (capacity*filterBitsPerKey + 511) / 512
	f := &existenceFilter{
		blocks:   blocks,
		capacity: capacity,
	}
	f.setSeed(maphash.MakeSeed())
	f.words = allocFilterWords(f, blocks*8)
	return f
}

func (f *existenceFilter) setSeed(seed maphash.Seed) {
	f.seed = seed
	for i := range f.idKeys {
		f.idKeys[i] = maphash.Comparable(seed, i)
	}
}

// hugeFilterBytes is the size from which a filter's memory is mapped
// with huge pages advised.
const hugeFilterBytes = 4 << 20

// allocFilterWords returns n zeroed words for f. A large filter gets its
// own mapping with huge pages advised (where transparent huge pages are
// on for madvise, as on Debian): its probes are random, and with 4 KiB
// pages nearly every one missed the TLB as well as the cache (a page
// walk, dearer still in a VM). The mapping is released when f is
// garbage.
func allocFilterWords(f *existenceFilter, n uint64) []atomic.Uint64 {
	size := int(n * 8)
	if size < hugeFilterBytes {
		return make([]atomic.Uint64, n)
	}
	m, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return make([]atomic.Uint64, n)
	}
	_ = unix.Madvise(m, unix.MADV_HUGEPAGE) // ignored where THP is off
	runtime.AddCleanup(f, func(m []byte) { unix.Munmap(m) }, m)
	return unsafe.Slice((*atomic.Uint64)(unsafe.Pointer(&m[0])), n)
}

// larger returns an empty filter for capacity keys with f's hash seed, so
// a key's hash serves both while the larger one is being built.
func (f *existenceFilter) larger(capacity uint64) *existenceFilter {
	g := newExistenceFilterMin(capacity, f.capacity)
	g.setSeed(f.seed)
	return g
}

// hash is the hash of an index key (prefixEventID+id or
// prefixStreamState+name) that the *Hash methods take: computed once, it
// serves every filter of the store (they share the seed, see larger).
//
// An event id key (most keys, every one of a bulk import's probes) is
// hashed in a few ns by a keyed multiply-mix of its two 64-bit halves
// (wyhash's), instead of ~15 ns for maphash over 17 bytes. The keys come
// from the seed, so ids cannot be chosen to collide (which would only
// cost index lookups anyway: the filter never changes an answer).
func (f *existenceFilter) hash(key []byte) uint64 {
	if len(key) == 1+16 && key[0] == prefixEventID {
		lo, hi := binary.LittleEndian.Uint64(key[1:]), binary.LittleEndian.Uint64(key[9:])
		a, b := bits.Mul64(lo^f.idKeys[0], hi^f.idKeys[1])
		a, b = bits.Mul64(a^b^f.idKeys[2], 0x9E3779B97F4A7C15)
		return a ^ b
	}
	return maphash.Bytes(f.seed, key)
}

func (f *existenceFilter) locateHash(h uint64) (block uint64, remix uint64) {
	block, _ = bits.Mul64(h, f.blocks)
	// Derive the in-block bit positions from a remix of the hash.
	return block * 8, bits.RotateLeft64(h, 32) * 0x9E3779B97F4A7C15
}

// probeBit returns the i-th in-block bit of key's remixed hash h: nine
// bits each, the first seven from h, the eighth from a second remix.
func probeBit(h uint64, i int) uint64 {
	if i == 7 {
		return (bits.RotateLeft64(h, 17) * 0xBF58476D1CE4E5B9) >> 55
	}
	return (h >> (9 * i)) & 511
}

func (f *existenceFilter) add(key []byte) { f.addHash(f.hash(key)) }

// addHash adds the key of hash h; safe alongside other writers.
func (f *existenceFilter) addHash(h uint64) {
	base, h := f.locateHash(h)
	for i := 0; i < filterProbes; i++ {
		bit := probeBit(h, i)
		f.words[base+bit/64].Or(1 << (bit % 64))
	}
	f.count.Add(1)
}

func (f *existenceFilter) mayContain(key []byte) bool { return f.mayContainHash(f.hash(key)) }

func (f *existenceFilter) mayContainHash(h uint64) bool {
	base, masks := f.masks(h)
	missing := uint64(0)
	for w, m := range masks { // no branch per word: see testAndAddOwned
		missing |= m &^ f.words[base+uint64(w)].Load()
	}
	return missing == 0
}

// masks returns the first word of the block of the key of hash h and
// the key's bits in each of the block's eight words.
func (f *existenceFilter) masks(h uint64) (base uint64, masks [8]uint64) {
	base, h = f.locateHash(h)
	for i := 0; i < filterProbes; i++ {
		bit := probeBit(h, i)
		masks[bit/64] |= 1 << (bit % 64)
	}
	return base, masks
}

// addOwned is add for a ready filter that only the calling goroutine
// writes (the applier's current one: the goroutine that filled it set
// ready after its last write). Plain stores instead of eight atomic
// ones: a locked instruction per probe was most of what adding cost.
func (f *existenceFilter) addOwned(key []byte) {
	f.testAndAddOwned(f.hash(key))
	f.count.Add(1)
}

// testAndAddOwned adds the key of hash h, like addOwned, and reports
// whether it may have been present before (every bit already set). It
// does not count the key: the caller adds to count once for many.
func (f *existenceFilter) testAndAddOwned(h uint64) bool {
	base, masks := f.masks(h)
	// All eight words of the block (one cache line), without branches:
	// which words a key's bits fall in is random, so a branch per word
	// was mispredicted half the time.
	words := (*[8]uint64)(unsafe.Pointer(&f.words[base]))
	missing := uint64(0)
	for w, m := range masks {
		old := words[w]
		missing |= m &^ old
		words[w] = old | m
	}
	return missing == 0
}

// touchHash loads the block of the key of hash h (see applier.probeIDs).
func (f *existenceFilter) touchHash(h uint64) uint64 {
	base, _ := f.locateHash(h)
	return f.words[base].Load()
}

func (f *existenceFilter) full() bool { return f.count.Load() > f.capacity }

// fill adds every event id and stream name in the index to f and marks it
// ready. Keys applied meanwhile are added by the applier directly.
func (f *existenceFilter) fill(db *pebble.DB, stop <-chan struct{}) error {
	for _, prefix := range []byte{prefixEventID, prefixStreamState} {
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			f.add(it.Key())
			if n++; n%65536 == 0 {
				select {
				case <-stop:
					it.Close()
					return nil
				default:
				}
			}
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	f.ready.Store(true)
	return nil
}
