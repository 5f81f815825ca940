// eventsql: this file is eventsql's own (not upstream's); see doc.go.

package server

import (
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
)

// PlanSource supplies analyzed plans for queries without parsing and
// analyzing them: eventsql keeps the plans of simple SELECTs as
// templates and fills in a new query's literals (sqlfront's
// plan_templates.go). Parsing and analysing a point query costs more
// server CPU than reading its rows.
type PlanSource interface {
	// Plan returns the analyzed plan of query in ctx and the query flags
	// its parse set (added to flags), or false to parse and analyze the
	// query as usual. The plan must be what GMS's analyzer makes of the
	// query, free of per-query state (process tracking is added when it
	// runs).
	Plan(ctx *sql.Context, query string, flags *sql.QueryFlags) (sql.Node, *sql.QueryFlags, bool)
	// OneStatement reports whether query is a statement Plan may take,
	// and so one statement: a connection with multi-statements on then
	// leaves it unparsed for Plan instead of splitting it first.
	OneStatement(query string) bool
	// Bind returns the text of a prepared statement's execution: query
	// with the bound values written in as the literals GMS's binder would
	// make of them, for Plan; false to bind and analyze as usual.
	Bind(query string, bindings map[string]*querypb.BindVariable) (string, bool)
	// PreparedFields returns the result columns of a statement prepared
	// before in an equivalent session, to answer COM_STMT_PREPARE without
	// GMS's parse and bind; false to prepare as usual.
	PreparedFields(ctx *sql.Context, query string) ([]*querypb.Field, bool)
	// NotePrepared tells the source the result columns GMS prepared query
	// with, and its bound (unanalyzed) plan.
	NotePrepared(ctx *sql.Context, query string, bound sql.Node, fields []*querypb.Field)
}

// runPlanned runs query from the plan h.plans supplies, doing what
// Engine.QueryWithBindings does around the parse and analysis it skips:
// the status counters and clearing the session's warnings (a new
// statement starts with none). ok is false when no plan was supplied.
func (h *Handler) runPlanned(ctx *sql.Context, query string, flags *sql.QueryFlags) (sql.Schema, sql.RowIter, *sql.QueryFlags, bool, error) {
	if _, prepared := ctx.Session.GetPreparedQuery(query); prepared {
		return nil, nil, nil, false, nil // GMS binds the prepared AST
	}
	n, flags, ok := h.plans.Plan(ctx, query, flags)
	if !ok {
		return nil, nil, nil, false, nil
	}
	sql.IncrementStatusVariable(ctx, "Questions", 1)
	ctx.ClearWarnings()
	if plan.NodeRepresentsSelect(ctx, n) {
		sql.IncrementStatusVariable(ctx, "Com_select", 1)
	}
	sch, iter, flags, err := h.e.PrepQueryPlanForExecution(ctx, query, n, flags)
	return sch, iter, flags, true, err
}
