// eventsql: this file is eventsql's own (not upstream's); see doc.go.

package server

import (
	"context"
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
// (convert), or converts it to the binary protocol for a prepared
// statement (addBinary).
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
// usual). SendWireValues asks it to, before the first Next; w then says
// which of its rows are on the wire (and so no longer referenced).
type WireSource interface {
	sql.RowIter
	SendWireValues(w *WireWrites)
}

// WireWrites tells a source of wire values how far the result is
// written, so that it can reuse the memory of its rows.
type WireWrites struct {
	written atomic.Uint64
	release func()
	batch   func() // keeps the batches' memory (streamResult)
	binary  bool   // the rows go out in the binary protocol
}

// Binary reports whether the result goes out in the binary protocol
// (a prepared statement's): a source may then make a value of type
// BinaryWireType instead of its text, which saves converting the text
// back (binaryrows.go).
func (w *WireWrites) Binary() bool { return w != nil && w.binary }

// BinaryWireType is the type of a WireValue whose bytes are already the
// binary protocol's form of the column's value (BIGINT: 8 bytes,
// little-endian; DATETIME(6): DatetimeWriter.AppendBinaryMicros).
const BinaryWireType = encodedType

// Written is how many rows of the result are on the wire: the first
// Written rows the source returned (or fewer, when a LIMIT dropped some
// of its rows after counting them).
func (w *WireWrites) Written() uint64 { return w.written.Load() }

// OnRelease sets f to run, on the connection's goroutine, once the
// statement is over: the result written or abandoned and the source
// closed, no row of it referenced any more.
func (w *WireWrites) OnRelease(f func()) { w.release = f }

// wrote counts n more rows on the wire.
func (w *WireWrites) wrote(n int) {
	if w != nil {
		w.written.Add(uint64(n))
	}
}

// end runs the release function, if any.
func (w *WireWrites) end() {
	if w == nil {
		return
	}
	if w.release != nil {
		w.release()
		w.release = nil
	}
	if w.batch != nil {
		w.batch()
		w.batch = nil
	}
}

// textProtocolKey marks the context of a statement whose results are
// sent with the text protocol (COM_QUERY).
type textProtocolKey struct{}

func withTextProtocol(ctx context.Context) context.Context {
	return context.WithValue(ctx, textProtocolKey{}, true)
}

// newWireWrites returns the WireWrites of a statement run in ctx; nil
// when its results must not be made of wire values. Text-protocol
// results take them as they are; binary-protocol results (binaryrows.go)
// copy them into their batch, converted: vitess may keep a batch after
// the callback returns (a cursor), so it must not point into the
// source's memory. With vitessBinaryRows, prepared statements' rows stay
// Go values, as upstream's.
func newWireWrites(ctx context.Context, vitessBinaryRows bool) *WireWrites {
	if ctx.Value(textProtocolKey{}) != nil {
		return new(WireWrites)
	}
	if vitessBinaryRows || !isBinaryProtocol(ctx) {
		return nil
	}
	return &WireWrites{binary: true}
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
func sendWireValues(iter sql.RowIter, projs []sql.Expression, w *WireWrites) bool {
	if w == nil || !onlyColumns(projs) {
		return false
	}
	for {
		switch i := iter.(type) {
		case WireSource:
			i.SendWireValues(w)
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

// AppendBinaryMicros writes the DATETIME(6) us microseconds after the
// Unix epoch in the binary protocol's form (a BinaryWireType value);
// false outside years 1000–9999.
func (w *DatetimeWriter) AppendBinaryMicros(dst []byte, us int64) ([]byte, bool) {
	return w.w.appendBinary(dst, us)
}

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
