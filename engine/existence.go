package engine

import (
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// existenceFilter is an in-memory blocked Bloom filter over the event ids
// and stream names in the store. The apply step asks it before probing
// the index: a point lookup in the index costs 3-6 µs, the filter ~50 ns,
// and almost every id an append brings is new. It answers "certainly
// absent" or "maybe present" (then the index decides), so it never
// changes an outcome, only its cost.
//
// It takes about 1.25 bytes per key (10 bits) and is built in the
// background on open from the index; until it is ready, lookups go to the
// index. When it fills up, a filter twice the size is built the same way.
type existenceFilter struct {
	blocks   uint64
	words    []atomic.Uint64 // blocks * 8 words: 512-bit blocks
	seed     maphash.Seed
	capacity uint64
	count    atomic.Uint64
	ready    atomic.Bool
}

const (
	filterBitsPerKey = 10
	filterProbes     = 6
	minFilterKeys    = 1 << 20
)

func newExistenceFilter(capacity uint64) *existenceFilter {
	return newExistenceFilterMin(capacity, minFilterKeys)
}

// newExistenceFilterMin lets tests start small so the filter grows.
func newExistenceFilterMin(capacity, minKeys uint64) *existenceFilter {
	capacity = max(capacity, minKeys)
	blocks := (capacity*filterBitsPerKey + 511) / 512
	return &existenceFilter{
		blocks:   blocks,
		words:    make([]atomic.Uint64, blocks*8),
		seed:     maphash.MakeSeed(),
		capacity: capacity,
	}
}

// Keys are the index keys: prefixEventID+id or prefixStreamState+name.
func (f *existenceFilter) locate(key []byte) (block uint64, h uint64) {
	h = maphash.Bytes(f.seed, key)
	block, _ = bits.Mul64(h, f.blocks)
	// Derive the in-block bit positions from a remix of the hash.
	return block * 8, bits.RotateLeft64(h, 32) * 0x9E3779B97F4A7C15
}

func (f *existenceFilter) add(key []byte) {
	base, h := f.locate(key)
	for i := 0; i < filterProbes; i++ {
		bit := (h >> (9 * i)) & 511
		f.words[base+bit/64].Or(1 << (bit % 64))
	}
	f.count.Add(1)
}

func (f *existenceFilter) mayContain(key []byte) bool {
	base, h := f.locate(key)
	for i := 0; i < filterProbes; i++ {
		bit := (h >> (9 * i)) & 511
		if f.words[base+bit/64].Load()&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
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
