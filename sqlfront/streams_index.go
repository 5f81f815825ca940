package sqlfront

import (
	"errors"
	"io"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/eventsql/eventsql/engine"
)

// streamsIndex is an index of eventsql.streams as GMS sees it: PRIMARY
// (stream) and category, both read from the engine's stream index, which
// is ordered by name. `WHERE stream = ?`, `stream IN (...)`, name ranges,
// `category = ?` and lookup joins from events to their streams read only
// the streams asked for, not all of them.
//
// A lookup join drops the condition it looks up by, so a lookup returns
// exactly the matching streams: every row read is checked against the
// lookup's ranges.
type streamsIndex struct {
	db  string
	col int // streamsColStream or streamsColCategory
	typ sql.Type
}

const (
	streamsColStream   = 0
	streamsColCategory = 1
)

var (
	_ sql.Index                 = (*streamsIndex)(nil)
	_ sql.IndexAddressableTable = (*streamsTable)(nil)
	_ sql.IndexedTable          = (*indexedStreams)(nil)
)

func (i *streamsIndex) ID() string {
	if i.col == streamsColStream {
		return "PRIMARY"
	}
	return "category"
}
func (i *streamsIndex) name() string {
	if i.col == streamsColStream {
		return "stream"
	}
	return "category"
}
func (i *streamsIndex) Database() string { return i.db }
func (i *streamsIndex) Table() string    { return "streams" }
func (i *streamsIndex) Expressions() []string {
	return []string{"streams." + i.name()}
}
func (i *streamsIndex) IsUnique() bool   { return i.col == streamsColStream }
func (i *streamsIndex) IsSpatial() bool  { return false }
func (i *streamsIndex) IsFullText() bool { return false }
func (i *streamsIndex) IsVector() bool   { return false }
func (i *streamsIndex) Comment() string {
	if i.col == streamsColStream {
		return "streams by name"
	}
	return "streams of a category, by name"
}
func (i *streamsIndex) IndexType() string                          { return "BTREE" }
func (i *streamsIndex) IsGenerated() bool                          { return false }
func (i *streamsIndex) PrefixLengths() []uint16                    { return nil }
func (i *streamsIndex) CanSupport(*sql.Context, ...sql.Range) bool { return true }
func (i *streamsIndex) CanSupportOrderBy(sql.Expression) bool      { return false }
func (i *streamsIndex) ColumnExpressionTypes(*sql.Context) []sql.ColumnExpressionType {
	return []sql.ColumnExpressionType{{Expression: "streams." + i.name(), Type: i.typ}}
}

// GetIndexes lists PRIMARY (stream) and category.
func (t *streamsTable) GetIndexes(*sql.Context) ([]sql.Index, error) {
	return []sql.Index{
		&streamsIndex{db: t.db, col: streamsColStream, typ: t.schema[streamsColStream].Type},
		&streamsIndex{db: t.db, col: streamsColCategory, typ: t.schema[streamsColCategory].Type},
	}, nil
}

// PreciseMatch is false: GMS re-applies every filter to the rows read.
func (t *streamsTable) PreciseMatch() bool { return false }

// IndexedAccess returns the table reading through lookup's index.
func (t *streamsTable) IndexedAccess(_ *sql.Context, lookup sql.IndexLookup) sql.IndexedTable {
	if _, ok := lookup.Index.(*streamsIndex); !ok {
		return nil
	}
	return &indexedStreams{streamsTable: t}
}

// indexedStreams is eventsql.streams read through one of its indexes.
type indexedStreams struct{ *streamsTable }

// streamsPartition carries the lookup a partition reads.
type streamsPartition struct{ lookup sql.IndexLookup }

func (streamsPartition) Key() []byte { return []byte("streams") }

func (t *indexedStreams) LookupPartitions(_ *sql.Context, lookup sql.IndexLookup) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(streamsPartition{lookup: lookup}), nil
}

func (t *indexedStreams) PartitionRows(ctx *sql.Context, p sql.Partition) (sql.RowIter, error) {
	sp, ok := p.(streamsPartition)
	if !ok {
		return t.streamsTable.PartitionRows(ctx, p)
	}
	idx := sp.lookup.Index.(*streamsIndex)
	ranges, ok := sp.lookup.Ranges.(sql.MySQLRangeCollection)
	if !ok {
		return nil, errors.New("eventsql: streams index: unsupported lookup")
	}
	if sp.lookup.IsEmptyRange {
		ranges = nil
	}
	return &streamLookupRows{fe: t.fe, idx: idx, ranges: ranges}, nil
}

// streamLookupRows reads the streams in a lookup's ranges, one range
// after the other.
type streamLookupRows struct {
	fe     *Front
	idx    *streamsIndex
	ranges sql.MySQLRangeCollection
	next   int // the next range to read
	cur    *sql.MySQLRangeColumnExpr
	it     *engine.StreamIterator
	// exact is the stream of a point lookup still to return.
	exact string
}

func (r *streamLookupRows) Next(ctx *sql.Context) (sql.Row, error) {
	for {
		if r.exact != "" {
			name := r.exact
			r.exact = ""
			info, err := r.fe.store.StreamInfo(ctx, name)
			if err == nil && r.matches(ctx, info) {
				return streamRow(info), nil
			}
			if err != nil && !errors.Is(err, engine.ErrStreamNotFound) && !errors.Is(err, engine.ErrInvalidInput) {
				return nil, err
			}
		}
		if r.it != nil {
			if r.it.Next() {
				info := r.it.Stream()
				if r.matches(ctx, info) {
					return streamRow(info), nil
				}
				if r.idx.col == streamsColStream {
					// Names are read in order from the range's start:
					// the first one out of it is past its end.
					r.closeIter()
				}
				continue
			}
			err := r.it.Err()
			r.closeIter()
			if err != nil {
				return nil, err
			}
		}
		if r.next >= len(r.ranges) {
			return nil, io.EOF
		}
		if err := r.open(ctx, &r.ranges[r.next][0]); err != nil {
			return nil, err
		}
		r.next++
	}
}

// open starts reading range rg.
func (r *streamLookupRows) open(ctx *sql.Context, rg *sql.MySQLRangeColumnExpr) error {
	r.cur = rg
	var opts engine.ListStreamsOptions
	if k, ok := pointKey(ctx, *rg); ok {
		s, ok := k.(string)
		if !ok {
			return nil // not a name: nothing matches
		}
		if r.idx.col == streamsColStream {
			r.exact = s
			return nil
		}
		// Category c: the stream named c and those named "c-...".
		r.exact = s
		opts.Prefix = s + "-"
	} else if r.idx.col == streamsColStream {
		switch lb := rg.LowerBound.(type) {
		case sql.Below:
			s, ok := lb.Key.(string)
			if !ok {
				return nil
			}
			opts.From = s
		case sql.Above:
			s, ok := lb.Key.(string)
			if !ok {
				return nil
			}
			opts.After = s
		case sql.AboveAll:
			return nil
		}
	}
	it, err := r.fe.store.ListStreams(ctx, opts)
	if err != nil {
		return err
	}
	r.it = it
	return nil
}

// matches reports whether the stream lies in the current range.
func (r *streamLookupRows) matches(ctx *sql.Context, info engine.StreamInfo) bool {
	v := info.Name
	if r.idx.col == streamsColCategory {
		v = info.Category
	}
	return inRange(ctx, *r.cur, r.idx.typ, v)
}

func (r *streamLookupRows) closeIter() {
	if r.it != nil {
		r.it.Close()
		r.it = nil
	}
}

func (r *streamLookupRows) Close(*sql.Context) error {
	r.closeIter()
	return nil
}
