package sqlfront

import (
	"io"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
)

// memoryChecked is put by groupBys under the operators that hold all
// their input in memory without asking GMS's memory manager (window
// functions): it passes its child's rows on and fails the statement with
// ERROR 1037 once the server is over its SQL memory limit.
type memoryChecked struct {
	plan.UnaryNode
}

var _ sql.ExecBuilderNode = (*memoryChecked)(nil)

func (m *memoryChecked) String() string { return m.Child.String() }

func (m *memoryChecked) IsReadOnly() bool { return m.Child.IsReadOnly() }

func (m *memoryChecked) WithChildren(_ *sql.Context, children ...sql.Node) (sql.Node, error) {
	if len(children) != 1 {
		return nil, sql.ErrInvalidChildrenNumber.New(m, len(children), 1)
	}
	return &memoryChecked{UnaryNode: plan.UnaryNode{Child: children[0]}}, nil
}

// BuildRowIter implements sql.ExecBuilderNode.
func (m *memoryChecked) BuildRowIter(ctx *sql.Context, b sql.NodeExecBuilder, row sql.Row) (sql.RowIter, error) {
	child, err := b.Build(ctx, m.Child, row)
	if err != nil {
		return nil, err
	}
	return &memoryCheckedIter{child: child}, nil
}

// memoryCheckedIter checks the memory limit as rows pass (memoryCheck).
// It closes its child itself when it ends, at the end of the rows or on
// an error: GMS's window iterator never closes its child, so a window
// query that failed or was killed while reading left the engine's
// iterator (and its read lock on the store) open.
type memoryCheckedIter struct {
	child  sql.RowIter
	mem    memoryCheck
	closed bool
}

func (i *memoryCheckedIter) Next(ctx *sql.Context) (sql.Row, error) {
	if i.closed {
		return nil, io.EOF
	}
	if err := i.mem.row(ctx); err != nil {
		_ = i.Close(ctx) // the limit is the error to report
		return nil, err
	}
	row, err := i.child.Next(ctx)
	if err != nil {
		if cerr := i.Close(ctx); cerr != nil && err == io.EOF {
			return nil, cerr
		}
		return nil, err
	}
	return row, nil
}

func (i *memoryCheckedIter) Close(ctx *sql.Context) error {
	if i.closed {
		return nil
	}
	i.closed = true
	return i.child.Close(ctx)
}
