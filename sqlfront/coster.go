package sqlfront

import (
	"math"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/memo"
	"github.com/dolthub/go-mysql-server/sql/plan"
)

// Costs in units of one row read by a scan (decoded, typed columns
// filled, handed to GMS). A lookup seeks the index and reads its events
// elsewhere in the log; most are only checked against the table's scope
// (a stream's other types), which is cheaper than building a row but
// may fault a page in. Calibrated at 1M events (bench/sqlbench): one
// stream lookup of ~17 events ≈ 25 scanned rows.
const (
	costSeek       = 10.0 // an index seek (Pebble posting read, iterator set-up)
	costRandomRead = 1.0  // an event read by a lookup
	costHashBuild  = 2.0  // keeping a row in a hash table, on top of reading it
	costRowOut     = 0.01 // producing a joined row
)

// coster prices joins for GMS's memo with eventsql's own row estimates.
// GMS's default coster believes an index scan returns one row (the
// statistic it memoizes for a LookupForExpressions plan) and prices a
// lookup like 2.3 scanned rows, so it would look up every row of a
// whole by_type table stream by stream — 20–60× slower than hashing it.
// Here the rows of our own plans are estimated from the index counts
// (streams, types, position ranges), and a lookup into an event table
// costs a seek plus its events read at random: a lookup join wins when
// the outer side is a few percent of the inner table or less.
// Everything but joins is left to GMS's coster.
type coster struct {
	fe   *Front
	base memo.Coster
}

var _ memo.Coster = (*coster)(nil)

func (c *coster) EstimateCost(ctx *sql.Context, n memo.RelExpr, s sql.StatsProvider) (float64, error) {
	j, ok := n.(memo.JoinRel)
	if !ok {
		return c.base.EstimateCost(ctx, n, s)
	}
	jp := j.JoinPrivate()
	l, lg := c.rows(ctx, jp.Left)
	r, rg := c.rows(ctx, jp.Right)
	// GMS's estimate of the join's rows, rescaled to our input estimates
	// and capped by the cross product (GMS's can overflow).
	card := math.Max(1, math.Min(l*r, float64(n.Group().RelProps.GetStats().RowCount())*(l/lg)*(r/rg)))

	switch n := n.(type) {
	case *memo.LookupJoin:
		return l*c.lookupCost(ctx, n.Lookup) + card*costRowOut, nil
	case *memo.ConcatJoin:
		cost := card * costRowOut
		for _, is := range n.Concat {
			cost += l * c.lookupCost(ctx, is)
		}
		return cost, nil
	}
	switch op := jp.Op; {
	case op.IsHash() && op.IsPartial():
		return l + r*(1+costHashBuild) + l*costRowOut, nil
	case op.IsHash():
		return l + r*(1+costHashBuild) + card*costRowOut, nil
	case op.IsMerge():
		return l + r + card*costRowOut, nil
	case op.IsRange():
		return l + r + l*r*0.5*costRowOut, nil
	case op.IsDegenerate(), op.IsFullOuter():
		return 2 * (l + l*r + l*r*costRowOut), nil
	default: // nested loops: the right side is read again per left row
		return l + l*r + l*r*costRowOut, nil
	}
}

// rows estimates what a memo group returns: ours for our index scans and
// for filters over event tables, GMS's statistic otherwise (which is
// exact for whole event tables: RowCount). It also returns GMS's figure,
// at least 1.
func (c *coster) rows(ctx *sql.Context, g *memo.ExprGroup) (ours, gms float64) {
	gms = math.Max(1, float64(g.RelProps.GetStats().RowCount()))
	switch rel := best(g).(type) {
	case *memo.IndexScan:
		if n, ok := c.scanRows(ctx, rel.Table); ok {
			return n, gms
		}
	case *memo.Filter:
		// Conjuncts on the indexed columns were used by our plan (an
		// IndexScan below) or could not be; the others are sampled.
		child := best(rel.Child)
		t, node := sourceTable(child)
		var n float64
		var ok bool
		if is, isScan := child.(*memo.IndexScan); isScan {
			n, ok = c.scanRows(ctx, is.Table)
		} else if t != nil {
			total, _, err := c.fe.countInScope(ctx, t.scope, t.scopeName)
			n, ok = float64(total), err == nil
		}
		if !ok {
			break
		}
		if t != nil {
			if f := compileRowFilter(ctx, t, node, []string{node.Name()}, rel.Filters, indexedColumn); f != nil {
				if sel, err := c.fe.selectivity(ctx, t, f); err == nil {
					n *= sel
				}
			}
		}
		return math.Max(1, n), gms
	}
	return gms, gms
}

// best is the group's chosen expression, or its first before costing.
func best(g *memo.ExprGroup) memo.RelExpr {
	if g.Best != nil {
		return g.Best
	}
	return g.First
}

// indexedColumn: conjuncts on these columns are our plans' business.
func indexedColumn(col int) bool {
	return col == colPosition || col == colStream || col == colEventType || col == colCreatedAt
}

// sourceTable returns the event table a memo source reads and the plan
// node its columns belong to; nil for anything else.
func sourceTable(rel memo.RelExpr) (*eventsTable, plan.TableIdNode) {
	switch rel := rel.(type) {
	case *memo.TableAlias:
		if rt, ok := rel.Table.Child.(*plan.ResolvedTable); ok {
			if t, ok := rt.UnderlyingTable().(*eventsTable); ok {
				return t, rel.Table
			}
		}
	case *memo.TableScan:
		if rt, ok := rel.Table.(*plan.ResolvedTable); ok {
			if t, ok := rt.UnderlyingTable().(*eventsTable); ok {
				return t, rt
			}
		}
	case *memo.IndexScan:
		if t, ok := rel.Table.Table.(*eventsTable); ok {
			return t, rel.Table
		}
	}
	return nil, nil
}

// scanRows estimates the events a LookupForExpressions plan reads.
func (c *coster) scanRows(ctx *sql.Context, ita *plan.IndexedTableAccess) (float64, bool) {
	t, ok := ita.Table.(*eventsTable)
	if !ok {
		return 0, false
	}
	pi, ok := ita.Index().(*planIndex)
	if !ok {
		return 0, false
	}
	p := pi.plan
	if p.empty {
		return 1, true
	}
	total, _, err := t.fe.countInScope(ctx, t.scope, t.scopeName)
	if err != nil {
		return 0, false
	}
	st := t.fe.store.Stats()
	est := float64(total)
	if p.streams != nil && st.Streams > 0 {
		est = math.Min(est, float64(len(p.streams))*float64(total)/float64(st.Streams))
	}
	if p.types != nil {
		n := 0.0
		for _, typ := range p.types {
			c, _, err := t.fe.countInScope(ctx, scopeType, typ)
			if err != nil {
				return 0, false
			}
			n += float64(c)
		}
		est = math.Min(est, n)
	}
	if head := st.Events; head > 0 && (p.lo > 1 || p.hi < head) {
		hi := min(p.hi, head)
		frac := 0.0
		if hi >= p.lo {
			frac = float64(hi-p.lo+1) / float64(head)
		}
		est = math.Min(est, float64(total)*frac)
	}
	if !p.timeLo.IsZero() || !p.timeHi.IsZero() {
		est /= 4 // unknown until resolved to positions at run time
	}
	return math.Max(1, est), true
}

// lookupCost is what one lookup into the table of is costs.
func (c *coster) lookupCost(ctx *sql.Context, is *memo.IndexScan) float64 {
	ci, ok := is.Table.Index().(*columnIndex)
	if !ok {
		return 1 + 1.3 // GMS's own figure for a keyed read
	}
	st := c.fe.store.Stats()
	switch ci.col {
	case colStream:
		// The whole stream is read, then kept to the table's scope.
		perStream := 1.0
		if st.Streams > 0 {
			perStream = math.Max(1, float64(st.Events)/float64(st.Streams))
		}
		return costSeek + perStream*costRandomRead
	case colEventType:
		// Rare in joins: a type's events are read whole per lookup.
		types, err := c.fe.store.EventTypes(ctx)
		if err != nil || len(types) == 0 {
			return costSeek + float64(st.Events)
		}
		return costSeek + float64(st.Events)/float64(len(types))
	case colEventID:
		return 2*costSeek + 2*costRandomRead
	}
	return costSeek + costRandomRead // position
}
