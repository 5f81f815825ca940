package sqlfront

import (
	"context"
	"errors"
	"io"

	"github.com/dolthub/go-mysql-server/errguard"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/hash"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
)

// groupBys builds the iterator of a GROUP BY that go-mysql-server runs
// (the native aggregates take the common shapes, native_agg.go) as
// GMS's groupByGroupingIter does, with one fix: GMS reads the child on
// one goroutine and aggregates on another, and when aggregating fails
// (an expression's error on some row, the SQL memory limit) the reader
// stays blocked handing over its next row, so the statement never ends,
// not even on KILL QUERY, and its connection hangs. Here the reader
// gives up when the statement's context is cancelled.
type groupBys struct {
	base *rowexec.BaseBuilder
	next sql.NodeExecBuilder // for other nodes
}

var _ sql.NodeExecBuilder = groupBys{}

// Build returns a groupingIter for a GroupBy with grouping expressions,
// a groupAllIter for one without, a Window over a memoryChecked child,
// the first read of a hash join's build side (hash_lookup.go), a range
// heap join (range_heap_join.go) and a full outer join whose left side
// is closed when it ends (input_closer.go); other nodes go to next.
func (b groupBys) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	if hl, ok := n.(*plan.HashLookup); ok {
		return b.buildHashLookup(ctx, hl, row)
	}
	if j, ok := n.(*plan.JoinNode); ok && (j.Op.IsRange() || j.Op.IsFullOuter()) {
		return b.buildJoin(ctx, j, row)
	}
	if w, ok := n.(*plan.Window); ok {
		if _, checked := w.Child.(*memoryChecked); checked {
			return nil, nil // GMS builds it, over the checked child
		}
		nw, err := w.WithChildren(ctx, &memoryChecked{UnaryNode: plan.UnaryNode{Child: w.Child}})
		if err != nil {
			return nil, err
		}
		return b.base.Build(ctx, nw, row)
	}
	g, ok := n.(*plan.GroupBy)
	if !ok {
		if b.next == nil {
			return nil, nil
		}
		return b.next.Build(ctx, n, row)
	}
	child, err := b.base.Build(ctx, g.Child, row)
	if err != nil {
		return nil, err
	}
	if len(g.GroupByExprs) == 0 {
		return &groupAllIter{selected: g.SelectDeps, child: child}, nil
	}
	keySch := make(sql.Schema, len(g.GroupByExprs))
	for i, e := range g.GroupByExprs {
		keySch[i] = &sql.Column{Type: e.Type(ctx)}
	}
	return &groupingIter{selected: g.SelectDeps, groupBy: g.GroupByExprs, child: child,
		keyRow: make(sql.Row, len(g.GroupByExprs)), keySch: keySch}, nil
}

// buildJoin builds the joins whose GMS iterators leave an input open: a
// range heap join by our copy of its iterator, a full outer join over
// an inputCloser (GMS's fullJoinIter drops its left side's iterator
// once it has read it to the end, without closing it: a left side that
// stops early, as under a LIMIT, kept an engine iterator and its read
// lock open).
func (b groupBys) buildJoin(ctx *sql.Context, j *plan.JoinNode, row sql.Row) (sql.RowIter, error) {
	if j.Op.IsRange() {
		return buildRangeHeapJoin(ctx, b.base, j, row)
	}
	if _, closed := j.Left().(*inputCloser); closed {
		return nil, nil // GMS builds it, over the closing left side
	}
	nj, err := j.WithChildren(ctx, closedAtEnd(j.Left()), j.Right())
	if err != nil {
		return nil, err
	}
	return b.base.Build(ctx, nj, row)
}

// groupingIter aggregates its child's rows per group, then returns one
// row per group in order of first appearance.
type groupingIter struct {
	selected, groupBy []sql.Expression
	child             sql.RowIter
	groups            sql.KeyValueCache // key -> []sql.AggregationBuffer
	dispose           sql.DisposeFunc
	keys              []uint64
	keyRow            sql.Row
	keySch            sql.Schema
	pos               int
	// mem checks the memory limit as the groups' buffers grow (their
	// GROUP_CONCAT and JSON_ARRAYAGG keep every value, unseen by GMS's
	// memory manager, which only sees new groups).
	mem memoryCheck
}

// handoff is how many rows the reader may be ahead of the aggregation.
const handoff = 512

func (i *groupingIter) Next(ctx *sql.Context) (sql.Row, error) {
	if i.groups == nil {
		i.groups, i.dispose = ctx.Memory.NewHistoryCache(ctx)
		if err := i.compute(ctx); err != nil {
			return nil, err
		}
	}
	if i.pos >= len(i.keys) {
		return nil, io.EOF
	}
	bufs, err := i.buffers(i.keys[i.pos])
	if err != nil {
		return nil, err
	}
	i.pos++
	out := make(sql.Row, len(bufs))
	for j, b := range bufs {
		if out[j], err = b.Eval(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// compute reads the child on a goroutine of its own and aggregates here.
func (i *groupingIter) compute(ctx *sql.Context) error {
	eg, sub := ctx.NewErrgroup()
	rows := make(chan sql.Row, handoff)
	// errguard: a panic in an expression becomes the statement's error,
	// as in GMS, instead of ending the server.
	errguard.Go(eg, func() error {
		defer close(rows)
		for {
			row, err := i.child.Next(sub)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			select {
			case rows <- row: // room in the channel: the common case
			default:
				select {
				case rows <- row:
				case <-sub.Done(): // the aggregation gave up
					return context.Cause(sub)
				}
			}
		}
	})
	errguard.Go(eg, func() error {
		for row := range rows {
			if err := i.add(sub, row); err != nil {
				return err
			}
		}
		return nil
	})
	return eg.Wait()
}

// add aggregates row into its group, making the group on its first row.
func (i *groupingIter) add(ctx *sql.Context, row sql.Row) error {
	if err := i.mem.row(ctx); err != nil {
		return err
	}
	key, err := i.groupingKey(ctx, row)
	if err != nil {
		return err
	}
	bufs, err := i.buffers(key)
	if errors.Is(err, sql.ErrKeyNotFound) {
		bufs = make([]sql.AggregationBuffer, len(i.selected))
		for j, e := range i.selected {
			if bufs[j], err = newAggregationBuffer(ctx, e); err != nil {
				return err
			}
		}
		if err := i.groups.Put(key, bufs); err != nil {
			return err
		}
		i.keys = append(i.keys, key)
	} else if err != nil {
		return err
	}
	for _, b := range bufs {
		if err := b.Update(ctx, row); err != nil {
			return err
		}
	}
	return nil
}

func (i *groupingIter) buffers(key uint64) ([]sql.AggregationBuffer, error) {
	v, err := i.groups.Get(key)
	if err != nil || v == nil {
		return nil, err
	}
	return v.([]sql.AggregationBuffer), nil
}

// groupingKey hashes the row's grouping values as GMS does.
func (i *groupingIter) groupingKey(ctx *sql.Context, row sql.Row) (uint64, error) {
	for j, e := range i.groupBy {
		v, err := e.Eval(ctx, row)
		if err != nil {
			return 0, err
		}
		if ext, ok := e.Type(ctx).(sql.ExtendedType); ok {
			b, err := ext.SerializeValue(ctx, v)
			if err != nil {
				return 0, err
			}
			v = string(b)
		}
		i.keyRow[j] = v
	}
	return hash.HashOf(ctx, i.keySch, i.keyRow)
}

// newAggregationBuffer is an aggregate's buffer; a plain expression in a
// grouped SELECT takes its group's first value, as in GMS.
func newAggregationBuffer(ctx *sql.Context, e sql.Expression) (sql.AggregationBuffer, error) {
	if a, ok := e.(sql.Aggregation); ok {
		return a.NewBuffer(ctx)
	}
	return aggregation.NewFirst(e).NewBuffer(ctx)
}

// groupAllIter aggregates all its child's rows into one row (a GROUP BY
// without grouping expressions: an aggregate over the whole input), as
// GMS's groupByIter, checking the memory limit as its buffers grow.
type groupAllIter struct {
	selected []sql.Expression
	child    sql.RowIter
	bufs     []sql.AggregationBuffer
	done     bool
	mem      memoryCheck
}

func (i *groupAllIter) Next(ctx *sql.Context) (sql.Row, error) {
	if i.done {
		return nil, io.EOF
	}
	i.dispose(ctx)
	i.bufs = make([]sql.AggregationBuffer, len(i.selected))
	onlyAnyValue := true
	for j, e := range i.selected {
		var err error
		if i.bufs[j], err = newAggregationBuffer(ctx, e); err != nil {
			return nil, err
		}
		if a, ok := e.(sql.Aggregation); ok {
			if _, any := a.(*aggregation.AnyValue); !any {
				onlyAnyValue = false
			}
		}
	}
	// Only ANY_VALUE (or no aggregate): a plain SELECT, a row per row.
	if onlyAnyValue {
		row, err := i.child.Next(ctx)
		if err != nil {
			i.done = true
			return nil, err
		}
		return i.update(ctx, row, true)
	}
	i.done = true
	for {
		row, err := i.child.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if _, err := i.update(ctx, row, false); err != nil {
			return nil, err
		}
	}
	return i.eval(ctx)
}

// update adds row to the buffers, and evaluates them when eval is set.
func (i *groupAllIter) update(ctx *sql.Context, row sql.Row, eval bool) (sql.Row, error) {
	if err := i.mem.row(ctx); err != nil {
		return nil, err
	}
	for _, b := range i.bufs {
		if err := b.Update(ctx, row); err != nil {
			return nil, err
		}
	}
	if !eval {
		return nil, nil
	}
	return i.eval(ctx)
}

func (i *groupAllIter) eval(ctx *sql.Context) (sql.Row, error) {
	out := make(sql.Row, len(i.bufs))
	for j, b := range i.bufs {
		var err error
		if out[j], err = b.Eval(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (i *groupAllIter) dispose(ctx *sql.Context) {
	for _, b := range i.bufs {
		if b != nil {
			b.Dispose(ctx)
		}
	}
	i.bufs = nil
}

func (i *groupAllIter) Close(ctx *sql.Context) error {
	i.dispose(ctx)
	return i.child.Close(ctx)
}

func (i *groupingIter) Close(ctx *sql.Context) error {
	if i.groups != nil {
		for _, k := range i.keys {
			if bufs, _ := i.buffers(k); bufs != nil {
				for _, b := range bufs {
					b.Dispose(ctx)
				}
			}
		}
		i.groups = nil
	}
	if i.dispose != nil {
		i.dispose()
		i.dispose = nil
	}
	return i.child.Close(ctx)
}
