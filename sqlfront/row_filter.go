package sqlfront

import (
	"slices"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"

	"github.com/eventsql/eventsql/engine"
)

// rowFilter is the part of a WHERE clause on one event table that eventsql
// evaluates on events itself, before (or instead of) building GMS rows:
// the conjuncts that compile to Go comparisons over a mini-row of the
// columns they read (native_pred.go). The others are left out; whoever
// uses a rowFilter gets a superset of the rows the whole clause keeps.
type rowFilter struct {
	t     *eventsTable
	cols  []int            // schema index per mini-row slot
	fast  []fastPred       // over the mini-row
	exprs []sql.Expression // the conjuncts compiled, as written
}

// compileRowFilter keeps the conjuncts that reference only t's columns
// and compile; skip leaves out conjuncts on some columns (schema
// indexes). nil when none is kept. node is the plan's source of t's rows
// (a table, an alias of one, an index access): a column is t's when its
// id is one of node's; columns without ids (none of node's) are matched
// by the table name or one of names.
func compileRowFilter(ctx *sql.Context, t *eventsTable, node plan.TableIdNode, names []string, conjuncts []sql.Expression, skip func(col int) bool) *rowFilter {
	b := &aggBuilder{t: t, names: map[string]bool{strings.ToLower(t.name): true}}
	for _, n := range names {
		b.names[strings.ToLower(n)] = true
	}
	if node != nil {
		if cols := node.Columns(); !cols.Empty() {
			b.owns = func(gf *expression.GetField) bool { return cols.Contains(gf.Id()) }
		}
	}
	f := &rowFilter{t: t}
	colType := func(slot int) sql.Type { return t.schema[b.cols[slot]].Type }
	for _, c := range conjuncts {
		if skip != nil && usesOnly(ctx, c, func(gf *expression.GetField) bool { return skip(colIndex(t.schema, gf.Name())) }) {
			continue
		}
		had := len(b.cols)
		re, ok := b.rewrite(ctx, c)
		var fast []fastPred
		if ok {
			fast, ok = compileConjunct(ctx, re, colType)
		}
		if !ok {
			b.cols = b.cols[:had]
			continue
		}
		f.fast = append(f.fast, fast...)
		f.exprs = append(f.exprs, c)
	}
	if len(f.fast) == 0 {
		return nil
	}
	f.cols = slices.Clip(b.cols)
	return f
}

// usesOnly reports whether every column e reads satisfies ok (and it reads
// at least one).
func usesOnly(ctx *sql.Context, e sql.Expression, ok func(*expression.GetField) bool) bool {
	some, all := false, true
	sql.Inspect(ctx, e, func(_ *sql.Context, e sql.Expression) bool {
		if gf, isGF := e.(*expression.GetField); isGF {
			some = true
			all = all && ok(gf)
		}
		return true
	})
	return some && all
}

// String lists the conjuncts (EXPLAIN).
func (f *rowFilter) String() string {
	s := make([]string, len(f.exprs))
	for i, e := range f.exprs {
		s[i] = e.String()
	}
	return strings.Join(s, " AND ")
}

// rowMatcher evaluates a rowFilter on events. Not safe for concurrent use.
type rowMatcher struct {
	f   *rowFilter
	dec *miniDecoder
	row sql.Row
}

func (f *rowFilter) matcher() *rowMatcher {
	return &rowMatcher{f: f, dec: newMiniDecoder(f.t, f.cols), row: make(sql.Row, len(f.cols))}
}

// match reports whether e may satisfy the filter.
func (m *rowMatcher) match(e *engine.RecordedEvent) bool {
	m.dec.fill(m.row, e)
	return m.f.matchRow(m.row)
}

// matchRow reports whether a mini-row passes every compiled conjunct.
func (f *rowFilter) matchRow(row sql.Row) bool {
	for i := range f.fast {
		if !f.fast[i].match(row) {
			return false
		}
	}
	return true
}
