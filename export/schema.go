package export

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/eventsql/eventsql/typeinfer"
)

// Column types, as recorded in the manifest and mapped to Hive types.
const (
	typeBigint    = "BIGINT"
	typeDouble    = "DOUBLE"
	typeBoolean   = "BOOLEAN"
	typeString    = "STRING"
	typeTimestamp = "TIMESTAMP"
)

// Column is one column of a dataset's schema, as recorded in the manifest.
type Column struct {
	Name string `json:"name"`
	// Type is the Hive type: BIGINT, DOUBLE, BOOLEAN, STRING, TIMESTAMP.
	Type string `json:"type"`
	// Field is the JSON key a by_type column comes from ("" for base columns).
	Field string `json:"field,omitempty"`
	// Kind is the inferred kind of a by_type column (typeinfer.Kind names).
	Kind string `json:"kind,omitempty"`
	// JSON marks STRING columns that hold JSON text.
	JSON bool `json:"json,omitempty"`
	// Nullable columns may hold NULLs.
	Nullable bool `json:"nullable,omitempty"`
	// Dict marks dictionary-encoded columns.
	Dict bool `json:"dict,omitempty"`
}

// eventsColumns is the schema of the events dataset, in this order.
var eventsColumns = []Column{
	{Name: "position", Type: typeBigint},
	{Name: "stream", Type: typeString, Dict: true},
	{Name: "version", Type: typeBigint},
	{Name: "event_id", Type: typeString},
	{Name: "event_type", Type: typeString, Dict: true},
	{Name: "created_at", Type: typeTimestamp},
	{Name: "data", Type: typeString, JSON: true, Nullable: true},
	{Name: "data_is_json", Type: typeBoolean},
	{Name: "metadata", Type: typeString, JSON: true, Nullable: true},
	{Name: "metadata_is_json", Type: typeBoolean},
}

// typedBaseColumns start every by_type dataset's schema. The names a JSON
// field may not take are those of eventsql.events (as in the SQL
// by_type tables), so that both name fields alike.
var typedBaseColumns = []Column{
	{Name: "position", Type: typeBigint},
	{Name: "stream", Type: typeString, Dict: true},
	{Name: "version", Type: typeBigint},
	{Name: "event_id", Type: typeString},
	{Name: "created_at", Type: typeTimestamp},
	{Name: "metadata", Type: typeString, JSON: true, Nullable: true},
}

const (
	tyPosition = iota
	tyStream
	tyVersion
	tyEventID
	tyCreatedAt
	tyMetadata
	numTypedBaseColumns
)

// reservedNames are the base columns, and date, the partition column:
// Hive refuses a table with a column named like a partition column, and
// DuckDB and Spark show the partition's value in its place.
var reservedNames = []string{"position", "stream", "version", "event_id", "event_type", "created_at", "data", "metadata", "date"}

// typedColumns returns a by_type schema for inferred fields, and for each
// of its typed columns the index of the field it comes from. Naming
// follows the SQL tables: a field named like a base column or the date
// partition (case-insensitively) becomes data_<field>; a field clashing
// with an earlier one, empty or longer than 64 bytes is left out.
func typedColumns(fields []typeinfer.Field) ([]Column, []int) {
	cols := append([]Column(nil), typedBaseColumns...)
	taken := map[string]bool{}
	for _, n := range reservedNames {
		taken[n] = true
	}
	var src []int
	for i, f := range fields {
		name := f.Name
		if taken[strings.ToLower(name)] && isReserved(name) {
			name = "data_" + name
		}
		if name == "" || len(name) > 64 || taken[strings.ToLower(name)] {
			continue
		}
		taken[strings.ToLower(name)] = true
		c := Column{Name: name, Field: f.Name, Kind: f.Kind.String(), Nullable: true}
		switch f.Kind {
		case typeinfer.KindInt:
			c.Type = typeBigint
		case typeinfer.KindFloat:
			c.Type = typeDouble
		case typeinfer.KindBool:
			c.Type = typeBoolean
		case typeinfer.KindDatetime:
			c.Type = typeTimestamp
		case typeinfer.KindString:
			c.Type = typeString // PLAIN: values are mostly distinct (ids, names, notes), a dictionary costs more than it saves
		default:
			c.Type, c.JSON = typeString, true
		}
		cols = append(cols, c)
		src = append(src, i)
	}
	return cols, src
}

func isReserved(name string) bool {
	for _, n := range reservedNames {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// kindOf maps a column's recorded kind back (for by_type columns).
func kindOf(c Column) typeinfer.Kind {
	for k := typeinfer.KindJSON; k <= typeinfer.KindDatetime; k++ {
		if k.String() == c.Kind {
			return k
		}
	}
	return typeinfer.KindJSON
}

// parquetSchema builds the Parquet schema of columns, in their order.
func parquetSchema(name string, cols []Column, ts Timestamps) *parquet.Schema {
	g := make(orderedGroup, len(cols))
	for i, c := range cols {
		var n parquet.Node
		switch c.Type {
		case typeBigint:
			n = parquet.Leaf(parquet.Int64Type)
		case typeDouble:
			n = parquet.Leaf(parquet.DoubleType)
		case typeBoolean:
			n = parquet.Leaf(parquet.BooleanType)
		case typeTimestamp:
			if ts == TimestampsInt96 {
				n = parquet.Leaf(parquet.Int96Type)
			} else {
				n = parquet.Timestamp(parquet.Microsecond) // INT64 TIMESTAMP(MICROS, UTC)
			}
		case typeString:
			n = parquet.String()
			if c.Dict {
				n = parquet.Encoded(n, &parquet.RLEDictionary)
			}
		default:
			panic(fmt.Sprintf("export: column type %q", c.Type))
		}
		if c.Nullable {
			n = parquet.Optional(n)
		} else {
			n = parquet.Required(n)
		}
		g[i] = orderedField{Node: n, name: c.Name}
	}
	return parquet.NewSchema(name, g)
}

// orderedGroup is a Parquet group whose columns keep the order given
// (parquet.Group sorts them by name).
type orderedGroup []orderedField

type orderedField struct {
	parquet.Node
	name string
}

func (f orderedField) Name() string { return f.name }
func (f orderedField) Value(base reflect.Value) reflect.Value {
	return base.FieldByName(goName(f.name))
}

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return "group" }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) Fields() []parquet.Field {
	out := make([]parquet.Field, len(g))
	for i := range g {
		out[i] = g[i]
	}
	return out
}

// GoType is a struct with one exported field per column (never used to
// write: rows are parquet.Row values or eventRecord structs).
func (g orderedGroup) GoType() reflect.Type {
	fields := make([]reflect.StructField, len(g))
	for i, f := range g {
		fields[i] = reflect.StructField{Name: goName(f.name), Type: f.GoType(),
			Tag: reflect.StructTag(fmt.Sprintf(`parquet:%q`, f.name))}
	}
	return reflect.StructOf(fields)
}

func goName(name string) string { return fmt.Sprintf("F_%x", name) }

// typedDataset names the by_type dataset of an event type: by_type/<T>,
// with T escaped for file systems and Hadoop readers (which skip names
// starting with _ or .): bytes other than letters, digits, '-' and '_'
// (and a leading '_') become %XX, as Hive escapes partition values.
func typedDataset(eventType string) string {
	var b strings.Builder
	b.WriteString("by_type/")
	for i := 0; i < len(eventType); i++ {
		c := eventType[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' && i > 0
		if ok {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
