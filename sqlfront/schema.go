package sqlfront

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/eventsql/eventsql/typeinfer"
)

// Columns every event table has, in this order.
const (
	colPosition = iota
	colStream
	colVersion
	colEventID
	colEventType
	colCreatedAt
	colData
	colMetadata
	numBaseColumns
)

var (
	typeName     = types.MustCreateStringWithDefaults(sqltypes.VarChar, 255)
	typeEventID  = types.MustCreateStringWithDefaults(sqltypes.Char, 36)
	typeDatetime = types.MustCreateDatetimeType(sqltypes.Datetime, 6)
)

// baseSchema returns the columns of eventsql.events for a table named
// table in database db.
func baseSchema(db, table string) sql.Schema {
	col := func(name string, t sql.Type, nullable, pk bool, comment string) *sql.Column {
		return &sql.Column{Name: name, Type: t, Nullable: nullable, PrimaryKey: pk, Source: table, DatabaseSource: db, Comment: comment}
	}
	return sql.Schema{
		col("position", types.Uint64, false, true, "global position, gapless from 1"),
		col("stream", typeName, false, false, "stream name"),
		col("version", types.Int64, false, false, "0-based number of the event in its stream"),
		col("event_id", typeEventID, false, false, "event id (UUID)"),
		col("event_type", typeName, false, false, "event type"),
		col("created_at", typeDatetime, false, false, "append time, UTC"),
		col("data", types.JSON, true, false, "event data (JSON; other data as a base64 JSON string)"),
		col("metadata", types.JSON, true, false, "event metadata (JSON; NULL when none)"),
	}
}

// typedColumn is a by_type column taken from a top-level data field.
type typedColumn struct {
	field string // JSON key
	kind  typeinfer.Kind
}

// typedSchema returns the by_type columns for an inferred schema: the base
// columns plus one per field. A field whose name clashes (case-
// insensitively) with a base column is named data_<field>; a field that
// clashes with an earlier field is left out (data->>'$.key' reaches it).
func typedSchema(db, table string, s typeinfer.Schema) (sql.Schema, []typedColumn) {
	schema := baseSchema(db, table)
	taken := make(map[string]bool, len(schema)+len(s.Fields))
	for _, c := range schema {
		taken[strings.ToLower(c.Name)] = true
	}
	var cols []typedColumn
	for _, f := range s.Fields {
		name := f.Name
		if taken[strings.ToLower(name)] && colIndex(schema[:numBaseColumns], name) >= 0 {
			name = "data_" + name
		}
		if name == "" || len(name) > 64 || taken[strings.ToLower(name)] {
			continue
		}
		taken[strings.ToLower(name)] = true
		schema = append(schema, &sql.Column{Name: name, Type: sqlType(f), Nullable: true, Source: table, DatabaseSource: db,
			Comment: "data field " + f.Name + " (" + f.Kind.String() + ")"})
		cols = append(cols, typedColumn{field: f.Name, kind: f.Kind})
	}
	return schema, cols
}

func sqlType(f typeinfer.Field) sql.Type {
	switch f.Kind {
	case typeinfer.KindInt:
		return types.Int64
	case typeinfer.KindFloat:
		return types.Float64
	case typeinfer.KindBool:
		return types.Boolean
	case typeinfer.KindDatetime:
		return typeDatetime
	case typeinfer.KindString:
		if f.MaxLen <= 255 {
			return typeName
		}
		return types.LongText
	}
	return types.JSON
}

func colIndex(s sql.Schema, name string) int {
	for i, c := range s {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}
