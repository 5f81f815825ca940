package sqlfront

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// ruleSubqueryReads is the id of subqueryReadsRule.
const ruleSubqueryReads analyzer.RuleId = 10_008

// subqueryReadsRule gives every subquery expression (a scalar subquery,
// EXISTS, IN) the subqueryBuilder. GMS evaluates one by building its
// plan's iterator and reading it (plan.Subquery's evalMultiple and
// HasResultRow), and when a read fails (--query-timeout, KILL QUERY, a
// client gone, an expression's error, the memory limit) it returns the
// error without closing the iterator: the engine's iterators under it
// kept the store's read lock, and the store could no longer close
// (server shutdown hung). GMS sets each subquery's builder when it
// finalizes subqueries, before this post-analysis rule runs.
func (fe *Front) subqueryReadsRule(ctx *sql.Context, a *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	return withSubqueryBuilder(ctx, n, subqueryBuilder{base: a.ExecBuilder})
}

// withSubqueryBuilder sets b on the subquery expressions of n, theirs
// included.
func withSubqueryBuilder(ctx *sql.Context, n sql.Node, b subqueryBuilder) (sql.Node, transform.TreeIdentity, error) {
	return transform.NodeExprsWithOpaque(ctx, n, func(ctx *sql.Context, e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
		sq, ok := e.(*plan.Subquery)
		if !ok {
			return e, transform.SameTree, nil
		}
		q, same, err := withSubqueryBuilder(ctx, sq.Query, b)
		if err != nil {
			return nil, transform.SameTree, err
		}
		if !same {
			sq = sq.WithQuery(q)
		}
		return sq.WithExecBuilder(b), transform.NewTree, nil
	})
}

// subqueryBuilder builds a subquery expression's iterator as GMS's
// builder does, under an endClosingIter: the iterator is closed when it
// fails, as when it ends.
type subqueryBuilder struct {
	base sql.NodeExecBuilder
}

var _ sql.NodeExecBuilder = subqueryBuilder{}

func (b subqueryBuilder) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	iter, err := b.base.Build(ctx, n, row)
	if err != nil {
		return nil, err
	}
	return &endClosingIter{child: iter}, nil
}
