package engine

import "sync"

// positionCacheSlots is the number of position entries positionCache
// holds: 2 MiB of memory, every entry of a store of up to 16.7M events
// (one per positionIndexEvery), a share of them beyond.
const positionCacheSlots = 1 << 17

// positionCache remembers position entries of the index (the log offset
// of every positionIndexEvery-th position, see offsetAtOrBefore) in a
// direct-mapped table: reading one from Pebble costs 10-17 µs on the
// project's VM, about 7% of the server's CPU for a 100-row position
// range over SQL; a hit costs a lock. An indexed position's offset never
// changes while the store is open, so entries never go stale.
type positionCache struct {
	mu    sync.Mutex
	slots []positionSlot
}

// positionSlot holds the offset of the entry at position run*positionIndexEvery+1;
// run is stored plus one, so a zero slot is empty.
type positionSlot struct {
	runPlusOne uint64
	off        uint64
}

func newPositionCache() *positionCache {
	return &positionCache{slots: make([]positionSlot, positionCacheSlots)}
}

// get returns the cached offset of run's entry.
func (c *positionCache) get(run uint64) (uint64, bool) {
	c.mu.Lock()
	s := c.slots[run%positionCacheSlots]
	c.mu.Unlock()
	return s.off, s.runPlusOne == run+1
}

// put caches the offset of run's entry.
func (c *positionCache) put(run, off uint64) {
	c.mu.Lock()
	c.slots[run%positionCacheSlots] = positionSlot{runPlusOne: run + 1, off: off}
	c.mu.Unlock()
}
