package sqlfront

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// ruleScanFilters is the id of the rule that hands WHERE conjuncts to the
// event tables' scans (after ruleNativeAggregates).
const ruleScanFilters analyzer.RuleId = 10_004

// scanFilterRule gives each event table under a Filter the conjuncts it
// can evaluate itself (a rowFilter: comparisons, IN, BETWEEN, IS NULL of
// its columns with constants). Its scan then drops events that fail them
// before building a row, which is most of the work when the filter is
// selective: the outer side of `... JOIN ... WHERE o.customer = ?` reads
// every order but builds a row for a handful. The Filter node stays, so
// GMS still checks every row it gets (and every conjunct the scan could
// not take); the scan only has to return a superset. It runs after GMS's
// rules, when joins are planned, so it applies to lookup joins' inner
// tables too. (GMS runs no custom rule on a "simple select", a Filter
// right over an unaliased table: there GMS filters alone.)
// Options.DisableNativeAggregates turns it off with the native
// aggregates.
func (fe *Front) scanFilterRule(ctx *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	if fe.opts.DisableNativeAggregates {
		return n, transform.SameTree, nil
	}
	return transform.Node(ctx, n, func(ctx *sql.Context, n sql.Node) (sql.Node, transform.TreeIdentity, error) {
		f, ok := n.(*plan.Filter)
		if !ok {
			return n, transform.SameTree, nil
		}
		child, err := withScanFilter(ctx, f.Child, expression.SplitConjunction(ctx, f.Expression), nil)
		if err != nil || child == nil {
			return n, transform.SameTree, err
		}
		out, err := f.WithChildren(ctx, child)
		if err != nil {
			return nil, transform.SameTree, err
		}
		return out, transform.NewTree, nil
	})
}

// withScanFilter returns n (a table, or an alias of one) reading with the
// conjuncts it can take, or nil when it takes none. node is the alias,
// whose columns the conjuncts reference, when there is one.
func withScanFilter(ctx *sql.Context, n sql.Node, conjuncts []sql.Expression, node plan.TableIdNode) (sql.Node, error) {
	switch n := n.(type) {
	case *plan.TableAlias:
		child, err := withScanFilter(ctx, n.Child, conjuncts, n)
		if err != nil || child == nil {
			return nil, err
		}
		return n.WithChildren(ctx, child)
	case *plan.ResolvedTable:
		t, ok := n.UnderlyingTable().(*eventsTable)
		if !ok || t.filter != nil {
			return nil, nil
		}
		if node == nil {
			node = n
		}
		f := compileRowFilter(ctx, t, node, []string{node.Name()}, conjuncts, nil)
		if f == nil {
			return nil, nil
		}
		c := *t
		c.filter = f
		return n.WithTable(ctx, &c)
	case *plan.IndexedTableAccess:
		t, ok := n.Table.(*eventsTable)
		if !ok || t.filter != nil {
			return nil, nil
		}
		if node == nil {
			node = n
		}
		f := compileRowFilter(ctx, t, node, []string{node.Name()}, conjuncts, nil)
		if f == nil {
			return nil, nil
		}
		c := *t
		c.filter = f
		ita := *n
		ita.Table = &c
		return &ita, nil
	}
	return nil, nil
}
