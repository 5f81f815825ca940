package sqlfront

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/vitess/go/mysql"
)

const ruleNoUserChanges analyzer.RuleId = 10_007

// noUserChangesRule refuses the statements that change users, roles and
// privileges before they run. Users come from eventsql's configuration
// (--user, --users-file); GMS used to apply such a statement to its
// in-memory tables and only then fail to save it, so "CREATE USER" or
// "GRANT" answered an error yet took effect for SQL logins until the next
// restart, and a reader's "ALTER USER ... IDENTIFIED BY" changed their SQL
// password (not their HTTP one).
func (fe *Front) noUserChangesRule(_ *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	switch n.(type) {
	case *plan.CreateUser, *plan.AlterUser, *plan.DropUser, *plan.RenameUser,
		*plan.CreateRole, *plan.DropRole,
		*plan.Grant, *plan.GrantRole, *plan.GrantProxy, *plan.Revoke, *plan.RevokeRole, *plan.RevokeProxy,
		*plan.FlushPrivileges:
		return nil, transform.SameTree, mysql.NewSQLError(erOptionPreventsStatement, "HY000",
			"users and privileges are configured with --user / --users-file (eventsql serve), not with SQL; nothing was changed")
	}
	return n, transform.SameTree, nil
}
