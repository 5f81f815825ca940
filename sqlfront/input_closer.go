package sqlfront

import (
	"io"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
)

// inputCloser is put under go-mysql-server operators that may drop
// their input without closing it once it has ended: its iterator closes
// the input itself when the input returns its last row or an error.
// Engine iterators hold the store's read lock until closed, so an input
// left open kept the store from closing (server shutdown hung).
type inputCloser struct {
	plan.UnaryNode
}

var (
	_ sql.ExecBuilderNode = (*inputCloser)(nil)
	_ sql.Describable     = (*inputCloser)(nil)
)

func (c *inputCloser) String() string { return c.Child.String() }

// Describe and DebugString show the input alone (EXPLAIN ANALYZE).
func (c *inputCloser) Describe(ctx *sql.Context, o sql.DescribeOptions) string {
	return sql.Describe(ctx, c.Child, o)
}

func (c *inputCloser) DebugString(ctx *sql.Context) string { return sql.DebugString(ctx, c.Child) }

func (c *inputCloser) IsReadOnly() bool { return c.Child.IsReadOnly() }

func (c *inputCloser) WithChildren(_ *sql.Context, children ...sql.Node) (sql.Node, error) {
	if len(children) != 1 {
		return nil, sql.ErrInvalidChildrenNumber.New(c, len(children), 1)
	}
	return &inputCloser{UnaryNode: plan.UnaryNode{Child: children[0]}}, nil
}

// BuildRowIter implements sql.ExecBuilderNode.
func (c *inputCloser) BuildRowIter(ctx *sql.Context, b sql.NodeExecBuilder, row sql.Row) (sql.RowIter, error) {
	child, err := b.Build(ctx, c.Child, row)
	if err != nil {
		return nil, err
	}
	return &endClosingIter{child: child}, nil
}

// closedAtEnd returns n under an inputCloser (n itself if it is one).
func closedAtEnd(n sql.Node) sql.Node {
	if _, ok := n.(*inputCloser); ok {
		return n
	}
	return &inputCloser{UnaryNode: plan.UnaryNode{Child: n}}
}

// endClosingIter passes its child's rows on and closes the child as soon
// as it returns io.EOF or an error; Close after that does nothing.
type endClosingIter struct {
	child  sql.RowIter
	closed bool
}

func (i *endClosingIter) Next(ctx *sql.Context) (sql.Row, error) {
	if i.closed {
		return nil, io.EOF
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

func (i *endClosingIter) Close(ctx *sql.Context) error {
	if i.closed {
		return nil
	}
	i.closed = true
	return i.child.Close(ctx)
}
