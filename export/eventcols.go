package export

import (
	"github.com/parquet-go/parquet-go"
)

// The events dataset column by column, on two goroutines.
//
// Through parquet-go's typed writer (eventRecord, eventrows.go) one
// goroutine encodes and compresses every column of the events dataset:
// written alone (--datasets events) the export then used one core of
// two. Columns of a row group are independent in parquet-go (each
// ColumnWriter has its own buffers, pages and statistics; the pools they
// share are safe for concurrent use), so when the events dataset is
// written alone on more than one core the rows of a batch are laid out
// column by column and the data column, the largest, is written by a
// helper goroutine while the writer writes the others
// (BenchmarkEventsWriter: 384-408 against 541-677 ns per event of wall
// time, 3,603 against 3,706 instructions per event). In a whole export
// the by_type writers keep the cores busy anyway, and there the column
// path measured 15-24% more CPU end to end than the typed writer (two
// alternated 10M runs on a loaded machine), so the typed writer stays.

// eventsCols are the events dataset's columns of a run of rows.
type eventsCols struct {
	cols [][]parquet.Value
}

// Column indexes of eventsColumns.
const (
	evPosition = iota
	evStream
	evVersion
	evEventID
	evEventType
	evCreatedAt
	evData
	evDataIsJSON
	evMetadata
	evMetadataIsJSON
	numEventsColumns
)

// build lays rows [from, to) of b out column by column. Values point into
// the batch and rb until the batch is written.
func (ec *eventsCols) build(b *batch, from, to int, rb *rowBuilder) {
	n := to - from
	if len(ec.cols) == 0 {
		ec.cols = make([][]parquet.Value, numEventsColumns)
	}
	for c := range ec.cols {
		if cap(ec.cols[c]) < n {
			ec.cols[c] = make([]parquet.Value, n, max(n, batchRows))
		}
		ec.cols[c] = ec.cols[c][:n]
	}
	c := ec.cols
	int96 := rb.ts == TimestampsInt96
	for k := range n {
		r := &b.rows[from+k]
		c[evPosition][k] = parquet.Int64Value(int64(r.pos))
		c[evStream][k] = parquet.ByteArrayValue(strBytes(r.stream))
		c[evVersion][k] = parquet.Int64Value(r.version)
		c[evEventID][k] = parquet.ByteArrayValue(b.bytes(r.id))
		c[evEventType][k] = parquet.ByteArrayValue(strBytes(r.typ))
		if int96 {
			c[evCreatedAt][k] = parquet.Int96Value(toInt96(r.created))
		} else {
			c[evCreatedAt][k] = parquet.Int64Value(r.created)
		}
		c[evData][k] = textValue(b, r.data, r.dataJSON, rb)
		c[evDataIsJSON][k] = parquet.BooleanValue(r.dataJSON)
		c[evMetadata][k] = textValue(b, r.meta, r.metaJSON, rb)
		c[evMetadataIsJSON][k] = parquet.BooleanValue(r.metaJSON)
	}
}

// textValue is data or metadata as an optional column's value (NULL when empty).
func textValue(b *batch, s span, isJSON bool, rb *rowBuilder) parquet.Value {
	if s.n == 0 {
		return parquet.Value{} // NULL, definition level 0
	}
	v := parquet.ByteArrayValue(rb.text(b.bytes(s), isJSON))
	v.SetDefinitionLevel(1)
	return v
}

// colHelper writes columns of a part file on a goroutine of its own.
type colHelper struct {
	jobs chan colJob
	done chan error
}

type colJob struct {
	cw   *parquet.ColumnWriter
	vals []parquet.Value
}

func newColHelper() *colHelper {
	h := &colHelper{jobs: make(chan colJob), done: make(chan error)}
	go func() {
		for j := range h.jobs {
			h.done <- writeColumnChunks(j.cw, j.vals)
		}
	}()
	return h
}

func (h *colHelper) stop() { close(h.jobs) }

// writeColumnChunks writes vals to cw columnChunkRows at a time.
func writeColumnChunks(cw *parquet.ColumnWriter, vals []parquet.Value) error {
	for i := 0; i < len(vals); i += columnChunkRows {
		if _, err := cw.WriteRowValues(vals[i:min(i+columnChunkRows, len(vals))]); err != nil {
			return err
		}
	}
	return nil
}
