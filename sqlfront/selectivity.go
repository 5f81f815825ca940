package sqlfront

import (
	"context"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/eventsql/eventsql/engine"
)

// Filter selectivity for join costing (coster.go). GMS guesses that any
// filter keeps 85% of a table, so a join whose outer side is narrowed by
// `WHERE o.customer = 'c-42'` would still hash the whole inner table
// instead of looking up the few matching streams. eventsql estimates the
// fraction instead: it reads a sample of the table's events (sampleRuns
// runs of sampleRun consecutive events spread over the table's positions)
// and evaluates the filter's compiled conjuncts on them. Conjuncts it
// cannot compile count as keeping every row. An answer is cached per
// table and filter until the table has grown or shrunk by half.
const (
	sampleRuns = 32
	sampleRun  = 8
	// maxSelectivities bounds the cache; it is emptied when full.
	maxSelectivities = 4096
)

type selectivityCache struct {
	mu sync.Mutex
	m  map[string]sampledSelectivity
}

type sampledSelectivity struct {
	sel  float64
	rows uint64 // the table's rows when it was sampled
}

// selectivity estimates the fraction of t's rows f keeps (at least half a
// sampled row's worth).
func (fe *Front) selectivity(ctx *sql.Context, t *eventsTable, f *rowFilter) (float64, error) {
	rows, _, err := fe.countInScope(ctx, t.scope, t.scopeName)
	if err != nil || rows == 0 {
		return 1, err
	}
	key := t.String() + "\x00" + f.String()
	c := &fe.selectivities
	c.mu.Lock()
	s, ok := c.m[key]
	c.mu.Unlock()
	if ok && rows < 2*s.rows && 2*rows > s.rows {
		return s.sel, nil
	}
	sel, err := fe.sampleSelectivity(ctx, t, f)
	if err != nil {
		return 1, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSelectivities {
		c.m = map[string]sampledSelectivity{}
	}
	c.m[key] = sampledSelectivity{sel: sel, rows: rows}
	c.mu.Unlock()
	return sel, nil
}

// sampleSelectivity reads the sample and counts the events f keeps.
func (fe *Front) sampleSelectivity(ctx *sql.Context, t *eventsTable, f *rowFilter) (float64, error) {
	store := fe.store
	lo, hi := uint64(1), store.Head()
	var open func(ctx context.Context, from uint64, limit int) (*engine.EventIterator, error)
	switch t.scope {
	case scopeType, scopeCategory:
		list, read := fe.names.eventTypes, store.ReadType
		if t.scope == scopeCategory {
			list, read = fe.names.categories, store.ReadCategory
		}
		infos, err := list(ctx)
		if err != nil {
			return 1, err
		}
		in, ok := findName(infos, t.scopeName)
		if !ok {
			return 1, nil
		}
		lo, hi = in.FirstPosition, min(hi, in.LastPosition)
		open = func(ctx context.Context, from uint64, limit int) (*engine.EventIterator, error) {
			return read(ctx, t.scopeName, from, engine.ReadOptions{Limit: limit})
		}
	default:
		open = func(ctx context.Context, from uint64, limit int) (*engine.EventIterator, error) {
			return store.ReadAll(ctx, from, engine.ReadOptions{Limit: limit})
		}
	}
	if lo > hi {
		return 1, nil
	}
	m := f.matcher()
	var n, kept int
	next := uint64(0) // positions below were sampled already
	for k := range uint64(sampleRuns) {
		from := max(next, lo+(hi-lo+1)*k/sampleRuns)
		if from > hi {
			break
		}
		it, err := open(ctx, from, sampleRun)
		if err != nil {
			return 1, err
		}
		for it.Next() {
			e := it.Event()
			next = e.Position + 1
			n++
			if m.match(e) {
				kept++
			}
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return 1, err
		}
	}
	if n == 0 {
		return 1, nil
	}
	return max(float64(kept), 0.5) / float64(n), nil
}
