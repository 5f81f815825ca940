package sqlfront

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// ruleKeepAliases is the id of the rule that puts back table aliases
// GMS drops when it uses our own index plan.
const ruleKeepAliases analyzer.RuleId = 10_005

// installKeepAliases runs keepAliasesRule in GMS's once-after batch
// right before finalizeSubqueries: GMS's costedIndexScans replaces
// Filter(TableAlias(o, events)) by Filter(IndexedTableAccess(events))
// when the table plans its own lookup (LookupForExpressions), losing the
// alias. Queries still run (columns are bound by id), but subqueries
// look for the outer tables they can look up by under their names: with
// `o` gone, `(SELECT COUNT(*) FROM by_type.PaymentReceived p WHERE
// p.stream = o.stream)` read every payment per outer row instead of
// looking up o's stream. Returns false if the batch is not found (a GMS
// upgrade moved it): queries stay correct, only slower.
func (fe *Front) installKeepAliases(a *analyzer.Analyzer) bool {
	for _, b := range a.Batches {
		if b.Desc != "once-after" {
			continue
		}
		for i, r := range b.Rules {
			if r.Id.String() == "finalizeSubqueries" {
				b.Rules = append(b.Rules[:i:i], append([]analyzer.Rule{{Id: ruleKeepAliases, Apply: fe.keepAliasesRule}}, b.Rules[i:]...)...)
				return true
			}
		}
	}
	return false
}

// keepAliasesRule wraps an IndexedTableAccess of one of our event tables
// back in the alias its filter names.
func (fe *Front) keepAliasesRule(ctx *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	return transform.Node(ctx, n, func(ctx *sql.Context, n sql.Node) (sql.Node, transform.TreeIdentity, error) {
		f, ok := n.(*plan.Filter)
		if !ok {
			return n, transform.SameTree, nil
		}
		ita, ok := f.Child.(*plan.IndexedTableAccess)
		if !ok {
			return n, transform.SameTree, nil
		}
		if _, ours := ita.Index().(*planIndex); !ours {
			return n, transform.SameTree, nil
		}
		// The qualifier may be the table's own name in lower case (GMS
		// lower-cases qualifiers): subqueries compare it with the outer
		// columns' source case-sensitively, so the alias is set then too.
		alias := filterQualifier(ctx, f.Expression)
		if alias == "" || alias == ita.Name() {
			return n, transform.SameTree, nil
		}
		nf, err := f.WithChildren(ctx, plan.NewTableAlias(alias, ita))
		if err != nil {
			return n, transform.SameTree, err
		}
		return nf, transform.NewTree, nil
	})
}

// filterQualifier is the one table name the columns of a filter on a
// single table are qualified with ("" if none or several).
func filterQualifier(ctx *sql.Context, e sql.Expression) string {
	name, several := "", false
	sql.Inspect(ctx, e, func(_ *sql.Context, e sql.Expression) bool {
		if _, ok := e.(*plan.Subquery); ok {
			return false // its columns are its own tables'
		}
		gf, ok := e.(*expression.GetField)
		if !ok || gf.Table() == "" {
			return true
		}
		switch {
		case name == "":
			name = gf.Table()
		case !strings.EqualFold(name, gf.Table()):
			several = true
		}
		return true
	})
	if several {
		return ""
	}
	return name
}
