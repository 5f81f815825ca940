package sqlfront

import (
	"io"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
)

// hashLookupBuild is the iterator that reads a hash join's build side
// the first time (as GMS's hashLookupGeneratingIter): it returns the
// rows and files them under their join key, and the lookup is kept on
// the node once the input is read to its end. GMS's version never closes
// its input, so a hash join stopped while building (by --query-timeout,
// KILL or a LIMIT met early) left the engine's iterator and its read
// lock open, and the store could no longer close. This one closes it,
// and reads it through memoryCheckedIter (the SQL memory limit).
type hashLookupBuild struct {
	n      *plan.HashLookup
	child  sql.RowIter
	lookup map[any][]sql.Row
}

// buildHashLookup returns a hashLookupBuild for n when its lookup is
// still to be built; nil when it is built (GMS answers from it).
func (b groupBys) buildHashLookup(ctx *sql.Context, n *plan.HashLookup, row sql.Row) (sql.RowIter, error) {
	n.Mutex.Lock()
	defer n.Mutex.Unlock()
	if n.Lookup != nil {
		return nil, nil
	}
	child, err := b.base.Build(ctx, n.Child, row)
	if err != nil {
		return nil, err
	}
	return &hashLookupBuild{n: n, child: &memoryCheckedIter{child: child}, lookup: map[any][]sql.Row{}}, nil
}

func (h *hashLookupBuild) Next(ctx *sql.Context) (sql.Row, error) {
	row, err := h.child.Next(ctx)
	if err == io.EOF {
		// Kept only once complete: a plan may not read it to the end.
		h.n.Mutex.Lock()
		h.n.Lookup = &h.lookup
		h.n.Mutex.Unlock()
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	key, _, err := h.n.GetHashKey(ctx, h.n.RightEntryKey, row)
	if err != nil {
		return nil, err
	}
	h.lookup[key] = append(h.lookup[key], row)
	return row, nil
}

func (h *hashLookupBuild) Close(ctx *sql.Context) error { return h.child.Close(ctx) }
