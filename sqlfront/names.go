package sqlfront

import (
	"context"
	"sync"

	"github.com/eventsql/eventsql/engine"
)

// nameCache keeps the engine's lists of event types and categories for
// one head position. Listing them reads the whole type/category index
// (O(types)); every query that resolves a table needs them, so a point
// lookup would otherwise pay for it. A new head (any append) makes the
// next caller list again.
type nameCache struct {
	store Store

	mu    sync.Mutex
	types nameList
	cats  nameList
}

type nameList struct {
	head  uint64
	valid bool
	infos []engine.NameInfo // shared, read only
}

// eventTypes returns every event type in name order.
func (c *nameCache) eventTypes(ctx context.Context) ([]engine.NameInfo, error) {
	return c.get(ctx, &c.types, c.store.EventTypes)
}

// categories returns every category in name order.
func (c *nameCache) categories(ctx context.Context) ([]engine.NameInfo, error) {
	return c.get(ctx, &c.cats, c.store.Categories)
}

func (c *nameCache) get(ctx context.Context, l *nameList, list func(context.Context) ([]engine.NameInfo, error)) ([]engine.NameInfo, error) {
	// The head is read before listing: the list is then at least as new
	// as the head it is filed under.
	head := c.store.Head()
	c.mu.Lock()
	if l.valid && l.head == head {
		infos := l.infos
		c.mu.Unlock()
		return infos, nil
	}
	c.mu.Unlock()
	infos, err := list(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if !l.valid || head >= l.head {
		l.head, l.valid, l.infos = head, true, infos
	}
	c.mu.Unlock()
	return infos, nil
}

// find returns the entry named name in a list sorted by name.
func findName(infos []engine.NameInfo, name string) (engine.NameInfo, bool) {
	lo, hi := 0, len(infos)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if infos[m].Name < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(infos) && infos[lo].Name == name {
		return infos[lo], true
	}
	return engine.NameInfo{}, false
}
