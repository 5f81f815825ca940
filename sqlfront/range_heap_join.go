package sqlfront

import (
	"container/heap"
	"errors"
	"io"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
)

// rangeHeapJoinIter is GMS's iterator of a range heap join (a join on
// `value BETWEEN min AND max`, rowexec's rangeHeapJoinIter), with one
// fix: for every row of its left side GMS builds a new iterator over the
// right side (a Sort of it: eventsql's indexes declare no order) and
// reads it only as far as the ranges reach, and it never closes one, not
// when it builds the next, not when the join is closed. A join stopped
// while the right side was being read (by --query-timeout, KILL QUERY,
// a client gone, an expression's error) left the engine's iterator
// under it, and its read lock on the store, open: the store could no
// longer close. This one closes the right side's iterator when it is
// replaced and when the join is closed.
type rangeHeapJoinIter struct {
	b    sql.NodeExecBuilder
	ctx  *sql.Context
	cond sql.Expression
	err  error // of a comparison made by the heap

	primary, secondary sql.RowIter
	child              sql.RowIter // the right side, read into the heap
	rh                 *plan.RangeHeap
	cmpType            sql.Type

	activeRanges []sql.Row
	pendingRow   sql.Row
	primaryRow   sql.Row

	scopeLen, parentLen, rowSize int

	foundMatch, loadPrimaryRow bool
	joinType                   plan.JoinType
}

// buildRangeHeapJoin builds j, a range heap join, as GMS does.
func buildRangeHeapJoin(ctx *sql.Context, b sql.NodeExecBuilder, j *plan.JoinNode, row sql.Row) (sql.RowIter, error) {
	rh, ok := j.Right().(*plan.RangeHeap)
	if !ok {
		return nil, errors.New("right side of join must be a range heap")
	}
	l, err := b.Build(ctx, j.Left(), row)
	if err != nil {
		return nil, err
	}
	primaryRow := make(sql.Row, len(row)+len(j.Left().Schema(ctx)))
	copy(primaryRow, row)
	return &rangeHeapJoinIter{
		ctx:            ctx,
		b:              b,
		joinType:       j.Op,
		cond:           j.Filter,
		primary:        l,
		primaryRow:     primaryRow,
		loadPrimaryRow: true,
		rowSize:        len(row) + len(j.Left().Schema(ctx)) + len(j.Right().Schema(ctx)),
		scopeLen:       j.ScopeLen,
		parentLen:      len(row),
		rh:             rh,
	}, nil
}

func (iter *rangeHeapJoinIter) loadPrimary(ctx *sql.Context) error {
	if iter.loadPrimaryRow {
		r, err := iter.primary.Next(ctx)
		if err != nil {
			return err
		}
		copy(iter.primaryRow[iter.parentLen:], r)
		iter.foundMatch = false
		iter.loadPrimaryRow = false
		if err := iter.initializeHeap(ctx, iter.primaryRow); err != nil {
			return err
		}
	}
	return nil
}

func (iter *rangeHeapJoinIter) loadSecondary(ctx *sql.Context) (sql.Row, error) {
	if iter.secondary == nil {
		rowIter, err := iter.getActiveRanges(ctx, iter.primaryRow)
		if err != nil {
			return nil, err
		}
		if plan.IsEmptyIter(rowIter) {
			return nil, plan.ErrEmptyCachedResult
		}
		iter.secondary = rowIter
	}
	secondaryRow, err := iter.secondary.Next(ctx)
	if err != nil {
		if err == io.EOF {
			err = iter.secondary.Close(ctx)
			iter.secondary = nil
			if err != nil {
				return nil, err
			}
			iter.loadPrimaryRow = true
			return nil, io.EOF
		}
		return nil, err
	}
	return secondaryRow, nil
}

func (iter *rangeHeapJoinIter) Next(ctx *sql.Context) (sql.Row, error) {
	for {
		if err := iter.loadPrimary(ctx); err != nil {
			return nil, err
		}
		primary := iter.primaryRow
		secondary, err := iter.loadSecondary(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				if !iter.foundMatch && iter.joinType.IsLeftOuter() {
					iter.loadPrimaryRow = true
					row := iter.buildRow(primary, nil)
					return iter.removeParentRow(row), nil
				}
				continue
			} else if errors.Is(err, plan.ErrEmptyCachedResult) {
				if !iter.foundMatch && iter.joinType.IsLeftOuter() {
					iter.loadPrimaryRow = true
					row := iter.buildRow(primary, nil)
					return iter.removeParentRow(row), nil
				}
				return nil, io.EOF
			}
			return nil, err
		}
		row := iter.buildRow(primary, secondary)
		res, err := iter.cond.Eval(ctx, row)
		matches := res == true
		if err != nil {
			return nil, err
		}
		if res == nil && iter.joinType.IsExcludeNulls() {
			err = iter.secondary.Close(ctx)
			iter.secondary = nil
			if err != nil {
				return nil, err
			}
			iter.loadPrimaryRow = true
			continue
		}
		if !matches {
			continue
		}
		iter.foundMatch = true
		return iter.removeParentRow(row), nil
	}
}

func (iter *rangeHeapJoinIter) removeParentRow(r sql.Row) sql.Row {
	copy(r[iter.scopeLen:], r[iter.parentLen:])
	return r[:len(r)-iter.parentLen+iter.scopeLen]
}

// buildRow builds the result set row using the rows from the primary and secondary tables
func (iter *rangeHeapJoinIter) buildRow(primary, secondary sql.Row) sql.Row {
	row := make(sql.Row, iter.rowSize)
	copy(row, primary)
	copy(row[len(primary):], secondary)
	return row
}

// Close closes the three inputs, each even when another fails.
func (iter *rangeHeapJoinIter) Close(ctx *sql.Context) error {
	var err error
	for _, it := range []*sql.RowIter{&iter.primary, &iter.secondary, &iter.child} {
		if *it == nil {
			continue
		}
		if cerr := (*it).Close(ctx); err == nil {
			err = cerr
		}
		*it = nil
	}
	return err
}

// initializeHeap reads the right side anew for primaryRow, closing the
// iterator of the previous row (GMS left it open).
func (iter *rangeHeapJoinIter) initializeHeap(ctx *sql.Context, primaryRow sql.Row) (err error) {
	if iter.child != nil {
		err := iter.child.Close(ctx)
		iter.child = nil
		if err != nil {
			return err
		}
	}
	iter.child, err = iter.b.Build(ctx, iter.rh.Child, primaryRow)
	if err != nil {
		return err
	}
	iter.activeRanges = nil
	iter.cmpType = iter.rh.Schema(ctx)[iter.rh.MaxColumnIndex].Type
	iter.pendingRow, err = iter.child.Next(ctx)
	if err == io.EOF {
		iter.pendingRow = nil
		return nil
	}
	return err
}

func (iter *rangeHeapJoinIter) getActiveRanges(ctx *sql.Context, row sql.Row) (sql.RowIter, error) {
	// Remove rows from the heap if we've advanced beyond their max value.
	for iter.Len() > 0 {
		maxValue := iter.Peek()
		compareResult, err := compareNullsFirst(ctx, iter.cmpType, row[iter.rh.ValueColumnIndex], maxValue)
		if err != nil {
			return nil, err
		}
		if (iter.rh.RangeIsClosedAbove && compareResult > 0) || (!iter.rh.RangeIsClosedAbove && compareResult >= 0) {
			heap.Pop(iter)
			if iter.err != nil {
				err = iter.err
				iter.err = nil
				return nil, err
			}
		} else {
			break
		}
	}
	// Advance the child iterator until we encounter a row whose min value is beyond the range.
	for iter.pendingRow != nil {
		minValue := iter.pendingRow[iter.rh.MinColumnIndex]
		compareResult, err := compareNullsFirst(ctx, iter.cmpType, row[iter.rh.ValueColumnIndex], minValue)
		if err != nil {
			return nil, err
		}
		if (iter.rh.RangeIsClosedBelow && compareResult < 0) || (!iter.rh.RangeIsClosedBelow && compareResult <= 0) {
			break
		}
		heap.Push(iter, iter.pendingRow)
		if iter.err != nil {
			err = iter.err
			iter.err = nil
			return nil, err
		}
		iter.pendingRow, err = iter.child.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				// Every range is in the priority queue.
				iter.pendingRow = nil
				break
			}
			return nil, err
		}
	}
	// Every active row must match the accepted row.
	return sql.RowsToRowIter(iter.activeRanges...), nil
}

// compareNullsFirst compares with NULLs before any other value, as the
// right side is sorted.
func compareNullsFirst(ctx *sql.Context, t sql.Type, a, b any) (int, error) {
	switch {
	case a == nil && b == nil:
		return 0, nil
	case a == nil:
		return -1, nil
	case b == nil:
		return 1, nil
	}
	return t.Compare(ctx, a, b)
}

// The heap of active ranges, by their max value (container/heap).

func (iter *rangeHeapJoinIter) Len() int { return len(iter.activeRanges) }

func (iter *rangeHeapJoinIter) Less(i, j int) bool {
	lhs := iter.activeRanges[i][iter.rh.MaxColumnIndex]
	rhs := iter.activeRanges[j][iter.rh.MaxColumnIndex]
	compareResult, err := compareNullsFirst(iter.ctx, iter.cmpType, lhs, rhs)
	if iter.err == nil && err != nil {
		iter.err = err
	}
	return compareResult < 0
}

func (iter *rangeHeapJoinIter) Swap(i, j int) {
	iter.activeRanges[i], iter.activeRanges[j] = iter.activeRanges[j], iter.activeRanges[i]
}

func (iter *rangeHeapJoinIter) Push(x any) {
	iter.activeRanges = append(iter.activeRanges, x.(sql.Row))
}

func (iter *rangeHeapJoinIter) Pop() any {
	n := len(iter.activeRanges)
	x := iter.activeRanges[n-1]
	iter.activeRanges = iter.activeRanges[0 : n-1]
	return x
}

func (iter *rangeHeapJoinIter) Peek() any {
	n := len(iter.activeRanges)
	return iter.activeRanges[n-1][iter.rh.MaxColumnIndex]
}
