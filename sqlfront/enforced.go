package sqlfront

import (
	"slices"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// enforcedFilters builds the iterators of queries (GMS's exec builder
// asks it first, see New) and handles one case itself: a Filter over an
// event table's index read (our scanPlan, lookup.go). It drops the
// conjuncts that every event the read returns satisfies — a position
// comparison whose range holds the plan's, a stream = / IN that lists
// every stream the plan reads, an event_type = / IN that lists every type
// it reads by — and filters by the rest, if any. GMS keeps every WHERE
// conjunct above the read (the table's PreciseMatch is false) and
// evaluates it on every row: for position BETWEEN, ~1 µs a row, a third
// of a 100-row range query's result work.
//
// It decides from the plan the read uses, not from where the plan came
// from, so a conjunct is dropped only when the read makes it true. It
// works on the plan being executed rather than in an analyzer rule: GMS
// runs no custom rules for simple SELECTs (a Project over a Filter over a
// table), and the native aggregates (native_agg.go) read the conjuncts of
// the filters they replace.
//
// For the same reason it also gives the scan its filter (scan_filter.go)
// when scanFilters is set and the analyzer rule did not run: a simple
// SELECT's remaining conjuncts that the scan can check itself
// (`amount > 100`, `customer = ?`) then drop events before a row is built.
type enforcedFilters struct {
	base        *rowexec.BaseBuilder
	scanFilters bool
	next        sql.NodeExecBuilder // for other nodes
}

var _ sql.NodeExecBuilder = enforcedFilters{}

// Build returns the iterator of a Filter with enforced conjuncts; nil
// (GMS builds it) for any other node.
func (b enforcedFilters) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	f, ok := n.(*plan.Filter)
	if !ok {
		if b.next == nil {
			return nil, nil
		}
		return b.next.Build(ctx, n, row)
	}
	keep, dropped := unenforced(ctx, f)
	if !dropped {
		keep = expression.SplitConjunction(ctx, f.Expression)
	}
	child := f.Child
	if b.scanFilters && len(keep) > 0 {
		c, err := withScanFilter(ctx, child, keep, nil)
		if err != nil {
			return nil, err
		}
		if c != nil {
			child = c
		}
	}
	if !dropped && child == f.Child {
		return nil, nil
	}
	iter, err := b.base.Build(ctx, child, row)
	if err != nil || len(keep) == 0 {
		return iter, err
	}
	return plan.NewFilterIter(expression.JoinAnd(keep...), iter), nil
}

// unenforced returns the conjuncts of f the read below it does not
// enforce; ok is false when it enforces none (or f is not over an event
// table's index read).
func unenforced(ctx *sql.Context, f *plan.Filter) (keep []sql.Expression, ok bool) {
	child := f.Child
	if ta, isAlias := child.(*plan.TableAlias); isAlias { // put back by alias_rule.go
		child = ta.Child
	}
	ita, ok := child.(*plan.IndexedTableAccess)
	if !ok || !ita.IsStatic() {
		return nil, false
	}
	t, ok := ita.UnderlyingTable().(*eventsTable)
	if !ok {
		return nil, false
	}
	pi, ok := ita.Index().(*planIndex)
	if !ok || pi.plan.empty {
		return nil, false
	}
	conj := expression.SplitConjunction(ctx, f.Expression)
	keep = make([]sql.Expression, 0, len(conj))
	for _, c := range conj {
		if !ownColumns(ctx, ita, c) || !t.enforced(ctx, pi.plan, c) {
			keep = append(keep, c)
		}
	}
	return keep, len(keep) < len(conj)
}

// ownColumns reports whether every column c refers to is one of ita's
// table (not, say, an outer query's in a correlated subquery).
func ownColumns(ctx *sql.Context, ita *plan.IndexedTableAccess, c sql.Expression) bool {
	own := true
	transform.InspectExpr(ctx, c, func(_ *sql.Context, e sql.Expression) bool {
		if gf, ok := e.(*expression.GetField); ok {
			if ita.Id() != 0 && gf.TableId() != 0 {
				own = gf.TableId() == ita.Id()
			} else {
				own = strings.EqualFold(gf.Table(), ita.Name())
			}
		}
		return !own
	})
	return own
}

// enforced reports whether every event read with p satisfies c.
func (t *eventsTable) enforced(ctx *sql.Context, p *scanPlan, c sql.Expression) bool {
	col, ok := t.conjunctColumn(ctx, c)
	if !ok {
		return false
	}
	switch col {
	case colPosition:
		// The range c keeps, computed as for the plan; every event read
		// has a position in [p.lo, p.hi].
		q := newScanPlan()
		t.addConjunct(ctx, q, c)
		return !q.empty && q.lo <= p.lo && p.hi <= q.hi
	case colStream:
		names, ok := conjunctNames(ctx, c)
		return ok && p.streams != nil && subset(p.streams, names)
	case colEventType:
		// A plan reads by types only without streams (newRowIter).
		names, ok := conjunctNames(ctx, c)
		return ok && p.streams == nil && p.types != nil && subset(p.types, names)
	}
	return false
}

// conjunctColumn returns the base column c compares with literals when c
// has a shape enforced can decide: position =, <, <=, >, >=, BETWEEN a
// number; stream or event_type = or IN text. Anything else (other
// operand types, NULLs, expressions) is not decided.
func (t *eventsTable) conjunctColumn(ctx *sql.Context, c sql.Expression) (int, bool) {
	var col sql.Expression
	var lits []sql.Expression
	switch c := c.(type) {
	case *expression.Equals:
		col, lits = c.Left(), []sql.Expression{c.Right()}
		if t.column(col) < 0 {
			col, lits = c.Right(), []sql.Expression{c.Left()}
		}
	case *expression.Between:
		col, lits = c.Val, []sql.Expression{c.Lower, c.Upper}
	case *expression.GreaterThan, *expression.GreaterThanOrEqual, *expression.LessThan, *expression.LessThanOrEqual:
		b := c.(binaryExpr)
		col, lits = b.Left(), []sql.Expression{b.Right()}
		if t.column(col) < 0 {
			col, lits = b.Right(), []sql.Expression{b.Left()}
		}
	case *expression.InTuple, *expression.HashInTuple:
		b := c.(binaryExpr)
		tup, ok := b.Right().(expression.Tuple)
		if !ok {
			return -1, false
		}
		col, lits = b.Left(), tup
	default:
		return -1, false
	}
	n := t.column(col)
	if n < 0 {
		return -1, false
	}
	isIn := isInTuple(c)
	for _, l := range lits {
		lit, ok := l.(*expression.Literal)
		if !ok || lit.Value() == nil {
			return -1, false
		}
		switch n {
		case colPosition:
			if isIn || !types.IsNumber(lit.Type(ctx)) {
				return -1, false
			}
		case colStream, colEventType:
			if _, ok := lit.Value().(string); !ok {
				return -1, false
			}
			if _, ok := c.(*expression.Equals); !ok && !isIn {
				return -1, false
			}
		default:
			return -1, false
		}
	}
	return n, true
}

// isInTuple reports whether c is col IN (...), hashed or not.
func isInTuple(c sql.Expression) bool {
	switch c.(type) {
	case *expression.InTuple, *expression.HashInTuple:
		return true
	}
	return false
}

// binaryExpr is a comparison's two operands.
type binaryExpr interface {
	Left() sql.Expression
	Right() sql.Expression
}

// conjunctNames returns the text literals of a stream / event_type = or
// IN conjunct (conjunctColumn checked its shape).
func conjunctNames(ctx *sql.Context, c sql.Expression) ([]string, bool) {
	b := c.(binaryExpr)
	lits := []sql.Expression{b.Left(), b.Right()}
	if isInTuple(c) {
		lits = b.Right().(expression.Tuple)
	}
	var names []string
	for _, l := range lits {
		if lit, ok := l.(*expression.Literal); ok {
			v, ok := literal(ctx, lit)
			s, isText := v.(string)
			if !ok || !isText {
				return nil, false
			}
			names = append(names, s)
		}
	}
	return names, len(names) > 0
}

// subset reports whether every name in have is in names.
func subset(have, names []string) bool {
	for _, n := range have {
		if !slices.Contains(names, n) {
			return false
		}
	}
	return true
}
