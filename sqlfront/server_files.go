package sqlfront

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
)

const (
	ruleNoServerFiles analyzer.RuleId = 10_006
	// erOptionPreventsStatement is MySQL's ER_OPTION_PREVENTS_STATEMENT,
	// its answer to file access with --secure-file-priv=NULL.
	erOptionPreventsStatement = 1290
)

// noServerFilesRule refuses the statements that read or write files on
// the server's machine — SELECT ... INTO OUTFILE / DUMPFILE, LOAD_FILE(),
// LOAD DATA — for every user, as MySQL does with --secure-file-priv=NULL.
// GMS runs them for anyone, without the FILE privilege MySQL requires:
// a reader could read the users file, the TLS key or any file the server
// may read, and create files wherever it may write. Data leaves eventsql
// as query results and Parquet exports (eventsql export, POST /export).
// LOAD_FILE() is replaced by refusedLoadFile (provider.Function), so
// that no plan, however GMS evaluates it, holds GMS's function.
func (fe *Front) noServerFilesRule(ctx *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	if what := serverFileAccess(ctx, n); what != "" {
		return nil, transform.SameTree, serverFilesError(what)
	}
	return n, transform.SameTree, nil
}

func serverFilesError(what string) error {
	return mysql.NewSQLError(erOptionPreventsStatement, "HY000",
		"%s refused: eventsql does not read or write files on the server from SQL (as MySQL with --secure-file-priv=NULL); "+
			"export Parquet files with eventsql export or POST /export", what)
}

// Function shadows GMS's LOAD_FILE() with refusedLoadFile, and the
// string functions bounded by max_allowed_packet (packet_limit.go).
func (p *provider) Function(_ *sql.Context, name string) (sql.Function, bool) {
	if !strings.EqualFold(name, "load_file") {
		return p.fe.limitedFunction(name)
	}
	return sql.Function1{Name: "load_file", Fn: func(_ *sql.Context, arg sql.Expression) sql.Expression {
		return &refusedLoadFile{arg: arg}
	}}, true
}

// refusedLoadFile is LOAD_FILE() reading nothing: evaluating it fails.
type refusedLoadFile struct{ arg sql.Expression }

var _ sql.FunctionExpression = (*refusedLoadFile)(nil)

func (f *refusedLoadFile) FunctionName() string         { return "load_file" }
func (f *refusedLoadFile) Description() string          { return "refused: eventsql reads no server files" }
func (f *refusedLoadFile) Resolved() bool               { return f.arg.Resolved() }
func (f *refusedLoadFile) String() string               { return fmt.Sprintf("load_file(%s)", f.arg) }
func (f *refusedLoadFile) Type(*sql.Context) sql.Type   { return types.LongBlob }
func (f *refusedLoadFile) IsNullable(*sql.Context) bool { return true }
func (f *refusedLoadFile) Children() []sql.Expression   { return []sql.Expression{f.arg} }
func (f *refusedLoadFile) Eval(*sql.Context, sql.Row) (any, error) {
	return nil, serverFilesError("LOAD_FILE()")
}
func (f *refusedLoadFile) WithChildren(_ *sql.Context, children ...sql.Expression) (sql.Expression, error) {
	if len(children) != 1 {
		return nil, sql.ErrInvalidChildrenNumber.New(f, len(children), 1)
	}
	return &refusedLoadFile{arg: children[0]}, nil
}

// serverFileAccess names the file access in n, subqueries included, or
// returns "".
func serverFileAccess(ctx *sql.Context, n sql.Node) string {
	var what string
	var walk func(sql.Node)
	walk = func(n sql.Node) {
		transform.Inspect(n, func(n sql.Node) bool {
			switch n := n.(type) {
			case *plan.Into:
				if n.Outfile != "" || n.Dumpfile != "" {
					what = "SELECT ... INTO OUTFILE"
				}
			case *plan.LoadData:
				what = "LOAD DATA"
			}
			if ex, ok := n.(sql.Expressioner); ok && what == "" {
				for _, e := range ex.Expressions() {
					sql.Inspect(ctx, e, func(_ *sql.Context, e sql.Expression) bool {
						switch e := e.(type) {
						case *refusedLoadFile:
							what = "LOAD_FILE()"
						case *plan.Subquery:
							walk(e.Query)
						}
						return what == ""
					})
				}
			}
			return what == ""
		})
	}
	walk(n)
	return what
}
