package sqlfront

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// MySQL error codes for KILL.
const (
	erNoSuchThread                       = 1094 // ER_NO_SUCH_THREAD
	erKillDenied                         = 1095 // ER_KILL_DENIED_ERROR
	erQueryInterrupted                   = 1317 // ER_QUERY_INTERRUPTED
	ruleOwnProcessesOnly analyzer.RuleId = 10_003
)

// processAuth lets every user run KILL and SHOW PROCESSLIST, which GMS
// reserves for SUPER and PROCESS; ownProcessesRule then limits users who
// are not admins to their own connections, as MySQL does for users
// without those privileges. Everything else goes to GMS's handler.
type processAuth struct {
	sql.AuthorizationHandler
}

func (a processAuth) HandleAuth(ctx *sql.Context, state sql.AuthorizationQueryState, auth ast.AuthInformation) error {
	q := strings.ToUpper(strings.TrimSpace(ctx.Query()))
	switch {
	case auth.AuthType == ast.AuthType_SUPER && strings.HasPrefix(q, "KILL"):
		return nil
	case auth.AuthType == ast.AuthType_PROCESS && strings.HasPrefix(q, "SHOW") && strings.Contains(q, "PROCESSLIST"):
		return nil
	case strings.HasPrefix(q, "SHOW") && ownGrants(ctx):
		return nil
	}
	return accessDenied(ctx, auth, a.AuthorizationHandler.HandleAuth(ctx, state, auth))
}

// ownGrants reports whether the statement is SHOW GRANTS of the user
// running it, which MySQL lets every user run (tools run it on connect
// to see what they may do) and GMS reserves for readers of the mysql
// database.
func ownGrants(ctx *sql.Context) bool {
	stmt, err := ast.Parse(ctx.Query())
	if err != nil {
		return false
	}
	sg, ok := stmt.(*ast.ShowGrants)
	if !ok || len(sg.Using) > 0 {
		return false
	}
	return sg.For == nil || sg.CurrentUser || sg.For.Name == ctx.Session.Client().User && (sg.For.AnyHost || sg.For.Host == "%")
}

// ownProcessesRule: a user who is not an admin may KILL only their own
// connections' queries (ERROR 1095 otherwise) and sees only their own
// connections in SHOW PROCESSLIST; a KILL of an unknown id is ERROR 1094.
func (fe *Front) ownProcessesRule(ctx *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	switch n := n.(type) {
	case *plan.Kill:
		// An unknown id is ERROR 1094 for admins too (GMS ignores it).
		for _, p := range ctx.ProcessList.Processes() {
			if p.Connection != n.ConnID {
				continue
			}
			if !fe.isAdmin(ctx) && p.User != ctx.Session.Client().User {
				return nil, transform.SameTree, mysql.NewSQLError(erKillDenied, "HY000", "You are not owner of thread %d", n.ConnID)
			}
			return n, transform.SameTree, nil
		}
		return nil, transform.SameTree, mysql.NewSQLError(erNoSuchThread, "HY000", "Unknown thread id: %d", n.ConnID)
	case *plan.ShowProcessList:
		return &ownProcessList{ShowProcessList: n, all: fe.isAdmin(ctx)}, transform.NewTree, nil
	}
	if fe.isAdmin(ctx) {
		return n, transform.SameTree, nil
	}
	return ownProcessTables(ctx, n)
}

// ownProcessTables limits information_schema.processlist, wherever the
// query reads it (subqueries too), to the user's own connections.
func ownProcessTables(ctx *sql.Context, n sql.Node) (sql.Node, transform.TreeIdentity, error) {
	n, same1, err := transform.Node(ctx, n, func(ctx *sql.Context, n sql.Node) (sql.Node, transform.TreeIdentity, error) {
		rt, ok := n.(*plan.ResolvedTable)
		if !ok || rt.SqlDatabase == nil || !strings.EqualFold(rt.SqlDatabase.Name(), "information_schema") ||
			!strings.EqualFold(rt.Name(), "processlist") {
			return n, transform.SameTree, nil
		}
		if _, done := rt.Table.(ownProcessTable); done {
			return n, transform.SameTree, nil
		}
		nt := *rt
		nt.Table = ownProcessTable{Table: rt.Table, user: ctx.Session.Client().User}
		return &nt, transform.NewTree, nil
	})
	if err != nil {
		return nil, transform.SameTree, err
	}
	n, same2, err := transform.NodeExprs(ctx, n, func(ctx *sql.Context, e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
		sq, ok := e.(*plan.Subquery)
		if !ok {
			return e, transform.SameTree, nil
		}
		q, same, err := ownProcessTables(ctx, sq.Query)
		if err != nil || same {
			return e, transform.SameTree, err
		}
		return sq.WithQuery(q), transform.NewTree, nil
	})
	return n, same1 && same2, err
}

// ownProcessTable is information_schema.processlist without other users'
// connections (its USER column is the second).
type ownProcessTable struct {
	sql.Table
	user string
}

func (t ownProcessTable) PartitionRows(ctx *sql.Context, p sql.Partition) (sql.RowIter, error) {
	rows, err := t.Table.PartitionRows(ctx, p)
	if err != nil {
		return nil, err
	}
	return &ownRows{RowIter: rows, user: t.user}, nil
}

type ownRows struct {
	sql.RowIter
	user string
}

func (r *ownRows) Next(ctx *sql.Context) (sql.Row, error) {
	for {
		row, err := r.RowIter.Next(ctx)
		if err != nil {
			return nil, err
		}
		if len(row) > 1 && row[1] == r.user {
			return row, nil
		}
	}
}

// ownProcessList is SHOW PROCESSLIST limited to the user's connections
// (all of them for admins), with MySQL's short State ("running" while a
// statement runs): GMS's own State is its progress tree, several lines
// with the partition names (a NUL byte for a query without tables).
type ownProcessList struct {
	*plan.ShowProcessList
	all bool
}

var _ sql.ExecSourceRel = (*ownProcessList)(nil)

func (p *ownProcessList) String() string {
	if p.all {
		return "ProcessList"
	}
	return "ProcessList(own connections)"
}

func (p *ownProcessList) WithChildren(ctx *sql.Context, children ...sql.Node) (sql.Node, error) {
	if len(children) != 0 {
		return nil, sql.ErrInvalidChildrenNumber.New(p, len(children), 0)
	}
	return p, nil
}

func (p *ownProcessList) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	user := ctx.Session.Client().User
	var rows []sql.Row
	for _, proc := range ctx.ProcessList.Processes() {
		if !p.all && proc.User != user {
			continue
		}
		state := ""
		if proc.Command == sql.ProcessCommandQuery {
			state = "running"
		}
		var db any
		if proc.Database != "" {
			db = proc.Database
		}
		rows = append(rows, sql.Row{int64(proc.Connection), proc.User, proc.Host, db,
			string(proc.Command), int64(proc.Seconds()), state, proc.Query})
	}
	return &sliceRows{rows: rows}, nil
}

type sliceRows struct{ rows []sql.Row }

func (s *sliceRows) Next(*sql.Context) (sql.Row, error) {
	if len(s.rows) == 0 {
		return nil, io.EOF
	}
	r := s.rows[0]
	s.rows = s.rows[1:]
	return r, nil
}

func (s *sliceRows) Close(*sql.Context) error { return nil }

// interrupted turns a statement cancelled by KILL QUERY into MySQL's
// ERROR 1317. ctx is the connection's: when it is cancelled the client
// went away and nobody reads the answer.
func interrupted(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	if errors.Is(err, context.Canceled) || strings.Contains(err.Error(), context.Canceled.Error()) {
		return mysql.NewSQLError(erQueryInterrupted, "70100", "Query execution was interrupted")
	}
	return err
}
