package sqlfront

import (
	"context"
	"fmt"
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
// and evaluates the filter's compiled conjuncts on them; conjuncts it
// cannot compile count as keeping every row. The sample (the values of
// the columns the filter reads) is cached per table and columns until
// the table has grown or shrunk by half, so the same filter with other
// constants (a prepared statement's arguments) reads nothing again.
const (
	sampleRuns = 32
	sampleRun  = 8
	// maxSamples bounds the cache; it is emptied when full.
	maxSamples = 1024
)

type selectivityCache struct {
	mu sync.Mutex
	m  map[string]*sample
}

// sample is the values of some columns of a table's sampled events.
type sample struct {
	rows  []sql.Row // mini-rows of the filter's columns
	table uint64    // the table's rows when it was sampled
}

// selectivity estimates the fraction of t's rows f keeps (at least half a
// sampled row's worth).
func (fe *Front) selectivity(ctx *sql.Context, t *eventsTable, f *rowFilter) (float64, error) {
	rows, _, err := fe.countInScope(ctx, t.scope, t.scopeName)
	if err != nil || rows == 0 {
		return 1, err
	}
	key := fmt.Sprint(t.String(), f.cols)
	c := &fe.selectivities
	c.mu.Lock()
	smp, ok := c.m[key]
	c.mu.Unlock()
	if !ok || rows >= 2*smp.table || 2*rows <= smp.table {
		if smp, err = fe.sample(ctx, t, f.cols); err != nil {
			return 1, err
		}
		smp.table = rows
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxSamples {
			c.m = map[string]*sample{}
		}
		c.m[key] = smp
		c.mu.Unlock()
	}
	if len(smp.rows) == 0 {
		return 1, nil
	}
	kept := 0
	for _, r := range smp.rows {
		if f.matchRow(r) {
			kept++
		}
	}
	return max(float64(kept), 0.5) / float64(len(smp.rows)), nil
}

// sample reads the sample of t and keeps the values of cols.
func (fe *Front) sample(ctx *sql.Context, t *eventsTable, cols []int) (*sample, error) {
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
			return nil, err
		}
		in, ok := findName(infos, t.scopeName)
		if !ok {
			return &sample{}, nil
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
	smp := &sample{}
	if lo > hi {
		return smp, nil
	}
	dec := newMiniDecoder(t, cols)
	next := uint64(0) // positions below were sampled already
	for k := range uint64(sampleRuns) {
		from := max(next, lo+(hi-lo+1)*k/sampleRuns)
		if from > hi {
			break
		}
		it, err := open(ctx, from, sampleRun)
		if err != nil {
			return nil, err
		}
		for it.Next() {
			e := it.Event()
			next = e.Position + 1
			row := make(sql.Row, len(cols))
			dec.fill(row, e)
			smp.rows = append(smp.rows, row)
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return nil, err
		}
	}
	return smp, nil
}
