package sqlfront

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/eventsql/eventsql/typeinfer"
)

// scope is the implicit filter of an event table.
type scope uint8

const (
	scopeAll      scope = iota // eventsql.events
	scopeType                  // by_type.<EventType>
	scopeCategory              // by_category.<category>
)

// eventsTable is eventsql.events, by_type.<T> and by_category.<C>: every
// event in scope, one row each. It reads straight from the log through
// the engine's indexes (see lookup.go for which filters use which index),
// decodes only the projected columns and never buffers.
type eventsTable struct {
	fe        *Front
	db        string
	name      string
	scope     scope
	scopeName string // the event type or category
	schema    sql.Schema
	typed     []typedColumn // by_type columns after the base ones
	// projection maps output columns to schema indexes; nil = all.
	projection []int
	projNames  []string
	// plan is the index access chosen by LookupForExpressions.
	plan *scanPlan
	// filter, when set, drops events before rows are built (scan_filter.go).
	filter *rowFilter
	// wire, when on, makes rows of wire values (wire_source.go).
	wire *wireSwitch
}

var (
	_ sql.Table                = (*eventsTable)(nil)
	_ sql.ProjectedTable       = (*eventsTable)(nil)
	_ sql.PrimaryKeyTable      = (*eventsTable)(nil)
	_ sql.IndexSearchableTable = (*eventsTable)(nil)
	_ sql.IndexedTable         = (*eventsTable)(nil)
	_ sql.StatisticsTable      = (*eventsTable)(nil)
	_ sql.CommentedTable       = (*eventsTable)(nil)
	_ sql.InsertableTable      = (*eventsTable)(nil)
	_ sql.UpdatableTable       = (*eventsTable)(nil)
	_ sql.DeletableTable       = (*eventsTable)(nil)
	_ sql.TruncateableTable    = (*eventsTable)(nil)
	_ sql.ReplaceableTable     = (*eventsTable)(nil)
)

func newEventsTable(fe *Front, db, name string, sc scope, scopeName string, inferred *typeinfer.Schema) *eventsTable {
	t := &eventsTable{fe: fe, db: db, name: name, scope: sc, scopeName: scopeName}
	// Columns name their table in lower case, as GMS names it in column
	// references: its rule that looks a correlated subquery's rows up by
	// an index compares the two exactly, and with by_type.OrderPlaced's
	// columns saying "OrderPlaced" a subquery on an unaliased outer
	// OrderPlaced scanned once per outer row.
	source := strings.ToLower(name)
	if inferred != nil {
		t.schema, t.typed = typedSchema(db, source, *inferred)
	} else {
		t.schema = baseSchema(db, source)
	}
	return t
}

func (t *eventsTable) Name() string               { return t.name }
func (t *eventsTable) String() string             { return t.db + "." + t.name }
func (t *eventsTable) Collation() sql.CollationID { return sql.Collation_Default }
func (t *eventsTable) PrimaryKeySchema(*sql.Context) sql.PrimaryKeySchema {
	return sql.NewPrimaryKeySchema(t.schema, colPosition)
}

func (t *eventsTable) Comment() string {
	switch t.scope {
	case scopeType:
		return fmt.Sprintf("events of type %s, with a typed column per top-level data field", t.scopeName)
	case scopeCategory:
		return fmt.Sprintf("events of streams in category %s", t.scopeName)
	}
	return "every event, in position order"
}

// Schema returns the projected columns (all when not projected).
func (t *eventsTable) Schema(*sql.Context) sql.Schema {
	if t.projection == nil {
		return t.schema
	}
	s := make(sql.Schema, len(t.projection))
	for i, c := range t.projection {
		s[i] = t.schema[c]
	}
	return s
}

// WithProjections keeps only the named columns, so rows decode only them.
func (t *eventsTable) WithProjections(ctx *sql.Context, names []string) (sql.Table, error) {
	proj := make([]int, 0, len(names))
	for _, n := range names {
		i := colIndex(t.schema, n)
		if i < 0 {
			return nil, sql.ErrTableColumnNotFound.New(t.name, n)
		}
		proj = append(proj, i)
	}
	c := *t
	c.projection, c.projNames = proj, names
	return &c, nil
}

func (t *eventsTable) Projections() []string { return t.projNames }

// Partitions: one, read in position order. GMS reads partitions one
// after another anyway, so splitting would not use more cores.
func (t *eventsTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(eventsPartition{}), nil
}

// eventsPartition is the table's one partition; plan, when set, is an
// index lookup's (see LookupPartitions) and wins over the table's.
type eventsPartition struct{ plan *scanPlan }

func (eventsPartition) Key() []byte { return []byte("events") }

func (t *eventsTable) PartitionRows(ctx *sql.Context, part sql.Partition) (sql.RowIter, error) {
	plan := t.plan
	if ep, ok := part.(eventsPartition); ok && ep.plan != nil {
		plan = ep.plan
	}
	if plan == nil {
		plan = newScanPlan()
	}
	return newRowIter(ctx, t, plan)
}

// RowCount is exact for the table's scope (hidden events excluded only
// when nothing is hidden), which lets GMS answer COUNT(*) without a scan.
func (t *eventsTable) RowCount(ctx *sql.Context) (uint64, bool, error) {
	n, exact, err := t.fe.countInScope(ctx, t.scope, t.scopeName)
	return n, exact, err
}

// DataLength is the log's size for events; for a type or category, its
// share of the log by event count (an estimate: events differ in size).
func (t *eventsTable) DataLength(ctx *sql.Context) (uint64, error) {
	st := t.fe.store.Stats()
	if t.scope == scopeAll {
		return st.DataBytes, nil
	}
	n, _, err := t.fe.countInScope(ctx, t.scope, t.scopeName)
	head := t.fe.store.Head()
	if err != nil || head == 0 {
		return 0, err
	}
	return uint64(float64(st.DataBytes) * (float64(min(n, head)) / float64(head))), nil
}

// --- writes are refused with a message that says what to do instead ---

func (t *eventsTable) immutable(op string) error {
	return immutableError(op, t.db, t.name)
}

func (t *eventsTable) Inserter(*sql.Context) sql.RowInserter { return refuse{t.immutable("INSERT")} }
func (t *eventsTable) Updater(*sql.Context) sql.RowUpdater   { return refuse{t.immutable("UPDATE")} }
func (t *eventsTable) Deleter(*sql.Context) sql.RowDeleter   { return refuse{t.immutable("DELETE")} }
func (t *eventsTable) Replacer(*sql.Context) sql.RowReplacer { return refuse{t.immutable("REPLACE")} }

// Truncate refuses TRUNCATE, and DELETE without WHERE, which GMS runs as
// a truncate: the message names the statement the user wrote.
func (t *eventsTable) Truncate(ctx *sql.Context) (int, error) {
	op := "TRUNCATE"
	if q := strings.TrimSpace(ctx.Query()); len(q) >= 6 && strings.EqualFold(q[:6], "DELETE") {
		op = "DELETE"
	}
	return 0, t.immutable(op)
}

// refuse is a row editor that fails every call.
type refuse struct{ err error }

func (r refuse) StatementBegin(*sql.Context)                 {}
func (r refuse) DiscardChanges(*sql.Context, error) error    { return nil }
func (r refuse) StatementComplete(*sql.Context) error        { return nil }
func (r refuse) Insert(*sql.Context, sql.Row) error          { return r.err }
func (r refuse) Update(*sql.Context, sql.Row, sql.Row) error { return r.err }
func (r refuse) Delete(*sql.Context, sql.Row) error          { return r.err }
func (r refuse) Close(*sql.Context) error                    { return nil }
