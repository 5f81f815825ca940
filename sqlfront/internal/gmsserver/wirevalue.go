// eventsql: this file is eventsql's own (not upstream's); see doc.go.

package server

import (
	"sync/atomic"

	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/iters"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
)

// WireValue is a column value already in the form it takes on the wire:
// the text protocol's bytes, with the column's type. A row source puts
// *WireValue in a row (a pointer into an array of them: boxing a
// pointer does not allocate) when it was asked to (WireSource); the
// batch converter then takes it as is instead of converting a Go value
// (convert). The binary protocol is built from the same values by
// vitess (writeBinaryRows), so prepared statements get them too.
//
// The bytes must stay unchanged until the row is on the wire: batches of
// rows are handed from the reader goroutine to the connection's, so a
// source writes them into memory it never reuses.
type WireValue sqltypes.Value

// MakeWireValue is the WireValue of a value of type typ whose text is b.
func MakeWireValue(typ querypb.Type, b []byte) WireValue {
	return WireValue(sqltypes.MakeTrusted(typ, b))
}

// WireSource is a row iterator that can return rows of *WireValue (and
// nil for NULL; other values of a row stay Go values, converted as
// usual). SendWireValues asks it to, before the first Next; written
// then counts the rows of the result that are on the wire (written to
// the connection), whose memory the source may reuse: the first written
// rows the source returned, or fewer if a LIMIT dropped some.
type WireSource interface {
	sql.RowIter
	SendWireValues(written *atomic.Uint64)
}

// sendWireValues asks the source at the bottom of iter to return wire
// values when every iterator between it and the wire hands its rows on
// untouched: GMS's query tracking (row counts, FOUND_ROWS, the process
// list, KILL), transaction commit and expression closers, LIMIT, and
// projections that only pick columns (the deferred ones, projs, are
// evaluated by convert). Anything that looks at values (a filter, a
// sort, an expression, a join) stops the walk, and the source sends Go
// values. It reports whether a source was asked.
//
// It is called on the iterator tree the handler is about to stream, so
// a table read anywhere else (a subquery, a join, an in-process query)
// never returns wire values.
func sendWireValues(iter sql.RowIter, projs []sql.Expression, written *atomic.Uint64) bool {
	if !onlyColumns(projs) {
		return false
	}
	for {
		switch i := iter.(type) {
		case WireSource:
			i.SendWireValues(written)
			return true
		case *plan.TrackedRowIter:
			iter = i.GetIter()
		case *rowexec.TransactionCommittingIter:
			iter = i.GetIter()
		case *rowexec.ExprCloserIter:
			iter = i.GetIter()
		case *iters.LimitIter:
			iter = i.ChildIter
		case *rowexec.ProjectIter:
			if !onlyColumns(i.GetProjections()) {
				return false
			}
			iter = i.GetChildIter()
		default:
			return false
		}
	}
}

// onlyColumns reports whether every expression only picks a column of
// its row (under an alias, maybe): its value is the row's, untouched.
func onlyColumns(exprs []sql.Expression) bool {
	for _, e := range exprs {
		if a, ok := e.(*expression.Alias); ok {
			e = a.Child
		}
		if _, ok := e.(*expression.GetField); !ok {
			return false
		}
	}
	return true
}

// AppendDouble writes a DOUBLE as the wire carries it (appendDouble).
func AppendDouble(dst []byte, x float64) []byte { return appendDouble(dst, x) }

// DatetimeWriter writes DATETIME(6) text as the wire carries it.
type DatetimeWriter struct{ w datetimeWriter }

// AppendMicros writes the time us microseconds after the Unix epoch, in
// UTC; false outside years 1000–9999 (GMS writes those differently).
func (w *DatetimeWriter) AppendMicros(dst []byte, us int64) ([]byte, bool) {
	return w.w.appendMicros(dst, us)
}

// TextAsIs reports whether text values of type t go to the wire as their
// UTF-8 bytes in this session (no character set conversion).
func TextAsIs(ctx *sql.Context, t sql.Type) bool {
	return wireKindOf(t, ctx.GetCharacterSetResults()) == wireText
}
