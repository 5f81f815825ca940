package sqlfront

import (
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
)

// explainBuilder answers plain EXPLAIN (MySQL's table form, which BI
// tools and `mysql` users type) with real rows: GMS answers it with one
// placeholder row whose numeric columns hold the text "NULL", which
// MySQL drivers reject ("parsing NULL: invalid syntax"). The rows name
// each table read, the index used, how (MySQL's access types) and an
// estimate of the rows read. EXPLAIN FORMAT=TREE (and EXPLAIN PLAN)
// keep GMS's plan tree, with more detail. GMS's analyzer never hands
// the EXPLAIN node to analyzer rules (only the query under it), so this
// is the executor's priority builder: it builds that node and leaves
// every other to next (then GMS).
type explainBuilder struct {
	fe   *Front
	next sql.NodeExecBuilder
}

var _ sql.NodeExecBuilder = explainBuilder{}

func (b explainBuilder) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	d, ok := n.(*plan.DescribeQuery)
	if ok && d.Format.Analyze {
		return b.analyze(ctx, d, row)
	}
	if !ok || d.Format.Plan || d.Format.Analyze || d.Format.Debug {
		if b.next == nil {
			return nil, nil
		}
		return b.next.Build(ctx, n, row)
	}
	x := &explainer{ctx: ctx, fe: b.fe}
	x.node(d.Child, 1, "SIMPLE", "", false)
	if x.nextID > 1 { // MySQL calls the outer query PRIMARY once it has others
		for _, r := range x.rows {
			if r[1] == "SIMPLE" {
				r[1] = "PRIMARY"
			}
		}
	}
	if len(x.rows) == 0 {
		x.rows = append(x.rows, sql.Row{uint64(1), "SIMPLE", nil, nil, nil, nil, nil, nil, nil, nil, nil, "No tables used"})
	}
	return sql.RowsToRowIter(x.rows...), nil
}

// analyze builds EXPLAIN ANALYZE, which runs the query to count its
// rows, with the query under an inputCloser: GMS's iterator reads the
// query's iterator to its end (or its first error) and never closes it,
// so the engine iterators of a query stopped mid-read (--query-timeout,
// KILL QUERY) or ended early by a LIMIT (EXPLAIN ANALYZE SELECT ...
// LIMIT 1) kept the store's read lock, and the store could no longer
// close.
func (b explainBuilder) analyze(ctx *sql.Context, d *plan.DescribeQuery, row sql.Row) (sql.RowIter, error) {
	if _, closed := d.Child.(*inputCloser); closed {
		return nil, nil // GMS builds it, over the closing query
	}
	nd := *d
	nd.Child = closedAtEnd(d.Child)
	return b.fe.engine.Analyzer.ExecBuilder.Build(ctx, &nd, row)
}

// explainer walks a plan and collects one row per table it reads.
type explainer struct {
	ctx    *sql.Context
	fe     *Front
	rows   []sql.Row
	nextID uint64
	// joinExtra is said of the next table added (the inner side of a
	// hash join).
	joinExtra string
}

// node visits n, a part of query id; alias names the table below a
// TableAlias, where tells whether a filter sits above it.
func (x *explainer) node(n sql.Node, id uint64, selectType, alias string, where bool) {
	if id > x.nextID {
		x.nextID = id
	}
	defer x.subqueries(n, id) // after the tables of this query
	switch n := n.(type) {
	case *plan.TableAlias:
		x.node(n.Child, id, selectType, n.Name(), where)
		return
	case *plan.Filter:
		x.node(n.Child, id, selectType, alias, true)
		return
	case *plan.IndexedTableAccess:
		x.indexed(n, id, selectType, alias, where)
		return
	case *plan.ResolvedTable:
		t := n.UnderlyingTable()
		if plan.IsDualTable(t) {
			return // SELECT without FROM
		}
		x.add(id, selectType, orName(alias, n.Name()), "ALL", possibleKeys(x.ctx, t), nil, nil, x.tableRows(t), where, "")
		return
	case *nativeAggregate:
		access, extra := "ALL", "eventsql native aggregate: parallel scan"
		if n.index != indexNone {
			access, extra = "index", "eventsql native aggregate: answered from the index"
		}
		x.add(id, selectType, orName(alias, n.t.name), access, possibleKeys(x.ctx, n.t), nil, nil, x.tableRows(n.t), len(n.filter) > 0, extra)
		return
	case *plan.JoinNode:
		x.node(n.Left(), id, selectType, "", false)
		if n.Op.IsHash() {
			x.joinExtra = "Using join buffer (hash join)"
		}
		x.node(n.Right(), id, selectType, "", false)
		x.joinExtra = ""
		return
	case *plan.SubqueryAlias:
		x.nextID++
		derived := x.nextID
		x.add(id, selectType, "<derived"+strconv.FormatUint(derived, 10)+">", "ALL", nil, nil, nil, nil, where, "")
		x.node(n.Child, derived, "DERIVED", "", false)
		return
	}
	for _, c := range n.Children() {
		x.node(c, id, selectType, "", where && len(n.Children()) == 1)
	}
}

// subqueries visits the subqueries in n's expressions.
func (x *explainer) subqueries(n sql.Node, id uint64) {
	ex, ok := n.(sql.Expressioner)
	if !ok {
		return
	}
	for _, e := range ex.Expressions() {
		sql.Inspect(x.ctx, e, func(_ *sql.Context, e sql.Expression) bool {
			if sq, ok := e.(*plan.Subquery); ok {
				kind := "SUBQUERY"
				if !sq.Correlated().Empty() {
					kind = "DEPENDENT SUBQUERY"
				}
				x.nextID++
				x.node(sq.Query, x.nextID, kind, "", false)
				return false
			}
			return true
		})
	}
}

// indexed describes a table read through an index: a plan of ours
// (LookupForExpressions), or a lookup per row of the other side of a
// join (keys from that row).
func (x *explainer) indexed(n *plan.IndexedTableAccess, id uint64, selectType, alias string, where bool) {
	name := orName(alias, n.Name())
	table := n.UnderlyingTable()
	idx := n.Index()
	possible := possibleKeys(x.ctx, table)
	if !n.IsStatic() {
		keys := make([]string, 0, len(n.Expressions()))
		for _, k := range n.Expressions() {
			keys = append(keys, k.String())
		}
		access := "ref"
		if idx.IsUnique() {
			access = "eq_ref"
		}
		x.add(id, selectType, name, access, possible, idx.ID(), strings.Join(keys, ","), x.lookupRows(idx), where, "")
		return
	}
	if pi, ok := idx.(*planIndex); ok {
		key, access, ref := x.planAccess(pi.plan)
		var rows any = nil
		if est, ok := (&coster{fe: x.fe}).scanRows(x.ctx, n); ok {
			rows = uint64(est)
		}
		extra := "eventsql: " + pi.plan.String()
		if pi.plan.empty {
			access, key, extra = "", nil, "Impossible WHERE"
		}
		x.add(id, selectType, name, access, possible, key, ref, rows, where, extra)
		return
	}
	// Another index of ours (eventsql.streams): points or ranges.
	access, ref := "range", any(nil)
	if lookup, ok, err := n.GetLookup(x.ctx, nil); err == nil && ok {
		if ranges, ok := lookup.Ranges.(sql.MySQLRangeCollection); ok && len(ranges) > 0 {
			points := true
			for _, r := range ranges {
				if _, ok := pointKey(x.ctx, r[0]); !ok || len(r) != 1 {
					points = false
				}
			}
			switch {
			case points && idx.IsUnique() && len(ranges) == 1:
				access, ref = "const", "const"
			case points:
				access, ref = "ref", "const"
			}
		}
	}
	x.add(id, selectType, name, access, possible, idx.ID(), ref, nil, where, "")
}

// planAccess names the index and access type of one of our scan plans.
func (x *explainer) planAccess(p *scanPlan) (key any, access string, ref any) {
	switch {
	case p.streams != nil:
		return "stream", "ref", "const"
	case p.types != nil:
		return "event_type", "ref", "const"
	case !p.timeLo.IsZero() || !p.timeHi.IsZero():
		return "created_at", "range", nil
	}
	return "PRIMARY", "range", nil
}

// add appends one row.
func (x *explainer) add(id uint64, selectType, table, access string, possible, key, ref, rows any, where bool, extra string) {
	var extras []string
	if where {
		extras = append(extras, "Using where")
	}
	if extra != "" {
		extras = append(extras, extra)
	}
	if x.joinExtra != "" {
		extras = append(extras, x.joinExtra)
		x.joinExtra = ""
	}
	var accessVal any = access
	if access == "" {
		accessVal = nil
	}
	filtered := any(100.0)
	if rows == nil {
		filtered = nil
	}
	x.rows = append(x.rows, sql.Row{id, selectType, table, nil, accessVal, possible, key, nil, ref, rows, filtered, strings.Join(extras, "; ")})
}

// tableRows is a table's row count when it knows it exactly.
func (x *explainer) tableRows(t sql.Table) any {
	st, ok := t.(sql.StatisticsTable)
	if !ok {
		return nil
	}
	n, exact, err := st.RowCount(x.ctx)
	if err != nil || !exact {
		return nil
	}
	return n
}

// lookupRows estimates the rows of one lookup into an event table's
// index (a stream's events, a type's events, one event).
func (x *explainer) lookupRows(idx sql.Index) any {
	ci, ok := idx.(*columnIndex)
	if !ok {
		if idx.IsUnique() {
			return uint64(1)
		}
		return nil
	}
	if ci.unique {
		return uint64(1)
	}
	st := x.fe.store.Stats()
	switch ci.col {
	case colStream:
		if st.Streams > 0 {
			return max(1, st.Events/uint64(st.Streams))
		}
	case colEventType:
		types, err := x.fe.store.EventTypes(x.ctx)
		if err == nil && len(types) > 0 {
			return max(1, st.Events/uint64(len(types)))
		}
	}
	return nil
}

// possibleKeys lists a table's indexes, comma-separated (NULL if none).
func possibleKeys(ctx *sql.Context, t sql.Table) any {
	ia, ok := t.(sql.IndexAddressable)
	if !ok {
		return nil
	}
	idxs, err := ia.GetIndexes(ctx)
	if err != nil || len(idxs) == 0 {
		return nil
	}
	ids := make([]string, len(idxs))
	for i, idx := range idxs {
		ids[i] = idx.ID()
	}
	return strings.Join(ids, ",")
}

func orName(alias, name string) string {
	if alias != "" {
		return alias
	}
	return name
}
