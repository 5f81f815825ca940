package sqlfront

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"

	server "github.com/eventsql/eventsql/sqlfront/internal/gmsserver"
)

// wireSources builds the iterator of every event table read (GMS's exec
// builder asks it after enforcedFilters) as a server.WireSource: a
// read that the SQL server finds straight under the result, with only
// iterators that hand rows on untouched in between (SELECT * or some
// columns, WHERE conjuncts the read enforces, LIMIT), is asked to return
// its rows as wire values (wire_rows.go), which saves boxing each value
// and converting it again: 6–7 allocations and ~1 µs of CPU a row. The
// server decides on the iterator tree it streams (results.go), so a
// read anywhere else (under a filter, a sort, a join, in a subquery)
// keeps returning Go values.
type wireSources struct {
	fe   *Front
	base *rowexec.BaseBuilder
}

var _ sql.NodeExecBuilder = wireSources{}

// Build returns an event table read's iterator as a wireSource; nil (GMS
// builds it) for any other node, and for the read it rebuilds itself.
func (b wireSources) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	if b.fe.noWireValues {
		return nil, nil
	}
	var (
		read sql.Node
		sw   *wireSwitch
	)
	switch n := n.(type) {
	case *plan.ResolvedTable:
		t, s := wireTable(n.Table)
		if t == nil {
			return nil, nil
		}
		rt, err := n.WithTable(ctx, t)
		if err != nil {
			return nil, err
		}
		read, sw = rt, s
	case *plan.IndexedTableAccess:
		t, s := wireTable(n.Table)
		if t == nil {
			return nil, nil
		}
		it, ok := t.(sql.IndexedTable)
		if !ok {
			return nil, nil
		}
		ita := *n
		ita.Table = it
		read, sw = &ita, s
	default:
		return nil, nil
	}
	iter, err := b.base.Build(ctx, read, row) // asks b again: c.wire is set
	if err != nil {
		return nil, err
	}
	return &wireSource{RowIter: iter, fe: b.fe, sw: sw}, nil
}

// wireTable returns a copy of t, an event table or GMS's process-list
// wrapper of one, whose reads can make wire values; nil for any other
// table or one already copied.
func wireTable(t sql.Table) (sql.Table, *wireSwitch) {
	switch t := t.(type) {
	case *eventsTable:
		if t.wire != nil {
			return nil, nil
		}
		c := *t
		c.wire = new(wireSwitch)
		return &c, c.wire
	case *plan.ProcessTable:
		inner, sw := wireTable(t.Table)
		if inner == nil {
			return nil, nil
		}
		c := *t
		c.Table = inner
		return &c, sw
	}
	return nil, nil
}

// wireSwitch tells an event table's row iterators to return wire values.
// The server sets it before the first row is read (rows are read after
// the iterator tree is built, and the table's row iterators are created
// on the first read). The read's partitions share one wireRows: the
// server counts the rows it wrote across them.
type wireSwitch struct {
	on   bool
	ww   *server.WireWrites
	rows *wireRows
}

// wireSource is an event table read that can return wire values.
type wireSource struct {
	sql.RowIter
	fe *Front
	sw *wireSwitch
}

var _ server.WireSource = (*wireSource)(nil)

// SendWireValues turns wire values on; once the statement is over, the
// rows' memory goes back to the front's pool for the next statement.
func (w *wireSource) SendWireValues(ww *server.WireWrites) {
	sw := w.sw
	sw.on, sw.ww = true, ww
	ww.OnRelease(func() {
		if sw.rows != nil {
			w.fe.releaseWireRows(sw.rows)
			sw.rows = nil
		}
	})
}
