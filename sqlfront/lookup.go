package sqlfront

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/eventsql/eventsql/engine"
)

// maxStreamsLookup bounds stream IN (...) lists read stream by stream;
// longer lists scan by the next best index.
const maxStreamsLookup = 10000

// scanPlan is how a query reads an event table: which engine index and
// which bounds. GMS keeps every filter and evaluates it on the rows, so a
// plan only has to read a superset of the matching events; it is chosen
// by us, not by GMS's coster (whose statistics are uniform guesses):
// stream beats event type beats time/position range beats a full scan.
type scanPlan struct {
	streams []string // read these streams (sorted, distinct)
	types   []string // read these event types (eventsql.events only)
	// Position bounds, inclusive; from created_at bounds too.
	lo, hi uint64
	// timeLo/timeHi are created_at bounds still to be mapped to positions.
	timeLo, timeHi       time.Time
	timeLoOpen, timeHiOp bool // strict (>, <) bounds
	empty                bool // contradictory filters: no rows
	// keep, when set, must accept an event for it to be returned (index
	// lookups that are read as a superset; see indexes.go).
	keep func(*engine.RecordedEvent) bool
}

func (p *scanPlan) useful() bool {
	return p.streams != nil || p.types != nil || p.lo > 1 || p.hi != math.MaxUint64 ||
		!p.timeLo.IsZero() || !p.timeHi.IsZero() || p.empty
}

func (p *scanPlan) String() string {
	var parts []string
	if p.empty {
		return "no rows"
	}
	if p.streams != nil {
		parts = append(parts, fmt.Sprintf("streams %q", p.streams))
	}
	if p.types != nil {
		parts = append(parts, fmt.Sprintf("types %q", p.types))
	}
	if p.lo > 1 || p.hi != math.MaxUint64 {
		parts = append(parts, fmt.Sprintf("positions [%d, %d]", p.lo, p.hi))
	}
	if !p.timeLo.IsZero() || !p.timeHi.IsZero() {
		parts = append(parts, "created_at "+p.timeRange())
	}
	return strings.Join(parts, ", ")
}

// timeRange writes the created_at bounds as an interval: "[" or "(" for
// an inclusive or strict bound, "-inf"/"+inf" for a missing one (not the
// zero time, which read as an empty range).
func (p *scanPlan) timeRange() string {
	const layout = "2006-01-02 15:04:05.999999"
	lo, hi := "[-inf", "+inf]"
	if !p.timeLo.IsZero() {
		lo = "[" + p.timeLo.UTC().Format(layout)
		if p.timeLoOpen {
			lo = "(" + lo[1:]
		}
	}
	if !p.timeHi.IsZero() {
		hi = p.timeHi.UTC().Format(layout) + "]"
		if p.timeHiOp {
			hi = hi[:len(hi)-1] + ")"
		}
	}
	return lo + ", " + hi
}

func newScanPlan() *scanPlan { return &scanPlan{lo: 1, hi: math.MaxUint64} }

// SkipIndexCosting: the plan we choose is used as is.
func (t *eventsTable) SkipIndexCosting() bool { return true }

// PreciseMatch is false: GMS re-applies every filter to the rows read.
func (t *eventsTable) PreciseMatch() bool { return false }

// IndexedAccess returns the table reading with the lookup's plan.
func (t *eventsTable) IndexedAccess(ctx *sql.Context, lookup sql.IndexLookup) sql.IndexedTable {
	c := *t
	if pi, ok := lookup.Index.(*planIndex); ok {
		c.plan = pi.plan
	}
	return &c
}

// LookupForExpressions turns the pushable conjuncts of a WHERE clause
// into a scanPlan.
func (t *eventsTable) LookupForExpressions(ctx *sql.Context, exprs ...sql.Expression) (sql.IndexLookup, *sql.FuncDepSet, sql.Expression, bool, error) {
	p := newScanPlan()
	for _, e := range exprs {
		t.addConjunct(ctx, p, e)
	}
	if !p.useful() {
		return sql.IndexLookup{}, nil, nil, false, nil
	}
	idx := &planIndex{db: t.db, table: t.name, plan: p}
	return sql.IndexLookup{Index: idx, Ranges: idx.ranges()}, nil, expression.JoinAnd(exprs...), true, nil
}

// column returns the base column a GetField of this table refers to, or -1.
func (t *eventsTable) column(e sql.Expression) int {
	gf, ok := e.(*expression.GetField)
	if !ok {
		return -1
	}
	// The qualifier is not checked: GMS hands LookupForExpressions only
	// the filters it pushed onto this table, and under an alias
	// (FROM events e) they are qualified by the alias, not the name.
	return colIndex(t.schema[:numBaseColumns], gf.Name())
}

// literal evaluates a constant expression.
func literal(ctx *sql.Context, e sql.Expression) (any, bool) {
	if _, ok := e.(*expression.Literal); !ok {
		return nil, false
	}
	v, err := e.Eval(ctx, nil)
	if err != nil || v == nil {
		return nil, false
	}
	return v, true
}

func (t *eventsTable) addConjunct(ctx *sql.Context, p *scanPlan, e sql.Expression) {
	switch e := e.(type) {
	case *expression.Equals:
		col, v, ok := t.columnAndValue(ctx, e.Left(), e.Right())
		if ok {
			t.addEquals(ctx, p, col, []any{v})
		}
	case *expression.InTuple:
		col := t.column(e.Left())
		tuple, ok := e.Right().(expression.Tuple)
		if col < 0 || !ok {
			return
		}
		vals := make([]any, 0, len(tuple))
		for _, x := range tuple {
			v, ok := literal(ctx, x)
			if !ok {
				return
			}
			vals = append(vals, v)
		}
		t.addEquals(ctx, p, col, vals)
	case *expression.Between:
		col := t.column(e.Val)
		lo, ok1 := literal(ctx, e.Lower)
		hi, ok2 := literal(ctx, e.Upper)
		if col >= 0 && ok1 && ok2 {
			t.addBound(ctx, p, col, lo, true, false)
			t.addBound(ctx, p, col, hi, false, false)
		}
	case *expression.GreaterThan:
		t.addComparison(ctx, p, e.Left(), e.Right(), true, true)
	case *expression.GreaterThanOrEqual:
		t.addComparison(ctx, p, e.Left(), e.Right(), true, false)
	case *expression.LessThan:
		t.addComparison(ctx, p, e.Left(), e.Right(), false, true)
	case *expression.LessThanOrEqual:
		t.addComparison(ctx, p, e.Left(), e.Right(), false, false)
	}
}

// columnAndValue matches "col = literal" either way round.
func (t *eventsTable) columnAndValue(ctx *sql.Context, a, b sql.Expression) (int, any, bool) {
	if col := t.column(a); col >= 0 {
		v, ok := literal(ctx, b)
		return col, v, ok
	}
	if col := t.column(b); col >= 0 {
		v, ok := literal(ctx, a)
		return col, v, ok
	}
	return -1, nil, false
}

// addComparison handles col > v, v < col and friends.
func (t *eventsTable) addComparison(ctx *sql.Context, p *scanPlan, left, right sql.Expression, greater, strict bool) {
	if col := t.column(left); col >= 0 {
		if v, ok := literal(ctx, right); ok {
			t.addBound(ctx, p, col, v, greater, strict)
		}
		return
	}
	if col := t.column(right); col >= 0 {
		if v, ok := literal(ctx, left); ok {
			t.addBound(ctx, p, col, v, !greater, strict) // v > col  ==  col < v
		}
	}
}

func (t *eventsTable) addEquals(ctx *sql.Context, p *scanPlan, col int, vals []any) {
	switch col {
	case colStream:
		names := stringValues(ctx, vals)
		if names == nil || len(names) > maxStreamsLookup {
			return
		}
		p.streams = intersectNames(p.streams, names)
		p.empty = p.empty || len(p.streams) == 0
	case colEventType:
		if t.scope == scopeType {
			return // the table's own type
		}
		names := stringValues(ctx, vals)
		if names == nil {
			return
		}
		p.types = intersectNames(p.types, names)
		p.empty = p.empty || len(p.types) == 0
	case colPosition:
		if len(vals) == 1 {
			t.addBound(ctx, p, col, vals[0], true, false)
			t.addBound(ctx, p, col, vals[0], false, false)
		}
	case colCreatedAt:
		if len(vals) == 1 {
			t.addBound(ctx, p, col, vals[0], true, false)
			t.addBound(ctx, p, col, vals[0], false, false)
		}
	}
}

// addBound narrows a position or created_at range: col >= v (greater),
// col <= v, or the strict forms.
func (t *eventsTable) addBound(ctx *sql.Context, p *scanPlan, col int, v any, greater, strict bool) {
	switch col {
	case colPosition:
		f, ok := toFloat(ctx, v)
		if !ok {
			return
		}
		if greater {
			lo := math.Ceil(f)
			if strict && lo == f {
				lo++
			}
			if lo > 1 {
				if lo >= math.MaxUint64 {
					p.empty = true
					return
				}
				p.lo = max(p.lo, uint64(lo))
			}
		} else {
			hi := math.Floor(f)
			if strict && hi == f {
				hi--
			}
			if hi < 1 {
				p.empty = true
				return
			}
			if hi < math.MaxUint64 {
				p.hi = min(p.hi, uint64(hi))
			}
		}
		p.empty = p.empty || p.lo > p.hi
	case colCreatedAt:
		tv, _, err := typeDatetime.Convert(ctx, v)
		tm, ok := tv.(time.Time)
		if err != nil || !ok {
			return
		}
		tm = time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), time.UTC)
		if greater {
			if p.timeLo.IsZero() || tm.After(p.timeLo) || (tm.Equal(p.timeLo) && strict) {
				p.timeLo, p.timeLoOpen = tm, strict
			}
		} else {
			if p.timeHi.IsZero() || tm.Before(p.timeHi) || (tm.Equal(p.timeHi) && strict) {
				p.timeHi, p.timeHiOp = tm, strict
			}
		}
	}
}

func toFloat(ctx *sql.Context, v any) (float64, bool) {
	f, _, err := types.Float64.Convert(ctx, v)
	if err != nil {
		return 0, false
	}
	x, ok := f.(float64)
	return x, ok && !math.IsNaN(x)
}

func stringValues(ctx *sql.Context, vals []any) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// intersectNames intersects two sorted lists; nil means "no constraint".
func intersectNames(have, add []string) []string {
	if have == nil {
		return add
	}
	out := []string{}
	for _, n := range add {
		if _, found := slices.BinarySearch(have, n); found {
			out = append(out, n)
		}
	}
	return out
}

// planIndex carries a scanPlan through GMS's IndexLookup. Its column
// and ranges only show the plan in EXPLAIN (index: [t.stream], filters:
// [{[s-1, s-1]}, ...]); reads use the plan itself.
type planIndex struct {
	db, table string
	plan      *scanPlan
}

var _ sql.Index = (*planIndex)(nil)

// column is the index the plan reads by.
func (i *planIndex) column() (string, sql.Type) {
	switch {
	case i.plan.streams != nil:
		return "stream", typeName
	case i.plan.types != nil:
		return "event_type", typeName
	}
	return "position", types.Uint64
}

// ranges lists the plan's keys: its streams, its types, or its position
// range (created_at bounds become positions only when the query runs).
func (i *planIndex) ranges() sql.MySQLRangeCollection {
	_, typ := i.column()
	names := i.plan.streams
	if names == nil {
		names = i.plan.types
	}
	if names == nil {
		return sql.MySQLRangeCollection{{sql.ClosedRangeColumnExpr(i.plan.lo, i.plan.hi, typ)}}
	}
	out := make(sql.MySQLRangeCollection, len(names))
	for k, n := range names {
		out[k] = sql.MySQLRange{sql.ClosedRangeColumnExpr(n, n, typ)}
	}
	return out
}

func (i *planIndex) ID() string       { return "eventsql_scan" }
func (i *planIndex) Database() string { return i.db }
func (i *planIndex) Table() string    { return i.table }
func (i *planIndex) Expressions() []string {
	col, _ := i.column()
	return []string{i.table + "." + col}
}
func (i *planIndex) IsUnique() bool                             { return false }
func (i *planIndex) IsSpatial() bool                            { return false }
func (i *planIndex) IsFullText() bool                           { return false }
func (i *planIndex) IsVector() bool                             { return false }
func (i *planIndex) Comment() string                            { return i.plan.String() }
func (i *planIndex) IndexType() string                          { return "EVENTSQL" }
func (i *planIndex) IsGenerated() bool                          { return true }
func (i *planIndex) PrefixLengths() []uint16                    { return nil }
func (i *planIndex) CanSupport(*sql.Context, ...sql.Range) bool { return true }
func (i *planIndex) CanSupportOrderBy(sql.Expression) bool      { return false }
func (i *planIndex) ColumnExpressionTypes(*sql.Context) []sql.ColumnExpressionType {
	col, typ := i.column()
	return []sql.ColumnExpressionType{{Expression: i.table + "." + col, Type: typ}}
}

// readStream opens stream s for a plan that reads streams, reading only
// what can be in the table: the events of a by_type table's type (or of
// the plan's one event type), nothing of a stream outside a by_category
// table's category. nil when there is nothing to read.
func (t *eventsTable) readStream(ctx context.Context, plan *scanPlan, s string) (*engine.EventIterator, error) {
	if t.scope == scopeCategory && engine.Category(s) != t.scopeName {
		return nil, nil
	}
	// A missing stream is no rows: its state need not be read.
	opts := engine.ReadOptions{SkipExistenceCheck: true}
	switch {
	case t.scope == scopeType:
		opts.EventType = t.scopeName
	case len(plan.types) == 1:
		opts.EventType = plan.types[0]
	}
	it, err := t.fe.store.ReadStream(ctx, s, 0, opts)
	if errors.Is(err, engine.ErrStreamNotFound) || errors.Is(err, engine.ErrStreamDeleted) || errors.Is(err, engine.ErrInvalidInput) {
		return nil, nil
	}
	return it, err
}
