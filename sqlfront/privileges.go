package sqlfront

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/vitess/go/mysql"
)

// erSpecificAccessDenied is MySQL's ER_SPECIFIC_ACCESS_DENIED_ERROR.
const erSpecificAccessDenied = 1227

// denyGlobalSetsRule stops users who are not admins from changing global
// system variables (SET GLOBAL / SET PERSIST): GMS lets any user do it,
// and a reader could then, say, set max_connections to 1.
func (fe *Front) denyGlobalSetsRule(ctx *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	var denied string
	transform.Inspect(n, func(n sql.Node) bool {
		set, ok := n.(*plan.Set)
		if !ok {
			return true
		}
		for _, e := range set.Exprs {
			sf, ok := e.(*expression.SetField)
			if !ok {
				continue
			}
			sv, ok := sf.LeftChild.(*expression.SystemVar)
			if !ok {
				continue
			}
			if scope, ok := sv.Scope.(*sql.MysqlScope); ok && scope.Type != sql.SystemVariableScope_Session {
				denied = sv.Name
				return false
			}
		}
		return true
	})
	if denied == "" || fe.isAdmin(ctx) {
		return n, transform.SameTree, nil
	}
	return nil, transform.SameTree, mysql.NewSQLError(erSpecificAccessDenied, "42000",
		"Access denied; you need admin rights to set the global variable %s (SET SESSION changes only your connection)", denied)
}

// isAdmin reports whether the session's user is an eventsql admin.
func (fe *Front) isAdmin(ctx *sql.Context) bool {
	return fe.admins[ctx.Session.Client().User]
}
