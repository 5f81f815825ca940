package sqlfront

import (
	"strings"

	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// Prepared statements' column definitions.
//
// A COM_STMT_PREPARE answers with the statement's parameter count (vitess
// counts them) and its result columns, for which GMS parses and binds the
// statement; the Go driver without interpolateParams prepares (and
// closes) a statement for every query with arguments, so that is ~50 µs
// of server CPU per query. The columns of a statement that reads one event
// table and nothing else depend only on its text, that table's columns
// and the session state in the template key plus character_set_results:
// they are kept per key and given again while the table resolves to the
// same columns (sameTable; a by_type table gains a column when a new
// field appears). GMS then has no parsed statement for an execution; it
// parses the text itself when the execution is not planned from a
// template (Engine.preparedStatement).

// preparedEntry is the column definitions of a prepared statement and
// the event table it reads.
type preparedEntry struct {
	fields []*querypb.Field
	table  *eventsTable
}

// preparedKey is the key of query's column definitions in ctx's session.
func preparedKey(ctx *sql.Context, query string) (templateKey, bool) {
	if len(query) > maxDigestQuery || strings.IndexByte(query, '@') >= 0 {
		return templateKey{}, false // user variables have the types of their values
	}
	return templateKeyOf(ctx, "prepare\x00"+query+"\x00"+ctx.GetCharacterSetResults().String())
}

// PreparedFields implements server.PlanSource.
func (pt *planTemplates) PreparedFields(ctx *sql.Context, query string) ([]*querypb.Field, bool) {
	key, ok := preparedKey(ctx, query)
	if !ok {
		return nil, false
	}
	pt.mu.Lock()
	e, ok := pt.prepared[key]
	pt.mu.Unlock()
	if !ok || !pt.sameTable(ctx, e.table) {
		return nil, false
	}
	pt.preparedHits.Add(1)
	return copyFields(e.fields), true
}

// copyFields copies column definitions: vitess rewrites their names as
// it writes them (writePrepare), so each prepare gets its own.
func copyFields(fields []*querypb.Field) []*querypb.Field {
	out := make([]*querypb.Field, len(fields))
	mem := make([]querypb.Field, len(fields))
	for i, f := range fields {
		mem[i] = querypb.Field{Name: f.Name, Type: f.Type, Table: f.Table, OrgTable: f.OrgTable,
			Database: f.Database, OrgName: f.OrgName, ColumnLength: f.ColumnLength, Charset: f.Charset,
			Decimals: f.Decimals, Flags: f.Flags}
		out[i] = &mem[i]
	}
	return out
}

// NotePrepared implements server.PlanSource: it keeps the columns of a
// statement whose bound plan reads exactly one event table and nothing
// else (no other table, table function or subquery).
func (pt *planTemplates) NotePrepared(ctx *sql.Context, query string, bound sql.Node, fields []*querypb.Field) {
	if len(fields) == 0 {
		return
	}
	key, ok := preparedKey(ctx, query)
	if !ok {
		return
	}
	table := soleEventTable(ctx, bound)
	if table == nil {
		return
	}
	pt.mu.Lock()
	if len(pt.prepared) >= maxPlanTemplates {
		clear(pt.prepared)
	}
	pt.prepared[key] = preparedEntry{fields: copyFields(fields), table: table}
	pt.mu.Unlock()
}

// soleEventTable is the one event table n reads, or nil when n reads
// none, several, or anything else.
func soleEventTable(ctx *sql.Context, n sql.Node) *eventsTable {
	var table *eventsTable
	ok := true
	transform.Inspect(n, func(n sql.Node) bool {
		if !ok {
			return false
		}
		if ex, isEx := n.(sql.Expressioner); isEx {
			for _, e := range ex.Expressions() {
				if transform.InspectExpr(ctx, e, func(_ *sql.Context, e sql.Expression) bool {
					_, isSub := e.(*plan.Subquery)
					return isSub
				}) {
					ok = false
					return false
				}
			}
		}
		switch n := n.(type) {
		case *plan.ResolvedTable:
			et, isEvents := n.UnderlyingTable().(*eventsTable)
			if !isEvents || table != nil {
				ok = false
				return false
			}
			table = et
		case sql.Table, sql.TableFunction, *plan.SubqueryAlias, *plan.ValueDerivedTable, *plan.UnresolvedTable:
			ok = false
			return false
		}
		return true
	})
	if !ok {
		return nil
	}
	return table
}
