package sqlfront

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/tidwall/gjson"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/typeinfer"
)

// nativeAggregate is a GroupBy over one event table computed by eventsql:
// from the type index's counts where they are exact, otherwise by a
// parallel scan of position chunks whose partial aggregates are merged in
// chunk order, so results (first values, group order, DOUBLE sums) are
// those of GMS's row-at-a-time GroupBy over the same rows.
type nativeAggregate struct {
	fe     *Front
	t      *eventsTable
	plan   *scanPlan // nil: read the whole scope
	schema sql.Schema
	deps   []sql.Expression // the GroupBy's select expressions (column ids)
	cols   []int            // schema index per mini-row slot
	filter []sql.Expression // conjuncts over the mini-row
	fast   []fastPred       // the conjuncts compiled to Go comparisons
	slow   []sql.Expression // the others, evaluated by GMS
	groups []sql.Expression // group keys over the mini-row
	keys   []groupKey       // how each group key is computed
	// groupSlot is the mini-row slot of a single text group key (the key
	// is then the string itself); -1 otherwise.
	groupSlot int
	outs      []aggOut
	// parallel: the scan may use every core (no GMS expression is
	// evaluated per row).
	parallel bool
	// index, when set, answers from index counts while no stream hides
	// events (native_index.go).
	index indexMode
	// indexTypes limits an indexTypes answer to these event types (nil:
	// every type).
	indexTypes []string
}

var (
	_ sql.ExecSourceRel = (*nativeAggregate)(nil)
	_ sql.Projector     = (*nativeAggregate)(nil)
)

func (n *nativeAggregate) Resolved() bool                   { return true }
func (n *nativeAggregate) Schema(*sql.Context) sql.Schema   { return n.schema }
func (n *nativeAggregate) Children() []sql.Node             { return nil }
func (n *nativeAggregate) IsReadOnly() bool                 { return true }
func (n *nativeAggregate) ProjectedExprs() []sql.Expression { return n.deps }
func (n *nativeAggregate) WithChildren(_ *sql.Context, children ...sql.Node) (sql.Node, error) {
	if len(children) != 0 {
		return nil, sql.ErrInvalidChildrenNumber.New(n, len(children), 0)
	}
	return n, nil
}

// String is what EXPLAIN shows.
func (n *nativeAggregate) String() string {
	p := sql.NewTreePrinter()
	_ = p.WriteNode("NativeAggregate(%s)", n.t.String())
	deps := make([]string, len(n.deps))
	for i, d := range n.deps {
		deps[i] = d.String()
	}
	groups := make([]string, len(n.groups))
	for i, g := range n.groups {
		groups[i] = g.String()
	}
	filter := make([]string, len(n.filter))
	for i, f := range n.filter {
		filter[i] = f.String()
	}
	read := "parallel scan"
	if !n.parallel {
		read = "scan"
	}
	if n.plan != nil && n.plan.useful() {
		read += " of " + n.plan.String()
	}
	switch n.index {
	case indexTypes:
		read = "type index counts (a " + read + " while streams hide events)"
	case indexStreams:
		read = "stream index counts (a " + read + " while streams hide events)"
	case indexPositions:
		what := "position range"
		if len(n.groups) > 0 {
			what = "time index: a position range per day"
		}
		read = what + " (a " + read + " while streams hide events)"
	}
	children := []string{"select: " + strings.Join(deps, ", "), "group: " + strings.Join(groups, ", ")}
	if len(filter) > 0 {
		children = append(children, "filter: "+strings.Join(filter, " AND "))
	}
	children = append(children, "read: "+read)
	_ = p.WriteChildren(children...)
	return p.String()
}

func (n *nativeAggregate) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	return &nativeAggIter{n: n}, nil
}

// nativeAggIter computes the result on the first Next.
type nativeAggIter struct {
	n    *nativeAggregate
	rows []sql.Row
	done bool
}

func (it *nativeAggIter) Next(ctx *sql.Context) (sql.Row, error) {
	if !it.done {
		rows, err := it.n.compute(ctx)
		if err != nil {
			return nil, err
		}
		it.rows, it.done = rows, true
	}
	if len(it.rows) == 0 {
		return nil, io.EOF
	}
	r := it.rows[0]
	it.rows = it.rows[1:]
	return r, nil
}

func (it *nativeAggIter) Close(*sql.Context) error { it.rows = nil; return nil }

func (n *nativeAggregate) compute(ctx *sql.Context) ([]sql.Row, error) {
	if n.index != indexNone && n.fe.store.RestrictedStreams() == 0 {
		return n.fromIndex(ctx)
	}
	return n.scan(ctx)
}

// scanChunk is one piece of the read: events of one source between two
// positions. Chunks are merged in slice order, which is the order GMS's
// row iterator reads them in.
type scanChunk struct {
	open   func(ctx context.Context) (*engine.EventIterator, error)
	lo, hi uint64
}

const (
	chunkPositions = 1 << 16 // minimum positions per chunk (Front.aggChunk)
	maxChunks      = 1024    // per source
)

// chunks splits the plan's read into chunks, all bounded by one head
// position read here, so the result is that of a single snapshot.
func (n *nativeAggregate) chunks(ctx *sql.Context) ([]scanChunk, error) {
	store := n.fe.store
	plan := n.plan
	if plan == nil {
		plan = newScanPlan()
	}
	lo, hi, ok, err := plan.positionBounds(ctx, store)
	if err != nil || !ok {
		return nil, err
	}
	hi = min(hi, store.Head())
	lo = max(lo, 1)
	if lo > hi {
		return nil, nil
	}
	var out []scanChunk
	split := func(lo, hi uint64, open func(ctx context.Context, from uint64) (*engine.EventIterator, error)) {
		if lo > hi {
			return
		}
		step := max(n.fe.aggChunk, (hi-lo)/maxChunks+1)
		for from := lo; from <= hi; {
			to := hi
			if hi-from >= step {
				to = from + step - 1
			}
			start := from
			out = append(out, scanChunk{lo: start, hi: to, open: func(ctx context.Context) (*engine.EventIterator, error) {
				return open(ctx, start)
			}})
			if to == hi {
				break
			}
			from = to + 1
		}
	}
	// bounded narrows [lo, hi] to where a type or category has events.
	bounded := func(infos []engine.NameInfo, name string) (uint64, uint64) {
		in, ok := findName(infos, name)
		if !ok {
			return 1, 0
		}
		return max(lo, in.FirstPosition), min(hi, in.LastPosition)
	}
	switch {
	case plan.streams != nil:
		for _, s := range plan.streams {
			out = append(out, scanChunk{lo: lo, hi: hi, open: func(ctx context.Context) (*engine.EventIterator, error) {
				return n.t.readStream(ctx, plan, s)
			}})
		}
	case n.t.scope == scopeType || plan.types != nil:
		infos, err := n.fe.names.eventTypes(ctx)
		if err != nil {
			return nil, err
		}
		names := plan.types
		if n.t.scope == scopeType {
			names = []string{n.t.scopeName}
		}
		for _, typ := range names {
			tlo, thi := bounded(infos, typ)
			split(tlo, thi, func(ctx context.Context, from uint64) (*engine.EventIterator, error) {
				return store.ReadType(ctx, typ, from, engine.ReadOptions{})
			})
		}
	case n.t.scope == scopeCategory:
		infos, err := n.fe.names.categories(ctx)
		if err != nil {
			return nil, err
		}
		clo, chi := bounded(infos, n.t.scopeName)
		split(clo, chi, func(ctx context.Context, from uint64) (*engine.EventIterator, error) {
			return store.ReadCategory(ctx, n.t.scopeName, from, engine.ReadOptions{})
		})
	default:
		split(lo, hi, func(ctx context.Context, from uint64) (*engine.EventIterator, error) {
			return store.ReadAll(ctx, from, engine.ReadOptions{})
		})
	}
	return out, nil
}

// scan reads the chunks on every core and merges their partial
// aggregates in chunk order. At most window chunks are in flight or
// waiting to be merged, so memory stays bounded by the groups.
func (n *nativeAggregate) scan(ctx *sql.Context) ([]sql.Row, error) {
	chunks, err := n.chunks(ctx)
	if err != nil {
		return nil, err
	}
	total := newPartial()
	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	if !n.parallel {
		workers = min(workers, 1)
	}
	if workers > 0 {
		window := 4 * workers
		type result struct {
			p   *partial
			err error
		}
		results := make([]chan result, len(chunks))
		for i := range results {
			results[i] = make(chan result, 1)
		}
		sctx, cancel := context.WithCancel(ctx)
		wctx := ctx.WithContext(sctx)
		slots := make(chan struct{}, window)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					select {
					case slots <- struct{}{}:
					case <-sctx.Done():
						return
					}
					i := int(next.Add(1) - 1)
					if i >= len(chunks) {
						<-slots
						return
					}
					p, err := n.scanChunk(wctx, chunks[i])
					results[i] <- result{p, err}
				}
			})
		}
		for i := range chunks {
			var r result
			select {
			case r = <-results[i]:
			case <-ctx.Done():
				r.err = ctx.Err()
			}
			if r.err == nil {
				r.err = total.merge(ctx, n, r.p)
			}
			if r.err == nil {
				<-slots
				continue
			}
			cancel()
			wg.Wait()
			return nil, r.err
		}
		cancel()
		wg.Wait()
	}
	return total.rows(n), nil
}

// scanChunk aggregates one chunk.
func (n *nativeAggregate) scanChunk(ctx *sql.Context, c scanChunk) (*partial, error) {
	p := newPartial()
	if n.fe.beforeChunk != nil {
		n.fe.beforeChunk(ctx)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	it, err := c.open(ctx)
	if err != nil || it == nil {
		return p, err
	}
	defer it.Close()
	row := make(sql.Row, len(n.cols))
	dec := newMiniDecoder(n.t, n.cols)
	var key, lastKey []byte
	last := int32(-1)
	for it.Next() {
		e := it.Event()
		if e.Position < c.lo {
			continue
		}
		if e.Position > c.hi {
			break
		}
		if !n.t.inScope(e) {
			continue
		}
		dec.fill(row, e)
		keep := true
		for i := range n.fast {
			if !n.fast[i].match(row) {
				keep = false
				break
			}
		}
		if !keep {
			continue
		}
		for _, f := range n.slow {
			// As GMS's Filter: a value is true when not zero ("WHERE
			// paid" on a BOOLEAN column, which holds 0 and 1).
			v, err := sql.EvaluateCondition(ctx, f, row)
			if err != nil {
				return nil, err
			}
			if !sql.IsTrue(v) {
				keep = false
				break
			}
		}
		if !keep {
			continue
		}
		var g int32
		switch {
		case len(n.groups) == 0:
			g = p.group("", row)
		case n.groupSlot >= 0:
			s, _ := row[n.groupSlot].(string)
			if row[n.groupSlot] == nil {
				s = "\x00null"
			}
			g = p.group(s, row)
		default:
			key = key[:0]
			for _, gk := range n.keys {
				if key, err = gk.append(ctx, key, row); err != nil {
					return nil, err
				}
			}
			// Rows of a group often come in runs (days, streams): skip
			// the map for a repeated key.
			if last >= 0 && bytes.Equal(key, lastKey) {
				g = last
			} else {
				g = p.groupBytes(key, row)
				last, lastKey = g, append(lastKey[:0], key...)
			}
		}
		if err := p.update(ctx, n, g, row); err != nil {
			return nil, err
		}
	}
	return p, it.Err()
}

// inScope is the table's implicit filter (stream reads return events of
// every type and category).
func (t *eventsTable) inScope(e *engine.RecordedEvent) bool {
	switch t.scope {
	case scopeType:
		return e.Type == t.scopeName
	case scopeCategory:
		return engine.Category(e.Stream) == t.scopeName
	}
	return true
}

// appendKey encodes one group key value; values are those of our
// columns and of DATE().
func appendKey(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, 'n'), nil
	case string:
		b = append(b, 's')
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...), nil
	case int64:
		return binary.BigEndian.AppendUint64(append(b, 'i'), uint64(v)), nil
	case uint64:
		return binary.BigEndian.AppendUint64(append(b, 'u'), v), nil
	case int8:
		return append(b, 'b', byte(v)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, 'f'), math.Float64bits(v)), nil
	case time.Time:
		return appendKeyTime(b, v), nil
	}
	return nil, fmt.Errorf("native aggregate: unexpected group key %T", v)
}

func appendKeyTime(b []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(append(b, 't'), uint64(t.UnixNano()))
}

// groupKey is one GROUP BY expression: a column's value, the day of a
// DATETIME column, or a GMS expression evaluated on the mini-row.
type groupKey struct {
	expr sql.Expression
	slot int // >= 0: read the slot
	day  bool
}

func newGroupKey(ctx *sql.Context, e sql.Expression) groupKey {
	if slot, ok := dayKey(ctx, e); ok {
		return groupKey{expr: e, slot: slot, day: true}
	}
	if gf, ok := e.(*expression.GetField); ok {
		return groupKey{expr: e, slot: gf.Index()}
	}
	return groupKey{expr: e, slot: -1}
}

func (k groupKey) append(ctx *sql.Context, b []byte, row sql.Row) ([]byte, error) {
	switch {
	case k.day:
		if out, ok := appendDay(b, row[k.slot]); ok {
			return out, nil
		}
		return nil, fmt.Errorf("native aggregate: DATE of %T", row[k.slot])
	case k.slot >= 0:
		return appendKey(b, row[k.slot])
	}
	v, err := k.expr.Eval(ctx, row)
	if err != nil {
		return nil, err
	}
	return appendKey(b, v)
}

// miniDecoder fills a mini-row from an event, decoding only the slots'
// columns (typed ones in one pass over the data, like rowIter).
type miniDecoder struct {
	cols   []int // schema index per slot
	fields fieldSet
	kinds  []typeinfer.Kind // per slot, for typed columns
	row    sql.Row          // the row being filled
	setFn  func(slot int, v gjson.Result)
	// Boxing a string allocates: the last stream (events come in runs of
	// a stream), every event type (few) and the first texts of each typed
	// column (currencies, methods, ...) are boxed once.
	stream    string
	boxStream any
	types     map[string]any
	texts     []map[string]any // per slot
}

// maxInterned bounds the texts kept boxed per column and chunk.
const maxInterned = 1024

func newMiniDecoder(t *eventsTable, cols []int) *miniDecoder {
	d := &miniDecoder{cols: cols, types: map[string]any{}, kinds: make([]typeinfer.Kind, len(cols)), texts: make([]map[string]any, len(cols))}
	var typed map[string]int
	for slot, c := range cols {
		if c >= numBaseColumns {
			if typed == nil {
				typed = map[string]int{}
			}
			tc := t.typed[c-numBaseColumns]
			typed[tc.field] = slot
			d.kinds[slot] = tc.kind
			if tc.kind == typeinfer.KindString {
				d.texts[slot] = map[string]any{}
			}
		}
	}
	d.fields = newFieldSet(typed)
	d.setFn = d.set
	return d
}

func (d *miniDecoder) fill(row sql.Row, e *engine.RecordedEvent) {
	for slot, c := range d.cols {
		switch c {
		case colPosition:
			row[slot] = e.Position
		case colStream:
			if d.boxStream == nil || e.Stream != d.stream {
				d.stream, d.boxStream = e.Stream, e.Stream
			}
			row[slot] = d.boxStream
		case colVersion:
			row[slot] = e.Version
		case colEventID:
			row[slot] = e.ID.String()
		case colEventType:
			b, ok := d.types[e.Type]
			if !ok {
				b = e.Type
				if len(d.types) < 4096 {
					d.types[e.Type] = b
				}
			}
			row[slot] = b
		case colCreatedAt:
			row[slot] = e.CreatedAt
		default:
			row[slot] = nil
		}
	}
	if d.fields.empty() || !e.DataIsJSON {
		return
	}
	d.row = row
	d.fields.scan(e.Data, d.setFn)
	d.row = nil
}

// set stores one typed value; text, which aliases the log, is copied.
func (d *miniDecoder) set(slot int, v gjson.Result) {
	if m := d.texts[slot]; m != nil && v.Type == gjson.String {
		b, ok := m[v.Str]
		if !ok {
			s := strings.Clone(v.Str)
			b = s
			if len(m) < maxInterned {
				m[s] = b
			}
		}
		d.row[slot] = b
		return
	}
	d.row[slot] = typedValue(d.kinds[slot], v)
}

// partial is the aggregate state of one chunk, or of the whole result.
type partial struct {
	index  map[string]int32
	keys   []string
	groups []*groupAcc // in order of first appearance
	// sums are the SUM/AVG values in row order: DOUBLE addition is not
	// associative, so they are added up in the merge, in GMS's order.
	sums []sumEntry
}

type groupAcc struct {
	first []any     // aggFirst: the first row's value
	n     []int64   // counts; for SUM/AVG the number of values
	v     []any     // MIN/MAX
	sum   []float64 // SUM/AVG, in the merged total only
}

type sumEntry struct {
	g   int32
	out int32
	v   float64
}

func newPartial() *partial {
	return &partial{index: map[string]int32{}}
}

func (p *partial) group(key string, row sql.Row) int32 {
	if g, ok := p.index[key]; ok {
		return g
	}
	return p.add(key, row)
}

func (p *partial) groupBytes(key []byte, row sql.Row) int32 {
	if g, ok := p.index[string(key)]; ok {
		return g
	}
	return p.add(string(key), row)
}

func (p *partial) add(key string, row sql.Row) int32 {
	g := int32(len(p.groups))
	p.index[key] = g
	p.keys = append(p.keys, key)
	p.groups = append(p.groups, &groupAcc{})
	p.groups[g].firstRow(row)
	return g
}

// firstRow keeps the mini-row of a group's first row (only the slots
// aggFirst outputs need are read from it later).
func (a *groupAcc) firstRow(row sql.Row) {
	a.first = slices.Clone(row)
}

func (p *partial) update(ctx *sql.Context, n *nativeAggregate, g int32, row sql.Row) error {
	a := p.groups[g]
	if a.n == nil {
		a.n = make([]int64, len(n.outs))
		a.v = make([]any, len(n.outs))
	}
	for j, o := range n.outs {
		switch o.kind {
		case aggCountStar:
			a.n[j]++
		case aggCount:
			if row[o.col] != nil {
				a.n[j]++
			}
		case aggSum, aggAvg:
			v := row[o.col]
			if v == nil {
				continue
			}
			f, err := toDouble(v)
			if err != nil {
				return err
			}
			p.sums = append(p.sums, sumEntry{g: g, out: int32(j), v: f})
			a.n[j]++
		case aggMin, aggMax:
			v := row[o.col]
			if v == nil {
				continue
			}
			if a.v[j] == nil {
				a.v[j] = v
				continue
			}
			better, err := o.better(ctx, v, a.v[j])
			if err != nil {
				return err
			}
			if better {
				a.v[j] = v
			}
		}
	}
	return nil
}

// better reports whether v replaces the current MIN/MAX cur: only when
// strictly smaller/greater, so ties keep the earlier row as in GMS.
func (o aggOut) better(ctx *sql.Context, v, cur any) (bool, error) {
	c, err := o.typ.Compare(ctx, v, cur)
	if err != nil {
		return false, err
	}
	if o.kind == aggMin {
		return c < 0, nil
	}
	return c > 0, nil
}

// toDouble converts a numeric column value as GMS's SUM does.
func toDouble(v any) (float64, error) {
	switch v := v.(type) {
	case float64:
		return v, nil
	case int64:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	case int8:
		return float64(v), nil
	}
	return 0, fmt.Errorf("native aggregate: cannot sum %T", v)
}

// merge adds a later chunk's partial to the total.
func (p *partial) merge(ctx *sql.Context, n *nativeAggregate, q *partial) error {
	ids := make([]int32, len(q.groups))
	for gi, a := range q.groups {
		key := q.keys[gi]
		g, ok := p.index[key]
		if !ok {
			g = int32(len(p.groups))
			p.index[key] = g
			p.keys = append(p.keys, key)
			p.groups = append(p.groups, &groupAcc{first: a.first})
		}
		ids[gi] = g
		t := p.groups[g]
		if t.n == nil {
			t.n = make([]int64, len(n.outs))
			t.v = make([]any, len(n.outs))
			t.sum = make([]float64, len(n.outs))
		}
		for j, o := range n.outs {
			t.n[j] += a.n[j]
			if (o.kind != aggMin && o.kind != aggMax) || a.v[j] == nil {
				continue
			}
			if t.v[j] == nil {
				t.v[j] = a.v[j]
				continue
			}
			better, err := o.better(ctx, a.v[j], t.v[j])
			if err != nil {
				return err
			}
			if better {
				t.v[j] = a.v[j]
			}
		}
	}
	for _, s := range q.sums {
		p.groups[ids[s.g]].sum[s.out] += s.v
	}
	return nil
}

// rows turns the total into result rows, in GMS's order.
func (p *partial) rows(n *nativeAggregate) []sql.Row {
	if len(p.groups) == 0 {
		if len(n.groups) > 0 {
			return nil
		}
		// An aggregate over no rows is one row: COUNT 0, others NULL.
		r := make(sql.Row, len(n.outs))
		for j, o := range n.outs {
			if o.kind == aggCountStar || o.kind == aggCount {
				r[j] = int64(0)
			}
		}
		return []sql.Row{r}
	}
	out := make([]sql.Row, 0, len(p.groups))
	for _, a := range p.groups {
		r := make(sql.Row, len(n.outs))
		for j, o := range n.outs {
			switch o.kind {
			case aggFirst:
				r[j] = a.first[o.col]
			case aggCountStar, aggCount:
				r[j] = a.n[j]
			case aggSum:
				if a.n[j] > 0 {
					r[j] = a.sum[j]
				}
			case aggAvg:
				if a.n[j] > 0 {
					r[j] = a.sum[j] / float64(a.n[j])
				}
			case aggMin, aggMax:
				r[j] = a.v[j]
			}
		}
		out = append(out, r)
	}
	return out
}
