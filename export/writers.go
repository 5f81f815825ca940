package export

import (
	"context"
	"sync"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/eventsql/eventsql/typeinfer"
)

// dateOf returns the partition (UTC date) of a time in µs.
func dateOf(micros int64) string {
	return time.UnixMicro(micros).UTC().Format(time.DateOnly)
}

// dayOf is the UTC day number of a time in µs.
func dayOf(micros int64) int64 {
	d := micros / 86_400_000_000
	if micros < 0 && micros%86_400_000_000 != 0 {
		d--
	}
	return d
}

// eventsWriter writes the events dataset: one open part file at a time
// (append times never go backwards, so partitions come one after another).
type eventsWriter struct {
	pc     *partConfig
	schema int
	cur    *partFile
	day    int64
	rb     rowBuilder
	files  []File
}

func newEventsWriter(pc *partConfig, schemaIdx int) *eventsWriter {
	return &eventsWriter{pc: pc, schema: schemaIdx, rb: rowBuilder{ts: pc.opts.Timestamps}}
}

func (w *eventsWriter) write(b *batch) error {
	for i := range b.rows {
		r := &b.rows[i]
		day := dayOf(r.created)
		if w.cur != nil && (day != w.day || w.cur.size() >= w.pc.opts.FileBytes) {
			if err := w.finishCurrent(); err != nil {
				return err
			}
		}
		if w.cur == nil {
			p, err := w.pc.openEvents(dateOf(r.created), w.schema, r.pos, &w.rb)
			if err != nil {
				return err
			}
			w.cur, w.day = p, day
		}
		w.cur.addEvent(b, r)
		if w.cur.queued() >= 1024 {
			if err := w.cur.flush(); err != nil {
				return err
			}
		}
	}
	if w.cur != nil {
		if err := w.cur.flush(); err != nil {
			return err
		}
	}
	w.rb.reset()
	return nil
}

func (w *eventsWriter) finishCurrent() error {
	f, err := w.cur.finish()
	w.cur = nil
	if err != nil {
		return err
	}
	w.files = append(w.files, f)
	w.rb.reset() // rows of the finished file are written
	return nil
}

func (w *eventsWriter) close() error {
	if w.cur == nil {
		return nil
	}
	return w.finishCurrent()
}

func (w *eventsWriter) abort() {
	if w.cur != nil {
		w.cur.abort()
		w.cur = nil
	}
}

// typedWriter writes the by_type datasets: per event type an inferrer
// and at most one open part file. A field that is new or changes kind
// finishes the type's open file; the next starts with the new schema.
type typedWriter struct {
	pc     *partConfig
	types  map[string]*typeOut
	open   int
	clock  uint64
	rb     rowBuilder
	files  []File
	fields []gjson.Result
	// Per batch: the field values of each row (pairs[rowStart[i]:rowStart[i+1]]).
	pairs    []fieldValue
	rowStart []int
	outs     []*typeOut
	budget   int64 // bytes of row groups buffered across open files
	m        *Manifest
	mu       *sync.Mutex // guards m.Datasets, shared by the shards
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
	src     []int
	changed bool // the schema changed in the batch being written
}

type fieldValue struct {
	field int
	value gjson.Result
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

// shardPicker gives each event type a by_type writer: a new type goes to
// the writer with the fewest events so far (the reader decides, so a
// type always stays with one writer).
type shardPicker struct {
	shard map[string]uint8
	load  []uint64
}

func newShardPicker(shards int) *shardPicker {
	return &shardPicker{shard: map[string]uint8{}, load: make([]uint64, shards)}
}

func (p *shardPicker) pick(eventType string) uint8 {
	s, ok := p.shard[eventType]
	if !ok {
		for i := range p.load {
			if p.load[i] < p.load[s] {
				s = uint8(i)
			}
		}
		p.shard[eventType] = s
	}
	p.load[s]++
	return s
}

func (w *typedWriter) typeOut(eventType string) (*typeOut, error) {
	t := w.types[eventType]
	if t != nil {
		return t, nil
	}
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
	t = &typeOut{dataset: name, inf: inf, ds: ds}
	t.setSchema()
	w.types[eventType] = t
	return t, nil
}

// setSchema takes the inferrer's current fields as the schema of the
// next file.
func (t *typeOut) setSchema() {
	t.cols, t.src = typedColumns(t.inf.Fields())
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
// then the rows are built from the values found in the first pass.
func (w *typedWriter) write(ctx context.Context, b *batch) error {
	w.pairs, w.rowStart = w.pairs[:0], w.rowStart[:0]
	outs := w.outs[:0]
	for i := range b.rows {
		r := &b.rows[i]
		w.rowStart = append(w.rowStart, len(w.pairs))
		var t *typeOut
		if int(r.shard) == w.shard {
			var err error
			if t, err = w.typeOut(r.typ); err != nil {
				return err
			}
		}
		outs = append(outs, t) // nil: another shard's type
		if t == nil || !r.dataJSON || r.data.n == 0 {
			continue
		}
		data := b.bytes(r.data)
		doc := gjson.Parse(unsafe.String(unsafe.SliceData(data), len(data)))
		if !doc.IsObject() {
			continue
		}
		pos := 0
		doc.ForEach(func(k, v gjson.Result) bool {
			fi, c := t.inf.FieldAt(pos, k.Str, v)
			pos++
			w.pairs = append(w.pairs, fieldValue{fi, v})
			t.changed = t.changed || c
			return true
		})
	}
	w.rowStart = append(w.rowStart, len(w.pairs))
	w.outs = outs
	var touched []*typeOut
	for i := range b.rows {
		r, t := &b.rows[i], outs[i]
		if t == nil {
			continue
		}
		day := dayOf(r.created)
		if t.cur != nil && (t.changed || day != t.day || t.cur.size() >= w.pc.opts.FileBytes) {
			if err := w.finish(t); err != nil {
				return err
			}
		}
		if t.changed {
			t.setSchema()
			t.changed = false
		}
		if t.cur == nil {
			if err := w.openFor(t, r, day); err != nil {
				return err
			}
		}
		if len(t.cur.pending) == 0 {
			touched = append(touched, t)
		}
		w.clock++
		t.cur.lastUse = w.clock
		pairs := w.pairs[w.rowStart[i]:w.rowStart[i+1]]
		for _, p := range pairs {
			for p.field >= len(w.fields) {
				w.fields = append(w.fields, gjson.Result{})
			}
			w.fields[p.field] = p.value
		}
		t.cur.add(r.pos, w.rb.typedRow(b, r, t.cols, t.src, w.fields))
		for _, p := range pairs {
			w.fields[p.field] = gjson.Result{}
		}
	}
	var inMemory int64
	for _, t := range touched {
		if t.cur == nil {
			continue
		}
		if err := t.cur.flush(); err != nil {
			return err
		}
	}
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
	f, err := t.cur.finish()
	t.cur = nil
	w.open--
	if err != nil {
		return err
	}
	w.files = append(w.files, f)
	return nil
}

// close finishes every open file and saves the inference state.
func (w *typedWriter) close() error {
	for _, t := range w.types {
		if t.cur != nil {
			if err := w.finish(t); err != nil {
				return err
			}
		}
		t.ds.Inference = t.inf.Saved()
	}
	return nil
}

func (w *typedWriter) abort() {
	for _, t := range w.types {
		if t.cur != nil {
			t.cur.abort()
			t.cur = nil
		}
	}
}
