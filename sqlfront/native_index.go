package sqlfront

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"

	"github.com/eventsql/eventsql/engine"
)

// indexMode is how a native aggregate can be answered from the index
// without reading events. The index's counts include events hidden by
// stream metadata or deletes, so they are used only while no stream
// hides events (engine.Store.RestrictedStreams() == 0, checked when the
// query runs); otherwise the aggregate scans.
type indexMode uint8

const (
	indexNone indexMode = iota
	// indexTypes: eventsql.events, grouped by event_type or not, filtered
	// at most by event_type = / IN constants: the type index's entries
	// (count, first and last position).
	indexTypes
	// indexStreams: eventsql.events or by_category.C grouped by stream,
	// unfiltered: the stream states (event count, first and last position,
	// last version).
	indexStreams
	// indexPositions: eventsql.events filtered at most by a position
	// range, overall or GROUP BY DATE(created_at): positions are gapless,
	// so a range's count is its length, and append times never go back,
	// so each day is a position range found with the time index
	// (PositionAt); one event is read per day for its first created_at.
	indexPositions
)

// indexMode decides whether the index answers n, and for indexTypes
// which types the filter keeps.
func (n *nativeAggregate) indexMode(ctx *sql.Context) (indexMode, []string) {
	if n.positionsOnly() {
		return indexPositions, nil
	}
	if n.plan != nil && (n.plan.streams != nil || n.plan.lo > 1 || !n.plan.timeLo.IsZero() || !n.plan.timeHi.IsZero() || n.plan.hi != newScanPlan().hi) {
		return indexNone, nil
	}
	groupCol := -1
	switch len(n.groups) {
	case 0:
	case 1:
		gf, ok := n.groups[0].(*expression.GetField)
		if !ok {
			return indexNone, nil
		}
		groupCol = n.cols[gf.Index()]
	default:
		return indexNone, nil
	}
	// Outputs the index has: COUNT(*), the group column, MIN/MAX of
	// position, and for streams MIN/MAX of version.
	for _, o := range n.outs {
		switch o.kind {
		case aggCountStar:
		case aggFirst:
			if n.cols[o.col] != groupCol {
				return indexNone, nil
			}
		case aggMin, aggMax:
			c := n.cols[o.col]
			if c != colPosition && (c != colVersion || groupCol != colStream) {
				return indexNone, nil
			}
		default:
			return indexNone, nil
		}
	}
	switch {
	case n.t.scope == scopeAll && (groupCol == -1 || groupCol == colEventType):
		types, ok := n.typeFilter(ctx)
		if !ok {
			return indexNone, nil
		}
		return indexTypes, types
	case (n.t.scope == scopeAll || n.t.scope == scopeCategory) && groupCol == colStream && len(n.filter) == 0:
		return indexStreams, nil
	}
	return indexNone, nil
}

// typeFilter returns the event types the filter keeps when every
// conjunct is event_type = 'T' or event_type IN ('T', ...); nil when
// there is no filter.
func (n *nativeAggregate) typeFilter(ctx *sql.Context) ([]string, bool) {
	var keep []string
	for _, f := range n.filter {
		var left sql.Expression
		var right []sql.Expression
		switch f := f.(type) {
		case *expression.Equals:
			left, right = f.Left(), []sql.Expression{f.Right()}
		case *expression.InTuple:
			tup, ok := f.Right().(expression.Tuple)
			if !ok {
				return nil, false
			}
			left, right = f.Left(), tup
		case *expression.HashInTuple:
			tup, ok := f.Right().(expression.Tuple)
			if !ok {
				return nil, false
			}
			left, right = f.Left(), tup
		default:
			return nil, false
		}
		gf, ok := left.(*expression.GetField)
		if !ok || n.cols[gf.Index()] != colEventType {
			return nil, false
		}
		var names []string
		for _, r := range right {
			lit, ok := r.(*expression.Literal)
			if !ok {
				return nil, false
			}
			s, ok := lit.Value().(string)
			if !ok {
				return nil, false
			}
			names = append(names, s)
		}
		slices.Sort(names)
		names = slices.Compact(names)
		keep = intersectNames(keep, names)
	}
	if keep == nil && len(n.filter) > 0 {
		keep = []string{}
	}
	return keep, true
}

// indexEntry is what the index knows of one group.
type indexEntry struct {
	name        string
	count       uint64
	first, last uint64 // positions
	version     int64  // last version (streams)
}

// fromIndex answers from the type index or the stream states, groups in
// order of first appearance (first position) like GMS.
func (n *nativeAggregate) fromIndex(ctx *sql.Context) ([]sql.Row, error) {
	var entries []indexEntry
	switch n.index {
	case indexTypes:
		infos, err := n.fe.store.EventTypes(ctx)
		if err != nil {
			return nil, err
		}
		for _, in := range infos {
			if n.indexTypes != nil {
				if _, ok := slices.BinarySearch(n.indexTypes, in.Name); !ok {
					continue
				}
			}
			entries = append(entries, indexEntry{name: in.Name, count: in.Count, first: in.FirstPosition, last: in.LastPosition})
		}
	case indexStreams:
		var err error
		if entries, err = n.streamEntries(ctx); err != nil {
			return nil, err
		}
	case indexPositions:
		return n.fromPositions(ctx)
	}
	if len(n.groups) == 0 {
		// One row over everything (indexTypes only).
		total := indexEntry{}
		for _, e := range entries {
			if e.count == 0 {
				continue
			}
			if total.count == 0 || e.first < total.first {
				total.first = e.first
			}
			total.last = max(total.last, e.last)
			total.count += e.count
		}
		return []sql.Row{n.indexRow(total)}, nil
	}
	entries = slices.DeleteFunc(entries, func(e indexEntry) bool { return e.count == 0 })
	if n.plan == nil || n.plan.types == nil {
		// A scan in position order meets groups by first position; with
		// event_type = / IN GMS reads type after type, in name order
		// (entries already are).
		slices.SortFunc(entries, func(a, b indexEntry) int { return cmp.Compare(a.first, b.first) })
	}
	rows := make([]sql.Row, len(entries))
	for i, e := range entries {
		rows[i] = n.indexRow(e)
	}
	return rows, nil
}

// streamEntries lists the streams in scope with their counts.
func (n *nativeAggregate) streamEntries(ctx *sql.Context) ([]indexEntry, error) {
	var entries []indexEntry
	add := func(in engine.StreamInfo) {
		if n.t.scope == scopeCategory && in.Category != n.t.scopeName {
			return
		}
		entries = append(entries, indexEntry{name: in.Name, count: uint64(max(in.EventCount, 0)),
			first: in.FirstPosition, last: in.LastPosition, version: in.Version})
	}
	opts := engine.ListStreamsOptions{}
	if n.t.scope == scopeCategory {
		// A category's streams are named "C-..." or just "C".
		opts.Prefix = n.t.scopeName + "-"
		in, err := n.fe.store.StreamInfo(ctx, n.t.scopeName)
		if err == nil {
			add(in)
		} else if !isMissingStream(err) {
			return nil, err
		}
	}
	it, err := n.fe.store.ListStreams(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for it.Next() {
		add(it.Stream())
		if len(entries)%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	return entries, it.Err()
}

func isMissingStream(err error) bool {
	return errors.Is(err, engine.ErrStreamNotFound) || errors.Is(err, engine.ErrStreamDeleted) || errors.Is(err, engine.ErrInvalidInput)
}

// indexRow builds a result row from an index entry.
func (n *nativeAggregate) indexRow(e indexEntry) sql.Row {
	r := make(sql.Row, len(n.outs))
	for j, o := range n.outs {
		switch o.kind {
		case aggCountStar:
			r[j] = int64(e.count)
			continue
		}
		if e.count == 0 {
			continue // MIN/MAX/first of no rows: NULL
		}
		switch {
		case o.kind == aggFirst:
			r[j] = e.name
		case n.cols[o.col] == colPosition && o.kind == aggMin:
			r[j] = e.first
		case n.cols[o.col] == colPosition:
			r[j] = e.last
		case o.kind == aggMin: // version
			r[j] = int64(0)
		default:
			r[j] = e.version
		}
	}
	return r
}

// positionsOnly: eventsql.events, COUNT(*) and MIN/MAX(position) (and
// created_at's first value or MIN when grouped by its day), no group or
// GROUP BY DATE(created_at), filtered only by position comparisons.
func (n *nativeAggregate) positionsOnly() bool {
	if n.t.scope != scopeAll || len(n.slow) > 0 {
		return false
	}
	byDay := false
	switch len(n.groups) {
	case 0:
	case 1:
		byDay = n.keys[0].day && n.cols[n.keys[0].slot] == colCreatedAt
		if !byDay {
			return false
		}
	default:
		return false
	}
	for _, o := range n.outs {
		switch {
		case o.kind == aggCountStar:
		case (o.kind == aggMin || o.kind == aggMax) && n.cols[o.col] == colPosition:
		case byDay && (o.kind == aggFirst || o.kind == aggMin) && n.cols[o.col] == colCreatedAt:
		default:
			return false
		}
	}
	for _, p := range n.fast {
		if n.cols[p.slot] != colPosition || p.in != nil || p.op == opNe ||
			(p.kind != fastUint && p.kind != fastInt && p.kind != fastDouble) {
			return false
		}
	}
	return true
}

// positionRange is the range of positions the (position-only) filter
// keeps, up to head; ok is false when it is empty.
func (n *nativeAggregate) positionRange(head uint64) (lo, hi uint64, ok bool) {
	flo, fhi := 1.0, float64(head)
	for _, p := range n.fast {
		v := p.f
		switch p.kind {
		case fastUint:
			v = float64(p.u)
		case fastInt:
			v = float64(p.i)
		}
		switch p.op {
		case opEq:
			flo, fhi = max(flo, math.Ceil(v)), min(fhi, math.Floor(v))
		case opGt:
			flo = max(flo, math.Floor(v)+1)
		case opGe:
			flo = max(flo, math.Ceil(v))
		case opLt:
			fhi = min(fhi, math.Ceil(v)-1)
		case opLe:
			fhi = min(fhi, math.Floor(v))
		}
	}
	if flo > fhi {
		return 0, 0, false
	}
	return uint64(flo), uint64(fhi), true
}

// fromPositions answers an indexPositions aggregate.
func (n *nativeAggregate) fromPositions(ctx *sql.Context) ([]sql.Row, error) {
	store := n.fe.store
	lo, hi, ok := n.positionRange(store.Head())
	if len(n.groups) == 0 {
		e := indexEntry{}
		if ok {
			e = indexEntry{count: hi - lo + 1, first: lo, last: hi}
		}
		return []sql.Row{n.indexRow(e)}, nil
	}
	var rows []sql.Row
	for cur := lo; ok && cur <= hi; {
		// The day of the event at cur starts a group; the next day's first
		// position ends it.
		first, err := n.eventAt(ctx, cur)
		if err != nil {
			return nil, err
		}
		if first == nil {
			return n.scan(ctx) // not the expected event: let the scan decide
		}
		day := first.CreatedAt.Truncate(24 * time.Hour)
		next, err := store.PositionAt(ctx, day.Add(24*time.Hour))
		if err != nil {
			return nil, err
		}
		next = min(max(next, cur+1), hi+1)
		r := n.indexRow(indexEntry{count: next - cur, first: cur, last: next - 1})
		for j, o := range n.outs {
			if n.cols[max(o.col, 0)] == colCreatedAt && o.col >= 0 {
				r[j] = first.CreatedAt
			}
		}
		rows = append(rows, r)
		cur = next
	}
	return rows, nil
}

// eventAt reads the event at position pos; nil when the log has another
// one there (hidden events: the caller scans instead).
func (n *nativeAggregate) eventAt(ctx *sql.Context, pos uint64) (*engine.RecordedEvent, error) {
	it, err := n.fe.store.ReadAll(ctx, pos, engine.ReadOptions{Limit: 1})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Next() {
		return nil, it.Err()
	}
	e := it.Event()
	if e.Position != pos {
		return nil, nil
	}
	return e.Clone(), nil
}
