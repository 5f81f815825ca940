package engine

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// restrictedView is the in-memory set of streams whose events reads of
// $all, types and categories must check: streams with $maxCount, $maxAge
// or $tb, and deleted streams. Most stores have none, and then readers
// pay one atomic load per event. Its size grows with the number of such
// streams (key 'R' in the index lists them; it is loaded on open).
type restrictedView struct {
	n       atomic.Int64
	mu      sync.RWMutex
	streams map[string]streamState
}

func newRestrictedView() *restrictedView {
	return &restrictedView{streams: make(map[string]streamState)}
}

func (v *restrictedView) load(db *pebble.DB) error {
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixRestricted},
		UpperBound: []byte{prefixRestricted + 1},
	})
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer it.Close()
	changes := make(map[string]streamState)
	for it.First(); it.Valid(); it.Next() {
		name := string(it.Key()[1:])
		s, _, err := loadStreamState(db, name)
		if err != nil {
			return err
		}
		changes[name] = s
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	v.apply(changes)
	return nil
}

// apply records new states of streams that are or were restricted.
func (v *restrictedView) apply(changes map[string]streamState) {
	if len(changes) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for name, s := range changes {
		if s.restricted() {
			v.streams[name] = s
		} else {
			delete(v.streams, name)
		}
	}
	v.n.Store(int64(len(v.streams)))
}

// state returns the state of stream when it is restricted.
func (v *restrictedView) state(stream string) (streamState, bool) {
	if v.n.Load() == 0 {
		return streamState{}, false
	}
	v.mu.RLock()
	s, ok := v.streams[stream]
	v.mu.RUnlock()
	return s, ok
}

// visible reports whether an event of stream (as bytes, to avoid an
// allocation) is visible to reads at now.
func (v *restrictedView) visible(stream []byte, version, createdAt int64, now time.Time) bool {
	if v.n.Load() == 0 {
		return true
	}
	v.mu.RLock()
	s, ok := v.streams[string(stream)]
	v.mu.RUnlock()
	return !ok || s.visible(version, createdAt, now)
}
