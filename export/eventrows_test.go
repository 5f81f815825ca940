package export

import (
	"testing"

	"github.com/parquet-go/parquet-go"
)

// The events structs must give exactly the events schema, or parquet-go
// falls back to converting each struct to a parquet.Row (slow, and the
// files' schema would come from the struct).
func TestEventRecordSchemaMatchesEventsColumns(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ts      Timestamps
		matches bool
		record  *parquet.Schema
	}{
		{"int64", TimestampsInt64, eventsSchemaMatches[eventRecord](TimestampsInt64), parquet.SchemaOf(new(eventRecord))},
		{"int96", TimestampsInt96, eventsSchemaMatches[eventRecord96](TimestampsInt96), parquet.SchemaOf(new(eventRecord96))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.matches {
				t.Fatalf("struct schema\n%v\ndiffers from the events schema\n%v", tc.record, parquetSchema("events", eventsColumns, tc.ts))
			}
			cols := tc.record.Columns()
			if len(cols) != len(eventsColumns) {
				t.Fatalf("%d columns, want %d", len(cols), len(eventsColumns))
			}
			for i, c := range eventsColumns {
				if cols[i][0] != c.Name {
					t.Errorf("column %d is %q, want %q", i, cols[i][0], c.Name)
				}
			}
		})
	}
	// And the other way round: a mismatched pair is detected.
	if eventsSchemaMatches[eventRecord](TimestampsInt96) {
		t.Error("eventRecord (INT64 created_at) matches the INT96 schema")
	}
}
