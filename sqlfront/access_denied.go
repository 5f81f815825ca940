package sqlfront

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// MySQL's codes for refused access.
const (
	erDBAccessDenied    = 1044 // ER_DBACCESS_DENIED_ERROR
	erTableAccessDenied = 1142 // ER_TABLEACCESS_DENIED_ERROR
)

// accessDenied gives GMS's privilege failure ("command denied to user
// 'ann'@'%'", sent as the generic ERROR 1105) the code and wording MySQL
// uses, which clients and tools branch on: ERROR 1142 naming the command
// and the table for statements on tables, ERROR 1227 naming the missing
// privilege otherwise, ERROR 1044 for a database the user may not use.
// Other errors are returned as they are.
func accessDenied(ctx *sql.Context, auth ast.AuthInformation, err error) error {
	switch {
	case err == nil:
		return nil
	case sql.ErrDatabaseAccessDeniedForUser.Is(err):
		return mysql.NewSQLError(erDBAccessDenied, "42000", "%s", err.Error())
	case sql.ErrTableAccessDeniedForUser.Is(err):
		return mysql.NewSQLError(erTableAccessDenied, "42000", "%s", err.Error())
	case !sql.ErrPrivilegeCheckFailed.Is(err):
		return err
	}
	switch auth.TargetType {
	case ast.AuthTargetType_SingleTableIdentifier, ast.AuthTargetType_MultipleTableIdentifiers, ast.AuthTargetType_TableColumn:
		if len(auth.TargetNames) >= 2 {
			db, table := auth.TargetNames[0], auth.TargetNames[1]
			if db == "" {
				db = ctx.GetCurrentDatabase()
			}
			return mysql.NewSQLError(erTableAccessDenied, "42000", "%s %s for table '%s.%s'",
				strings.ToUpper(auth.AuthType), err.Error(), strings.ToLower(db), table)
		}
	}
	return mysql.NewSQLError(erSpecificAccessDenied, "42000",
		"Access denied; you need (at least one of) the %s privilege(s) for this operation", strings.ReplaceAll(strings.ToUpper(auth.AuthType), "_", " "))
}

// HandleAuthNode applies accessDenied to the checks GMS makes on whole
// statements (user management, for example), which name no table.
func (a processAuth) HandleAuthNode(ctx *sql.Context, state sql.AuthorizationQueryState, node sql.AuthorizationCheckerNode) error {
	err := a.AuthorizationHandler.HandleAuthNode(ctx, state, node)
	if err == nil || !sql.ErrPrivilegeCheckFailed.Is(err) {
		return err
	}
	return mysql.NewSQLError(erSpecificAccessDenied, "42000",
		"Access denied; %s: only admins may run this statement", err.Error())
}
