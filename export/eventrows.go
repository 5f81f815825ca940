package export

import (
	"errors"
	"io"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
)

// eventRecord is a row of the events dataset as a Go struct: parquet-go's
// GenericWriter copies such structs straight into its column buffers,
// which costs about half of building a parquet.Row per event. Fields and
// tags give exactly the schema parquetSchema builds from eventsColumns
// (same names, order, types; eventsSchemaMatches checks it); the writer
// is given that schema, so encodings (dictionaries) come from it.
// Optional strings are NULL when empty, as data and metadata are.
type eventRecord struct {
	Position       int64  `parquet:"position"`
	Stream         string `parquet:"stream,dict"`
	Version        int64  `parquet:"version"`
	EventID        string `parquet:"event_id"`
	EventType      string `parquet:"event_type,dict"`
	CreatedAt      int64  `parquet:"created_at,timestamp(microsecond:utc)"`
	Data           string `parquet:"data,optional"`
	DataIsJSON     bool   `parquet:"data_is_json"`
	Metadata       string `parquet:"metadata,optional"`
	MetadataIsJSON bool   `parquet:"metadata_is_json"`
}

// eventRecord96 is eventRecord with created_at as INT96 (--timestamps int96).
type eventRecord96 struct {
	Position       int64            `parquet:"position"`
	Stream         string           `parquet:"stream,dict"`
	Version        int64            `parquet:"version"`
	EventID        string           `parquet:"event_id"`
	EventType      string           `parquet:"event_type,dict"`
	CreatedAt      deprecated.Int96 `parquet:"created_at"`
	Data           string           `parquet:"data,optional"`
	DataIsJSON     bool             `parquet:"data_is_json"`
	Metadata       string           `parquet:"metadata,optional"`
	MetadataIsJSON bool             `parquet:"metadata_is_json"`
}

// eventsSchemaMatches reports whether T's struct schema equals the events
// schema: only then does parquet-go take its direct struct-to-column path
// (it would otherwise silently convert every struct to a parquet.Row).
func eventsSchemaMatches[T any](ts Timestamps) bool {
	return parquet.EqualNodes(parquetSchema("events", eventsColumns, ts), parquet.SchemaOf(new(T)))
}

// eventsSink buffers the events dataset's rows of a part file as
// structs and writes them through a typed parquet-go writer.
type eventsSink interface {
	add(b *batch, r *evRow)
	pending() int
	// write hands the buffered rows to the parquet writer.
	write() (int, error)
}

// structSink is the eventsSink of one record type.
type structSink[T eventRecord | eventRecord96] struct {
	w    *parquet.GenericWriter[T]
	rows []T
	rb   *rowBuilder
	fill func(dst *T, rb *rowBuilder, b *batch, r *evRow)
}

func (s *structSink[T]) add(b *batch, r *evRow) {
	s.rows = append(s.rows, *new(T))
	s.fill(&s.rows[len(s.rows)-1], s.rb, b, r)
}

func (s *structSink[T]) pending() int { return len(s.rows) }

func (s *structSink[T]) write() (int, error) {
	n, err := s.w.Write(s.rows)
	clear(s.rows)
	s.rows = s.rows[:0]
	return n, err
}

// newEventsParquet returns the parquet writer of an events part file and
// the sink that fills it. Strings of the rows point into the batch and
// rb's scratch until write.
func newEventsParquet(out io.Writer, ts Timestamps, rb *rowBuilder, opts []parquet.WriterOption) (parquetWriter, eventsSink, error) {
	opts = append([]parquet.WriterOption{parquetSchema("events", eventsColumns, ts)}, opts...)
	if ts == TimestampsInt96 {
		if !eventsSchemaMatches[eventRecord96](ts) {
			return nil, nil, errors.New("export: events schema and eventRecord96 differ")
		}
		w := parquet.NewGenericWriter[eventRecord96](out, opts...)
		return w, &structSink[eventRecord96]{w: w, rb: rb, fill: fillEvent96}, nil
	}
	if !eventsSchemaMatches[eventRecord](ts) {
		return nil, nil, errors.New("export: events schema and eventRecord differ")
	}
	w := parquet.NewGenericWriter[eventRecord](out, opts...)
	return w, &structSink[eventRecord]{w: w, rb: rb, fill: fillEvent}, nil
}

func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// textString is data or metadata as the column's text ("" = NULL).
func (rb *rowBuilder) textString(b *batch, s span, isJSON bool) string {
	if s.n == 0 {
		return ""
	}
	return bytesString(rb.text(b.bytes(s), isJSON))
}

func fillEvent(e *eventRecord, rb *rowBuilder, b *batch, r *evRow) {
	*e = eventRecord{
		Position:       int64(r.pos),
		Stream:         r.stream,
		Version:        r.version,
		EventID:        bytesString(b.bytes(r.id)),
		EventType:      r.typ,
		CreatedAt:      r.created,
		Data:           rb.textString(b, r.data, r.dataJSON),
		DataIsJSON:     r.dataJSON,
		Metadata:       rb.textString(b, r.meta, r.metaJSON),
		MetadataIsJSON: r.metaJSON,
	}
}

func fillEvent96(e *eventRecord96, rb *rowBuilder, b *batch, r *evRow) {
	*e = eventRecord96{
		Position:       int64(r.pos),
		Stream:         r.stream,
		Version:        r.version,
		EventID:        bytesString(b.bytes(r.id)),
		EventType:      r.typ,
		CreatedAt:      toInt96(r.created),
		Data:           rb.textString(b, r.data, r.dataJSON),
		DataIsJSON:     r.dataJSON,
		Metadata:       rb.textString(b, r.meta, r.metaJSON),
		MetadataIsJSON: r.metaJSON,
	}
}
