package sqlfront

import (
	"context"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/tidwall/gjson"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/typeinfer"
)

// rowIter reads the events a scanPlan selects, one engine iterator after
// another, and turns each into a row of the projected columns.
type rowIter struct {
	ctx   *sql.Context
	t     *eventsTable
	plan  *scanPlan
	lo    uint64
	hi    uint64
	cur   *engine.EventIterator
	next  int // next source to open
	srcs  []func(from uint64) (*engine.EventIterator, error)
	cols  []int // schema indexes to produce
	typed fieldSet
	done  bool
	// match is the table's scan filter, if any; dropped counts the
	// events it refused.
	match   *rowMatcher
	dropped uint64
	boxes   rowBoxes
	// data and meta: whether the row has the data / metadata column.
	data, meta bool
	// wire, when set, makes rows of wire values (wire_rows.go).
	wire *wireRows
}

func newRowIter(ctx *sql.Context, t *eventsTable, plan *scanPlan) (*rowIter, error) {
	it := &rowIter{ctx: ctx, t: t, plan: plan, lo: plan.lo, hi: plan.hi, cols: t.projection}
	if it.cols == nil {
		it.cols = make([]int, len(t.schema))
		for i := range it.cols {
			it.cols[i] = i
		}
	}
	var typed map[string]int
	for out, c := range it.cols {
		it.data = it.data || c == colData
		it.meta = it.meta || c == colMetadata
		if c >= numBaseColumns {
			if typed == nil {
				typed = map[string]int{}
			}
			typed[t.typed[c-numBaseColumns].field] = out
		}
	}
	it.typed = newFieldSet(typed)
	if t.filter != nil {
		it.match = t.filter.matcher()
	}
	if sw := t.wire; sw != nil && sw.on {
		if sw.rows == nil {
			sw.rows = t.fe.newWireRows(ctx, t, it.cols, sw.ww)
		}
		if it.wire = sw.rows; it.wire != nil {
			t.fe.wireReads.Add(1)
		}
	}
	if err := it.resolveTimes(); err != nil {
		return nil, err
	}
	if plan.empty || it.lo > it.hi {
		it.done = true
		return it, nil
	}
	store := t.fe.store
	switch {
	case plan.streams != nil:
		for _, s := range plan.streams {
			it.srcs = append(it.srcs, func(uint64) (*engine.EventIterator, error) {
				return t.readStream(ctx, plan, s)
			})
		}
	case t.scope == scopeType:
		it.srcs = append(it.srcs, func(from uint64) (*engine.EventIterator, error) {
			return store.ReadType(ctx, t.scopeName, from, engine.ReadOptions{})
		})
	case plan.types != nil:
		for _, typ := range plan.types {
			it.srcs = append(it.srcs, func(from uint64) (*engine.EventIterator, error) {
				return store.ReadType(ctx, typ, from, engine.ReadOptions{})
			})
		}
	case t.scope == scopeCategory:
		it.srcs = append(it.srcs, func(from uint64) (*engine.EventIterator, error) {
			return store.ReadCategory(ctx, t.scopeName, from, engine.ReadOptions{})
		})
	default:
		it.srcs = append(it.srcs, func(from uint64) (*engine.EventIterator, error) {
			// Positions are gapless: stop exactly at hi.
			limit := 0
			if it.hi-from < math.MaxInt32 {
				limit = int(it.hi-from) + 1
			}
			return store.ReadAll(ctx, from, engine.ReadOptions{Limit: limit})
		})
	}
	return it, nil
}

// resolveTimes narrows the iterator's bounds by the plan's created_at
// bounds.
func (it *rowIter) resolveTimes() error {
	lo, hi, ok, err := it.plan.positionBounds(it.ctx, it.t.fe.store)
	if err != nil {
		return err
	}
	it.lo, it.hi = lo, hi
	it.done = it.done || !ok
	return nil
}

// positionBounds returns the inclusive position range the plan reads, its
// created_at bounds mapped to positions (stamps never go backwards, so a
// time range is a position range); ok is false when it is empty.
func (p *scanPlan) positionBounds(ctx context.Context, store Store) (lo, hi uint64, ok bool, err error) {
	lo, hi = p.lo, p.hi
	if tl := p.timeLo; !tl.IsZero() {
		if p.timeLoOpen {
			tl = tl.Add(time.Microsecond)
		}
		pos, err := store.PositionAt(ctx, tl)
		if err != nil {
			return 0, 0, false, err
		}
		lo = max(lo, pos)
	}
	if th := p.timeHi; !th.IsZero() {
		if !p.timeHiOp {
			th = th.Add(time.Microsecond)
		}
		pos, err := store.PositionAt(ctx, th)
		if err != nil {
			return 0, 0, false, err
		}
		if pos <= 1 {
			return lo, hi, false, nil
		}
		hi = min(hi, pos-1)
	}
	return lo, hi, !p.empty && lo <= hi, nil
}

func (it *rowIter) Next(ctx *sql.Context) (sql.Row, error) {
	e, err := it.nextEvent()
	if err != nil {
		return nil, err
	}
	if it.wire != nil {
		return it.wireRow(e), nil
	}
	return it.row(e), nil
}

// nextEvent returns the next event of the scan, io.EOF after the last.
func (it *rowIter) nextEvent() (*engine.RecordedEvent, error) {
	for !it.done {
		if it.cur == nil {
			if it.next >= len(it.srcs) {
				it.done = true
				break
			}
			src := it.srcs[it.next]
			it.next++
			cur, err := src(it.lo)
			if err != nil {
				return nil, err
			}
			if cur == nil {
				continue
			}
			it.cur = cur
		}
		if !it.cur.Next() {
			err := it.cur.Err()
			it.cur.Close()
			it.cur = nil
			if err != nil {
				return nil, err
			}
			continue
		}
		e := it.cur.Event()
		if e.Position < it.lo {
			continue
		}
		if e.Position > it.hi {
			// Every source reads in position order: this one is done.
			it.cur.Close()
			it.cur = nil
			continue
		}
		if !it.inScope(e) || (it.plan.keep != nil && !it.plan.keep(e)) {
			continue
		}
		if it.match != nil && !it.match.match(e) {
			it.dropped++
			continue
		}
		return e, nil
	}
	return nil, io.EOF
}

func (it *rowIter) inScope(e *engine.RecordedEvent) bool {
	switch it.t.scope {
	case scopeType:
		return e.Type == it.t.scopeName
	case scopeCategory:
		return engine.Category(e.Stream) == it.t.scopeName
	}
	return true
}

func (it *rowIter) Close(*sql.Context) error {
	it.t.fe.scanFiltered.Add(it.dropped)
	it.dropped = 0
	if it.cur != nil {
		it.cur.Close()
		it.cur = nil
	}
	it.done = true
	return nil
}

// row builds the projected columns of e (see rowvalues.go for how it
// saves allocations). Byte slices are copied: e aliases the log only
// until the iterator moves on.
func (it *rowIter) row(e *engine.RecordedEvent) sql.Row {
	row, blk := newRow(len(it.cols))
	data, meta := payloads(e, it.data, it.meta && len(e.Metadata) > 0)
	for out, c := range it.cols {
		switch c {
		case colPosition:
			row[out] = e.Position
		case colStream:
			row[out] = it.boxes.streamName(e.Stream)
		case colVersion:
			row[out] = e.Version
		case colEventID:
			row[out] = e.ID.String()
		case colEventType:
			row[out] = it.boxes.eventType(e.Type)
		case colCreatedAt:
			row[out] = e.CreatedAt
		case colData:
			row[out] = payloadValue(blk.json(0), data, e.DataIsJSON)
		case colMetadata:
			if len(e.Metadata) > 0 {
				row[out] = payloadValue(blk.json(1), meta, e.MetadataIsJSON)
			}
		}
	}
	if !it.typed.empty() && e.DataIsJSON {
		it.fillTyped(row, e.Data)
	}
	return row
}

// payloadValue is the JSON value of a copied payload, in j when not nil.
func payloadValue(j *jsonValue, b []byte, isJSON bool) *jsonValue {
	if !isJSON {
		return nonJSONValue(b)
	}
	if j == nil {
		return newJSONValue(b)
	}
	j.raw = b
	return j
}

// fillTyped sets the typed columns from the data's top-level fields, in
// one pass over the bytes (fields.go). Text is copied out of the log.
func (it *rowIter) fillTyped(row sql.Row, data []byte) {
	it.typed.scan(data, func(out int, v gjson.Result) {
		kind := it.t.typed[it.cols[out]-numBaseColumns].kind
		if kind == typeinfer.KindString && v.Type == gjson.String {
			row[out] = strings.Clone(v.Str)
			return
		}
		row[out] = typedValue(kind, v)
	})
}

// typedValue converts a JSON value to the column's kind; a value that
// does not fit (written after the schema was read) is NULL.
func typedValue(kind typeinfer.Kind, v gjson.Result) any {
	if !v.Exists() || v.Type == gjson.Null {
		return nil
	}
	switch kind {
	case typeinfer.KindInt:
		if v.Type == gjson.Number {
			if i, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
				return i
			}
		}
		return nil
	case typeinfer.KindFloat:
		if v.Type == gjson.Number {
			f := v.Float()
			if !math.IsInf(f, 0) {
				return f
			}
		}
		return nil
	case typeinfer.KindBool:
		switch v.Type {
		case gjson.True:
			return int8(1)
		case gjson.False:
			return int8(0)
		}
		return nil
	case typeinfer.KindDatetime:
		if v.Type == gjson.String {
			if tm, err := time.Parse(time.RFC3339Nano, v.Str); err == nil {
				return tm.UTC().Truncate(time.Microsecond)
			}
		}
		return nil
	case typeinfer.KindString:
		if v.Type == gjson.String {
			return v.Str
		}
		return nil
	}
	return newJSONValue([]byte(v.Raw))
}
