package sqlfront

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/google/uuid"

	"github.com/eventsql/eventsql/engine"
)

// columnIndex is one of the engine's indexes as GMS sees it: PRIMARY
// (position), stream, event_type and event_id of an event table. GMS uses
// them for lookup joins: for each row of the other side it hands a
// lookup (one key per range) to LookupPartitions, which reads just those
// events. Single-table WHERE clauses still get our own plan through
// LookupForExpressions (SkipIndexCosting keeps GMS's coster away from
// these indexes there).
//
// The indexes do not declare an order (sql.OrderedIndex), so GMS never
// plans merge joins or drops a sort because of them: a stream lookup
// returns its events in stream order, not by position.
//
// A lookup join drops the join condition it looks up by, so a lookup must
// return exactly the matching events: point lookups read exactly the keys
// (names compare as bytes, like the columns' binary collation); anything
// else is read as a superset and checked row by row (scanPlan.keep).
type columnIndex struct {
	db, table string
	// source is the table name the columns carry (lower case): GMS finds
	// an index's columns by comparing its expressions with
	// "source.column" exactly (SHOW INDEXES, DESCRIBE's Key,
	// information_schema.STATISTICS).
	source  string
	col     int
	id      string
	unique  bool
	typ     sql.Type
	colName string
}

var _ sql.Index = (*columnIndex)(nil)

// GetIndexes lists the engine's indexes that apply to the table. A
// by_type table has no event_type index (every row has the same type).
func (t *eventsTable) GetIndexes(*sql.Context) ([]sql.Index, error) {
	idx := func(col int, id string, unique bool) sql.Index {
		c := t.schema[col]
		return &columnIndex{db: t.db, table: t.name, source: c.Source, col: col, id: id, unique: unique, typ: c.Type, colName: c.Name}
	}
	out := []sql.Index{
		idx(colPosition, "PRIMARY", true),
		idx(colStream, "stream", false),
		idx(colEventID, "event_id", true),
	}
	if t.scope != scopeType {
		out = append(out, idx(colEventType, "event_type", false))
	}
	return out, nil
}

func (i *columnIndex) ID() string       { return i.id }
func (i *columnIndex) Database() string { return i.db }
func (i *columnIndex) Table() string    { return i.table }
func (i *columnIndex) Expressions() []string {
	return []string{i.source + "." + i.colName}
}
func (i *columnIndex) IsUnique() bool   { return i.unique }
func (i *columnIndex) IsSpatial() bool  { return false }
func (i *columnIndex) IsFullText() bool { return false }
func (i *columnIndex) IsVector() bool   { return false }
func (i *columnIndex) Comment() string {
	switch i.col {
	case colPosition:
		return "global position (log offset index)"
	case colStream:
		return "events of a stream, by version"
	case colEventID:
		return "event by id"
	}
	return "events of a type, by position"
}
func (i *columnIndex) IndexType() string                          { return "BTREE" }
func (i *columnIndex) IsGenerated() bool                          { return false }
func (i *columnIndex) PrefixLengths() []uint16                    { return nil }
func (i *columnIndex) CanSupport(*sql.Context, ...sql.Range) bool { return true }
func (i *columnIndex) CanSupportOrderBy(sql.Expression) bool      { return false }
func (i *columnIndex) ColumnExpressionTypes(*sql.Context) []sql.ColumnExpressionType {
	return []sql.ColumnExpressionType{{Expression: i.source + "." + i.colName, Type: i.typ}}
}

// LookupPartitions: a lookup on one of the column indexes becomes a
// partition carrying its own scanPlan; our own plan (planIndex) was
// already set by IndexedAccess.
func (t *eventsTable) LookupPartitions(ctx *sql.Context, lookup sql.IndexLookup) (sql.PartitionIter, error) {
	ci, ok := lookup.Index.(*columnIndex)
	if !ok {
		return t.Partitions(ctx)
	}
	p, err := t.lookupPlan(ctx, ci, lookup)
	if err != nil {
		return nil, err
	}
	return sql.PartitionsToPartitionIter(eventsPartition{plan: p}), nil
}

// lookupPlan turns a lookup on a column index into a scanPlan that reads
// exactly the events whose column lies in the lookup's ranges.
func (t *eventsTable) lookupPlan(ctx *sql.Context, ci *columnIndex, lookup sql.IndexLookup) (*scanPlan, error) {
	p := newScanPlan()
	ranges, ok := lookup.Ranges.(sql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("eventsql: index %s of %s.%s: unsupported lookup %T", ci.id, t.db, t.name, lookup.Ranges)
	}
	if lookup.IsEmptyRange || len(ranges) == 0 {
		p.empty = true
		return p, nil
	}
	var points []any
	exact := true
	for _, r := range ranges {
		if len(r) != 1 {
			return nil, fmt.Errorf("eventsql: index %s of %s.%s: lookup of %d columns", ci.id, t.db, t.name, len(r))
		}
		if k, ok := pointKey(ctx, r[0]); ok {
			points = append(points, k)
		} else {
			exact = false
		}
	}
	switch ci.col {
	case colStream, colEventType:
		names := stringValues(ctx, points)
		if !exact || names == nil || len(names) > maxStreamsLookup {
			break // read the table's scope, keep what is in range
		}
		if ci.col == colStream {
			p.streams = names
			return p, nil
		}
		if t.scope != scopeType {
			p.types = names
			return p, nil
		}
		if !slices.Contains(names, t.scopeName) {
			p.empty = true
		}
		return p, nil
	case colPosition:
		if len(ranges) == 1 {
			t.addRangeBounds(ctx, p, ranges[0][0])
			return p, nil
		}
		p.empty = true
		for _, r := range ranges {
			q := newScanPlan()
			t.addRangeBounds(ctx, q, r[0])
			if q.empty {
				continue
			}
			if p.empty {
				p.lo, p.hi, p.empty = q.lo, q.hi, false
			} else {
				p.lo, p.hi = min(p.lo, q.lo), max(p.hi, q.hi)
			}
		}
		if p.empty {
			return p, nil
		}
	case colEventID:
		// Ids resolve to positions; the row check below compares the
		// text, so only canonical (lower-case) ids match, as in SQL.
		ids := stringValues(ctx, points)
		if !exact || ids == nil {
			break
		}
		p.empty = true
		for _, s := range ids {
			id, err := uuid.Parse(s)
			if err != nil {
				continue
			}
			e, err := t.fe.store.GetEvent(ctx, id)
			if errors.Is(err, engine.ErrEventNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if p.empty {
				p.lo, p.hi, p.empty = e.Position, e.Position, false
			} else {
				p.lo, p.hi = min(p.lo, e.Position), max(p.hi, e.Position)
			}
		}
		if p.empty {
			return p, nil
		}
	}
	col, typ := ci.col, ci.typ
	p.keep = func(e *engine.RecordedEvent) bool {
		v := eventValue(e, col)
		for _, r := range ranges {
			if inRange(ctx, r[0], typ, v) {
				return true
			}
		}
		return false
	}
	return p, nil
}

// addRangeBounds narrows p's positions to one range of the position index.
func (t *eventsTable) addRangeBounds(ctx *sql.Context, p *scanPlan, r sql.MySQLRangeColumnExpr) {
	switch lb := r.LowerBound.(type) {
	case sql.Below:
		t.addBound(ctx, p, colPosition, lb.Key, true, false)
	case sql.Above:
		t.addBound(ctx, p, colPosition, lb.Key, true, true)
	case sql.AboveAll:
		p.empty = true
	}
	switch ub := r.UpperBound.(type) {
	case sql.Above:
		t.addBound(ctx, p, colPosition, ub.Key, false, false)
	case sql.Below:
		t.addBound(ctx, p, colPosition, ub.Key, false, true)
	case sql.AboveNull, sql.BelowNull:
		p.empty = true // only NULL, and positions are never NULL
	}
}

// pointKey returns k when r is [k, k].
func pointKey(ctx *sql.Context, r sql.MySQLRangeColumnExpr) (any, bool) {
	lo, ok1 := r.LowerBound.(sql.Below)
	hi, ok2 := r.UpperBound.(sql.Above)
	if !ok1 || !ok2 || lo.Key == nil {
		return nil, false
	}
	c, err := r.Typ.Compare(ctx, lo.Key, hi.Key)
	if err != nil || c != 0 {
		return nil, false
	}
	return lo.Key, true
}

// inRange reports whether the non-NULL value v lies in r.
func inRange(ctx *sql.Context, r sql.MySQLRangeColumnExpr, typ sql.Type, v any) bool {
	cmp := func(k any) (int, bool) {
		c, err := typ.Compare(ctx, v, k)
		return c, err == nil
	}
	switch lb := r.LowerBound.(type) {
	case sql.Below:
		if c, ok := cmp(lb.Key); !ok || c < 0 {
			return false
		}
	case sql.Above:
		if c, ok := cmp(lb.Key); !ok || c <= 0 {
			return false
		}
	case sql.AboveAll:
		return false
	}
	switch ub := r.UpperBound.(type) {
	case sql.Above:
		if c, ok := cmp(ub.Key); !ok || c > 0 {
			return false
		}
	case sql.Below:
		if c, ok := cmp(ub.Key); !ok || c >= 0 {
			return false
		}
	case sql.AboveNull, sql.BelowNull:
		return false
	}
	return true
}

// eventValue is the value of an indexed column of e.
func eventValue(e *engine.RecordedEvent, col int) any {
	switch col {
	case colPosition:
		return e.Position
	case colStream:
		return e.Stream
	case colEventType:
		return e.Type
	case colEventID:
		return e.ID.String()
	}
	return nil
}
