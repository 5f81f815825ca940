package export

import (
	"context"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/tidwall/gjson"

	"github.com/eventsql/eventsql/internal/jsonscan"
	"github.com/eventsql/eventsql/typeinfer"
)

// typedWriter writes the by_type datasets: per event type an inferrer
// and at most one open part file. A field that is new or changes kind
// finishes the type's open file; the next starts with the new schema.
//
// Rows are handed to parquet-go column by column (a run of a type's rows
// at a time, through the row group's column writers) rather than as
// parquet.Row values: splitting rows into columns was most of the cost
// of writing these datasets.
type typedWriter struct {
	pc    *partConfig
	types map[string]*typeOut
	byID  []*typeOut // by the run's type numbers (evRow.typeID)
	open  int
	clock uint64
	rb    rowBuilder
	// pending are the files finished so far, completing in the background.
	pending []*pendingFile
	files   []File // set by close and abort
	// Per batch: the fields of each row (refs[rowStart[i]:rowStart[i+1]])
	// and the types with rows in it, in order of first appearance.
	refs     []fieldRef
	rowStart []int32
	touched  []*typeOut
	sc       jsonscan.Object
	member   jsonscan.Member
	seq      uint32 // numbers the events walked
	// cols holds a run of rows column by column (reused).
	cols   [][]parquet.Value
	budget int64 // bytes of row groups buffered across open files
	m      *Manifest
	mu     *sync.Mutex // guards m.Datasets, shared by the shards
	// This writer handles the event types whose hash is shard mod shards.
	shard, shards int
	maxOpen       int
}

type typeOut struct {
	dataset string
	inf     *typeinfer.Inferrer
	ds      *Dataset
	cur     *partFile
	day     int64
	cols    []Column
	// fieldOf gives a column's inferred field (by_type columns only);
	// kinds and nulls are per column.
	fieldOf []int32
	kinds   []typeinfer.Kind
	nulls   []parquet.Value
	changed bool    // the schema changed in the batch being written
	rows    []int32 // the type's rows in the batch being written
	// seenIn[f] is the event (typedWriter.seq) where field f was last
	// seen: a key given twice in one event is found that way.
	seenIn []uint32
}

// fieldRef is a member of an event's data: the inferred field it is and
// where its value is written in the batch.
type fieldRef struct {
	field   int32
	kind    gjson.Type
	escaped bool // a string with escapes
	raw     span
}

// newTypedWriter returns the writer of shard (of shards) of the event
// types: by_type datasets are spread over several goroutines so that
// encoding them uses every core.
func newTypedWriter(pc *partConfig, m *Manifest, mu *sync.Mutex, shard, shards int) *typedWriter {
	return &typedWriter{pc: pc, types: map[string]*typeOut{}, rb: rowBuilder{ts: pc.opts.Timestamps}, m: m, mu: mu,
		budget: max(pc.opts.RowGroupBytes, typedBudget/int64(shards)), shard: shard, shards: shards,
		maxOpen: max(1, pc.opts.MaxOpenTyped/shards)}
}

// typedBudget bounds the row-group bytes buffered by all by_type files.
const typedBudget = 256 << 20

// shardPicker numbers the event types of a run and gives each a by_type
// writer (the reader decides, so a type always stays with one writer): a
// new type goes to the writer with the fewest types, of those to the one
// with the fewest events so far. Counting types first spreads types of
// similar frequency evenly (picking by events alone, on the few events
// seen when the first types appear, gave one of two writers three of the
// benchmark's four types and made it the bottleneck).
type shardPicker struct {
	types  map[string]pickedType
	load   []uint64
	ntypes []int
}

type pickedType struct {
	shard uint8
	id    uint32
}

func newShardPicker(shards int) *shardPicker {
	return &shardPicker{types: map[string]pickedType{}, load: make([]uint64, shards), ntypes: make([]int, shards)}
}

func (p *shardPicker) pick(eventType string) (shard uint8, id uint32) {
	pt, ok := p.types[eventType]
	if !ok {
		pt.id = uint32(len(p.types))
		for i := range p.load {
			if p.ntypes[i] < p.ntypes[pt.shard] || p.ntypes[i] == p.ntypes[pt.shard] && p.load[i] < p.load[pt.shard] {
				pt.shard = uint8(i)
			}
		}
		p.types[eventType] = pt
		p.ntypes[pt.shard]++
	}
	p.load[pt.shard]++
	return pt.shard, pt.id
}

// typeOut returns the output of the event type of r.
func (w *typedWriter) typeOut(r *evRow) (*typeOut, error) {
	if int(r.typeID) < len(w.byID) && w.byID[r.typeID] != nil {
		return w.byID[r.typeID], nil
	}
	for int(r.typeID) >= len(w.byID) {
		w.byID = append(w.byID, nil)
	}
	eventType := r.typ
	name := typedDataset(eventType)
	w.mu.Lock()
	ds := w.m.Datasets[name]
	if ds == nil {
		ds = &Dataset{EventType: eventType}
		w.m.Datasets[name] = ds
	}
	w.mu.Unlock()
	inf, err := typeinfer.NewInferrer(ds.Inference)
	if err != nil {
		return nil, err
	}
	t := &typeOut{dataset: name, inf: inf, ds: ds}
	t.setSchema()
	w.types[eventType] = t
	w.byID[r.typeID] = t
	return t, nil
}

// setSchema takes the inferrer's current fields as the schema of the
// next file.
func (t *typeOut) setSchema() {
	fields := t.inf.Fields()
	var src []int
	t.cols, src = typedColumns(fields)
	t.fieldOf = t.fieldOf[:0]
	for range numTypedBaseColumns {
		t.fieldOf = append(t.fieldOf, -1)
	}
	for _, f := range src {
		t.fieldOf = append(t.fieldOf, int32(f))
	}
	t.kinds = t.kinds[:0]
	t.nulls = t.nulls[:0]
	for i, c := range t.cols {
		t.kinds = append(t.kinds, kindOf(c))
		t.nulls = append(t.nulls, parquet.NullValue().Level(0, 0, i))
	}
}

// schemaIndex returns the index of the current schema in the dataset's
// schemas, adding it when it is new.
func (t *typeOut) schemaIndex() int {
	if n := len(t.ds.Schemas); n == 0 || !sameColumns(t.ds.Schemas[n-1], t.cols) {
		t.ds.Schemas = append(t.ds.Schemas, t.cols)
	}
	return len(t.ds.Schemas) - 1
}

func sameColumns(a, b []Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// write writes a batch in two passes: first every event's fields are
// observed, so a schema change rolls a type's file at most once per batch;
// then each type's rows are built, column by column, from the values
// found in the first pass and written in runs (rows of one day).
func (w *typedWriter) write(ctx context.Context, b *batch) error {
	w.refs, w.rowStart, w.touched = w.refs[:0], w.rowStart[:0], w.touched[:0]
	for i := range b.rows {
		r := &b.rows[i]
		w.rowStart = append(w.rowStart, int32(len(w.refs)))
		if int(r.shard) != w.shard {
			continue // another shard's type
		}
		t, err := w.typeOut(r)
		if err != nil {
			return err
		}
		if len(t.rows) == 0 {
			w.touched = append(w.touched, t)
		}
		t.rows = append(t.rows, int32(i))
		if !r.dataJSON || r.data.n == 0 {
			continue
		}
		if !w.sc.Reset(bytesString(b.bytes(r.data))) {
			continue
		}
		m := &w.member
		first := len(w.refs)
		w.seq++
		for pos := 0; w.sc.Next(m); pos++ {
			fi, c := t.inf.FieldAt(pos, m.Key, &m.Val)
			t.changed = t.changed || c
			for fi >= len(t.seenIn) {
				t.seenIn = append(t.seenIn, 0)
			}
			if t.seenIn[fi] == w.seq {
				// A key given twice: the last value counts.
				for j := first; j < len(w.refs); j++ {
					if w.refs[j].field == int32(fi) {
						w.refs[j].field = -1
					}
				}
			}
			t.seenIn[fi] = w.seq
			w.refs = append(w.refs, fieldRef{field: int32(fi), kind: m.Val.Type, escaped: m.Escaped,
				raw: span{r.data.off + uint32(m.Start), uint32(len(m.Val.Raw))}})
		}
	}
	w.rowStart = append(w.rowStart, int32(len(w.refs)))
	for _, t := range w.touched {
		if err := w.writeType(b, t); err != nil {
			return err
		}
	}
	var inMemory int64
	for _, t := range w.types {
		if t.cur != nil {
			inMemory += t.cur.buffered()
		}
	}
	// Bound memory across types: end the biggest row groups first.
	for inMemory > w.budget {
		var big *typeOut
		for _, t := range w.types {
			if t.cur != nil && (big == nil || t.cur.buffered() > big.cur.buffered()) {
				big = t
			}
		}
		before := big.cur.buffered()
		if err := big.cur.endRowGroup(); err != nil {
			return err
		}
		inMemory -= before
	}
	w.rb.reset()
	return ctx.Err()
}

// writeType writes t's rows of the batch: in runs of one day, to the
// type's open file (or a new one when the schema changed, the day
// changed or the file is full).
func (w *typedWriter) writeType(b *batch, t *typeOut) error {
	rows := t.rows
	t.rows = t.rows[:0]
	if t.changed {
		if t.cur != nil {
			if err := w.finish(t); err != nil {
				return err
			}
		}
		t.setSchema()
		t.changed = false
	}
	for len(rows) > 0 {
		first := &b.rows[rows[0]]
		day := dayOf(first.created)
		n := 1
		for n < len(rows) && dayOf(b.rows[rows[n]].created) == day {
			n++
		}
		if t.cur != nil && (day != t.day || t.cur.size() >= w.pc.opts.FileBytes) {
			if err := w.finish(t); err != nil {
				return err
			}
		}
		if t.cur == nil {
			if err := w.openFor(t, first, day); err != nil {
				return err
			}
		}
		w.clock++
		t.cur.lastUse = w.clock
		w.buildRun(b, t, rows[:n])
		if err := t.cur.writeColumns(w.cols, b.rows[rows[0]].pos, b.rows[rows[n-1]].pos); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// buildRun fills w.cols with rows (of type t) column by column, as
// values of t's current schema. Values point into the batch and w.rb
// until the batch is written. Values carry only their definition level
// (0 for required columns and NULLs, 1 for other values of optional
// ones): parquet-go's column writers know their column (Value.Level,
// which checks its three arguments, is not inlined and cost 7% of
// building the rows; SetDefinitionLevel is).
func (w *typedWriter) buildRun(b *batch, t *typeOut, rows []int32) {
	n := len(rows)
	for len(w.cols) < len(t.cols) {
		w.cols = append(w.cols, nil)
	}
	w.cols = w.cols[:len(t.cols)]
	for c := range w.cols {
		if cap(w.cols[c]) < n {
			w.cols[c] = make([]parquet.Value, n, max(n, 2*cap(w.cols[c])))
		}
		w.cols[c] = w.cols[c][:n]
	}
	pos, stream, version := w.cols[tyPosition][:n], w.cols[tyStream][:n], w.cols[tyVersion][:n]
	id, created, meta := w.cols[tyEventID][:n], w.cols[tyCreatedAt][:n], w.cols[tyMetadata][:n]
	int96 := w.pc.opts.Timestamps == TimestampsInt96
	for k, ri := range rows {
		r := &b.rows[ri]
		pos[k] = parquet.Int64Value(int64(r.pos))
		stream[k] = parquet.ByteArrayValue(strBytes(r.stream))
		version[k] = parquet.Int64Value(r.version)
		id[k] = parquet.ByteArrayValue(b.bytes(r.id))
		if int96 {
			created[k] = parquet.Int96Value(toInt96(r.created))
		} else {
			created[k] = parquet.Int64Value(r.created)
		}
		if r.meta.n == 0 {
			meta[k] = t.nulls[tyMetadata]
		} else {
			meta[k] = parquet.ByteArrayValue(w.rb.text(b.bytes(r.meta), r.metaJSON))
			meta[k].SetDefinitionLevel(1)
		}
	}
	// Typed columns one at a time: a column's field is usually at the same
	// place in every event (guess), else it is looked for.
	for c := numTypedBaseColumns; c < len(w.cols); c++ {
		col, null, kind, f := w.cols[c], t.nulls[c], t.kinds[c], t.fieldOf[c]
		guess := c - numTypedBaseColumns
		for k, ri := range rows {
			refs := w.refs[w.rowStart[ri]:w.rowStart[ri+1]]
			if guess >= len(refs) || refs[guess].field != f {
				j := fieldIndex(refs, f)
				if j < 0 {
					col[k] = null
					continue
				}
				guess = j
			}
			ref := &refs[guess]
			if v, ok := w.rb.typedValue(kind, ref.kind, bytesString(b.bytes(ref.raw)), ref.escaped); ok {
				col[k] = v
				col[k].SetDefinitionLevel(1)
			} else {
				col[k] = null
			}
		}
	}
}

// fieldIndex returns the index of field f in refs, or -1.
func fieldIndex(refs []fieldRef, f int32) int {
	for j := range refs {
		if refs[j].field == f {
			return j
		}
	}
	return -1
}

func (w *typedWriter) openFor(t *typeOut, r *evRow, day int64) error {
	if w.open >= w.maxOpen {
		var lru *typeOut
		for _, o := range w.types {
			if o.cur != nil && o != t && (lru == nil || o.cur.lastUse < lru.cur.lastUse) {
				lru = o
			}
		}
		if lru != nil {
			if err := w.finish(lru); err != nil {
				return err
			}
		}
	}
	p, err := w.pc.open(t.dataset, dateOf(r.created), t.cols, t.schemaIndex(), r.pos)
	if err != nil {
		return err
	}
	t.cur, t.day = p, day
	w.open++
	return nil
}

func (w *typedWriter) finish(t *typeOut) error {
	pf := t.cur.finishAsync()
	t.cur = nil
	w.open--
	w.pending = append(w.pending, pf)
	select {
	case <-pf.done: // failed at once
		return pf.err
	default:
		return nil
	}
}

// close finishes every open file, waits for every file to be complete
// and saves the inference state.
func (w *typedWriter) close() error {
	var err error
	for _, t := range w.types {
		if t.cur != nil && err == nil {
			err = w.finish(t)
		}
		t.ds.Inference = t.inf.Saved()
	}
	files, werr := waitAll(w.pending)
	w.pending, w.files = nil, append(w.files, files...)
	if err == nil {
		err = werr
	}
	return err
}

// abort drops the open files and waits for the files finished before
// (the caller removes them).
func (w *typedWriter) abort() {
	for _, t := range w.types {
		if t.cur != nil {
			t.cur.abort()
			t.cur = nil
		}
	}
	files, _ := waitAll(w.pending)
	w.pending, w.files = nil, append(w.files, files...)
}
