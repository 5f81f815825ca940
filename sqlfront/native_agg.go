package sqlfront

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/eventsql/eventsql/typeinfer"
)

// ruleNativeAggregates is the id of the rule that answers aggregates
// natively (after ruleDenyGlobalSets).
const ruleNativeAggregates analyzer.RuleId = 10_002

// nativeAggregateRule replaces a GroupBy over one event table (with an
// optional filter) by a nativeAggregate that computes the same rows from
// index counts or a parallel scan (native_scan.go). It runs after GMS's
// own rules, so the table's scanPlan (our index choice) is known. Any
// shape it does not fully understand is left to GMS unchanged.
func (fe *Front) nativeAggregateRule(ctx *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	if fe.opts.DisableNativeAggregates {
		return n, transform.SameTree, nil
	}
	return transform.Node(ctx, n, func(ctx *sql.Context, n sql.Node) (sql.Node, transform.TreeIdentity, error) {
		gb, ok := n.(*plan.GroupBy)
		if !ok {
			return n, transform.SameTree, nil
		}
		na, ok := fe.planNativeAggregate(ctx, gb)
		if !ok {
			return n, transform.SameTree, nil
		}
		return na, transform.NewTree, nil
	})
}

// aggKind is what one output column of a native aggregate computes.
type aggKind uint8

const (
	aggFirst     aggKind = iota // a plain column: its value in the group's first row (GMS's semantics)
	aggCountStar                // COUNT(*), COUNT(1)
	aggCount                    // COUNT(col): non-NULL values
	aggSum                      // SUM(col), summed as DOUBLE in row order like GMS
	aggAvg                      // AVG(col)
	aggMin                      // MIN(col)
	aggMax                      // MAX(col)
)

// aggOut is one output column.
type aggOut struct {
	kind aggKind
	col  int      // mini-row index of the argument; -1 for COUNT(*)
	typ  sql.Type // the argument's type (MIN/MAX compare with it)
}

// aggBuilder collects the columns a native aggregate reads: each
// referenced table column gets a slot in a small row ("mini-row") that
// the scan fills per event and the GMS expressions (filter, group keys)
// are evaluated against.
type aggBuilder struct {
	t     *eventsTable
	names map[string]bool // table names the query may qualify columns with
	// owns, when set, decides instead of names whether a column is the
	// table's.
	owns func(*expression.GetField) bool
	cols []int // schema index per mini-row slot
}

// slot returns the mini-row index for a GetField of the table, adding it.
func (b *aggBuilder) slot(gf *expression.GetField) (int, bool) {
	if b.owns != nil {
		if !b.owns(gf) {
			return -1, false
		}
	} else if gf.Table() != "" && !b.names[strings.ToLower(gf.Table())] {
		return -1, false
	}
	c := colIndex(b.t.schema, gf.Name())
	if c < 0 || c == colData || c == colMetadata {
		return -1, false
	}
	if c >= numBaseColumns && b.t.typed[c-numBaseColumns].kind == typeinfer.KindJSON {
		return -1, false
	}
	for i, have := range b.cols {
		if have == c {
			return i, true
		}
	}
	b.cols = append(b.cols, c)
	return len(b.cols) - 1, true
}

// rewrite checks that e uses only expressions safe and cheap to evaluate
// concurrently on a mini-row, and points its GetFields at mini-row slots.
func (b *aggBuilder) rewrite(ctx *sql.Context, e sql.Expression) (sql.Expression, bool) {
	ok := true
	transform.InspectExpr(ctx, e, func(_ *sql.Context, e sql.Expression) bool {
		switch e.(type) {
		case *expression.GetField, *expression.Literal, expression.Tuple,
			*expression.Equals, *expression.NullSafeEquals,
			*expression.GreaterThan, *expression.GreaterThanOrEqual,
			*expression.LessThan, *expression.LessThanOrEqual,
			*expression.And, *expression.Or, *expression.Not,
			*expression.InTuple, *expression.HashInTuple, *expression.Between,
			*expression.IsNull, *function.Date:
		default:
			ok = false
		}
		return !ok
	})
	if !ok {
		return nil, false
	}
	out, _, err := transform.Expr(ctx, e, func(_ *sql.Context, e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
		gf, isGF := e.(*expression.GetField)
		if !isGF {
			return e, transform.SameTree, nil
		}
		i, found := b.slot(gf)
		if !found {
			return nil, transform.SameTree, fmt.Errorf("column %s not native", gf.Name())
		}
		return gf.WithIndex(i), transform.NewTree, nil
	})
	return out, err == nil
}

// planNativeAggregate recognises GroupBy → [Filter] → [TableAlias] →
// table or static indexed access over an event table.
func (fe *Front) planNativeAggregate(ctx *sql.Context, gb *plan.GroupBy) (*nativeAggregate, bool) {
	child := gb.Child
	var filter sql.Expression
	if f, ok := child.(*plan.Filter); ok {
		filter, child = f.Expression, f.Child
	}
	names := map[string]bool{}
	if ta, ok := child.(*plan.TableAlias); ok {
		names[strings.ToLower(ta.Name())] = true
		child = ta.Child
	}
	var t *eventsTable
	switch c := child.(type) {
	case *plan.ResolvedTable:
		t, _ = c.UnderlyingTable().(*eventsTable)
	case *plan.IndexedTableAccess:
		if c.Typ != plan.ItaTypeStatic {
			return nil, false
		}
		t, _ = c.Table.(*eventsTable)
		names[strings.ToLower(c.Name())] = true
	}
	if t == nil {
		return nil, false
	}
	names[strings.ToLower(t.name)] = true
	b := &aggBuilder{t: t, names: names}
	n := &nativeAggregate{fe: fe, t: t, plan: t.plan, schema: gb.Schema(ctx), deps: gb.SelectDeps}

	hasAgg := false
	for _, dep := range gb.SelectDeps {
		e := dep
		if a, ok := e.(*expression.Alias); ok {
			e = a.Child
		}
		out, ok := b.output(e)
		if !ok {
			return nil, false
		}
		hasAgg = hasAgg || out.kind != aggFirst
		n.outs = append(n.outs, out)
	}
	if !hasAgg {
		return nil, false
	}
	for _, g := range gb.GroupByExprs {
		if a, ok := g.(*expression.Alias); ok {
			g = a.Child
		}
		switch g := g.(type) {
		case *expression.GetField:
		case *function.Date:
			if _, ok := g.Child.(*expression.GetField); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
		re, ok := b.rewrite(ctx, g)
		if !ok {
			return nil, false
		}
		n.groups = append(n.groups, re)
	}
	if len(n.groups) == 1 {
		if gf, ok := n.groups[0].(*expression.GetField); ok && types.IsText(gf.Type(ctx)) {
			n.groupSlot = gf.Index()
		} else {
			n.groupSlot = -1
		}
	} else {
		n.groupSlot = -1
	}
	if filter != nil {
		for _, c := range expression.SplitConjunction(ctx, filter) {
			re, ok := b.rewrite(ctx, c)
			if !ok {
				return nil, false
			}
			n.filter = append(n.filter, re)
		}
	}
	n.cols = b.cols
	colType := func(slot int) sql.Type { return t.schema[b.cols[slot]].Type }
	for _, f := range n.filter {
		if fp, ok := compileConjunct(ctx, f, colType); ok {
			n.fast = append(n.fast, fp...)
		} else {
			n.slow = append(n.slow, f)
		}
	}
	// GMS expressions may write warnings to the session, which is not
	// safe from two goroutines: a plan that needs them scans on one.
	n.parallel = len(n.slow) == 0
	for _, g := range n.groups {
		k := newGroupKey(ctx, g)
		n.keys = append(n.keys, k)
		n.parallel = n.parallel && (k.day || k.slot >= 0)
	}
	n.index, n.indexTypes = n.indexMode(ctx)
	return n, true
}

// output turns one GroupBy select expression into an aggOut.
func (b *aggBuilder) output(e sql.Expression) (aggOut, bool) {
	arg := func(e sql.Expression, numeric bool) (aggOut, bool) {
		gf, ok := e.(*expression.GetField)
		if !ok {
			return aggOut{}, false
		}
		i, ok := b.slot(gf)
		if !ok {
			return aggOut{}, false
		}
		typ := b.t.schema[b.cols[i]].Type
		if numeric && !types.IsNumber(typ) {
			return aggOut{}, false
		}
		return aggOut{col: i, typ: typ}, true
	}
	var (
		out aggOut
		ok  bool
	)
	switch e := e.(type) {
	case *expression.GetField:
		out, ok = arg(e, false)
		out.kind = aggFirst
	case *aggregation.Count:
		if e.Window() != nil {
			return aggOut{}, false
		}
		switch c := e.Child.(type) {
		case *expression.Star:
			return aggOut{kind: aggCountStar, col: -1}, true
		case *expression.Literal:
			if c.Value() == nil {
				return aggOut{}, false
			}
			return aggOut{kind: aggCountStar, col: -1}, true
		}
		out, ok = arg(e.Child, false)
		out.kind = aggCount
	case *aggregation.Sum:
		if e.Window() != nil {
			return aggOut{}, false
		}
		out, ok = arg(e.Child, true)
		out.kind = aggSum
	case *aggregation.Avg:
		if e.Window() != nil {
			return aggOut{}, false
		}
		out, ok = arg(e.Child, true)
		out.kind = aggAvg
	case *aggregation.Min:
		if e.Window() != nil {
			return aggOut{}, false
		}
		out, ok = arg(e.Child, false)
		out.kind = aggMin
	case *aggregation.Max:
		if e.Window() != nil {
			return aggOut{}, false
		}
		out, ok = arg(e.Child, false)
		out.kind = aggMax
	}
	return out, ok
}
