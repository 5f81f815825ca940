// eventsql: this file is eventsql's own (not upstream's); see doc.go.

package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"runtime/trace"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// streamResult writes the rows of iter to callback, rowsBatch rows at a
// time, and returns the last (partial) batch for the caller to write;
// sent reports whether callback was called.
//
// Upstream runs every result through three goroutines connected by
// channels (rows, converted batches, writes), one that closes the
// iterator after them and a disconnect poller: five goroutines and a
// hand-off per row, for a point lookup of ten rows too. Here the first
// batch is read, converted and returned on the connection's goroutine,
// so a result of up to rowsBatch rows costs no goroutine at all. A
// longer result moves the iterator to a goroutine of its own, which
// hands rows over handoffRows at a time, while the connection's
// goroutine converts and writes them: a scan then runs on two cores,
// reading on one and converting and writing on the other.
//
// Memory stays bounded: converted rows live in one reused batch (its
// byte buffer and value slab are overwritten once the batch is on the
// wire), and at most three hand-offs of rows are in flight.
//
// The disconnect poller is a timer that starts checking the socket only
// once the query has run for tcpCheckerSleepDuration.
func (h *Handler) streamResult(ctx *sql.Context, c *mysql.Conn, schema sql.Schema, iter sql.RowIter, callback func(*sqltypes.Result, bool) error, resultFields []*querypb.Field, more bool, buf *sql.ByteBuffer, ww *WireWrites) (res *sqltypes.Result, sent bool, err error) {
	defer trace.StartRegion(ctx, "Handler.streamResult").End()

	qctx, cancel := context.WithCancelCause(ctx.Context)
	defer cancel(nil)
	ctx = ctx.WithContext(qctx)
	stopPoll := h.pollLater(ctx, c, cancel)
	defer stopPoll()

	iter, projs := GetDeferredProjections(iter)
	// ww counts the rows on the wire: a source of wire values reuses
	// their memory (each batch is written before the next is converted
	// into the same buffers, so the rows before it are done).
	sendWireValues(iter, projs, ww)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic recovered: %v\n%s", r, debug.Stack())
		}
		if cerr := iter.Close(ctx); err == nil {
			err = cerr
		}
		if err != nil {
			// A connection found closed cancels the query with its cause.
			if cause := context.Cause(qctx); cause != nil && errors.Is(err, context.Canceled) && !errors.Is(cause, context.Canceled) {
				err = cause
			}
			res, sent = nil, false
		}
	}()

	b := newWireBatch(ctx, schema, resultFields, buf)
	if isBinaryProtocol(ctx) {
		b.keepBatches, b.binary = true, !h.vitessBinaryRows
		if b.binary {
			b.useConnMemory(c)
			defer b.keepConnMemory(c)
		}
	}
	if ww != nil && !b.keepBatches {
		// A text-protocol result is written by the time the statement
		// ends (ww.end): its batches' memory serves the next statement.
		m, _ := h.batches.Get().(*batchMem)
		if m == nil {
			m = new(batchMem)
		}
		b.vals, b.res.Rows = m.vals[:0], m.rows[:0]
		ww.batch = func() {
			m.vals, m.rows = b.vals[:0], b.res.Rows[:0]
			clear(m.vals[:cap(m.vals)])
			clear(m.rows[:cap(m.rows)])
			h.batches.Put(m)
		}
	}
	for len(b.res.Rows) < rowsBatch {
		row, err := iter.Next(ctx)
		if err == io.EOF {
			return b.res, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		if types.IsOkResult(row) {
			if len(b.res.Rows) > 0 {
				panic("Got OkResult mixed with RowResult")
			}
			ok := resultFromOkResult(row[0].(types.OkResult))
			if _, err := iter.Next(ctx); err != io.EOF {
				return nil, false, fmt.Errorf("result iterator returned rows after an OK result")
			}
			return ok, false, nil
		}
		if err := b.add(ctx, schema, row, projs); err != nil {
			return nil, false, err
		}
	}
	// A full batch: there may be more rows. Read them on another core.
	if err := b.send(callback, more, ww); err != nil {
		return nil, false, err
	}
	if err := h.streamRest(ctx, schema, iter, projs, callback, b, more, ww); err != nil {
		return nil, false, err
	}
	return b.res, true, nil
}

// handoffRows is how many rows the reader goroutine hands over at a time:
// more than a wire batch, so that the two goroutines wake each other
// less often (a wake-up is a futex call and a context switch).
const handoffRows = 4 * rowsBatch

// streamRest reads iter on a goroutine of its own and converts and
// writes its rows here, in b, batch by batch. The last partial batch is
// left in b.
func (h *Handler) streamRest(ctx *sql.Context, schema sql.Schema, iter sql.RowIter, projs []sql.Expression, callback func(*sqltypes.Result, bool) error, b *wireBatch, more bool, ww *WireWrites) error {
	rctx, stop := ctx.NewSubContext()
	defer stop()
	eg, rctx := rctx.NewErrgroup()
	full := make(chan []sql.Row, 2)
	// Three slices of rows circulate: one being filled, up to two full.
	empty := make(chan []sql.Row, 3)
	for range 3 {
		empty <- make([]sql.Row, 0, handoffRows)
	}
	eg.Go(func() (err error) {
		defer close(full)
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic recovered: %v\n%s", r, debug.Stack())
			}
		}()
		for {
			var rows []sql.Row
			select {
			case rows = <-empty:
			case <-rctx.Done():
				return context.Cause(rctx)
			}
			rows = rows[:0]
			var eof bool
			for len(rows) < handoffRows {
				row, err := iter.Next(rctx)
				if err == io.EOF {
					eof = true
					break
				}
				if err != nil {
					return err
				}
				rows = append(rows, row)
			}
			if len(rows) > 0 {
				select {
				case full <- rows:
				case <-rctx.Done():
					return context.Cause(rctx)
				}
			}
			if eof {
				return nil
			}
		}
	})

	var werr error
	for rows := range full {
		if werr != nil {
			continue // draining after an error: the reader stops on its own
		}
		for i, row := range rows {
			if err := b.add(ctx, schema, row, projs); err != nil {
				werr = err
				break
			}
			rows[i] = nil
			if len(b.res.Rows) == rowsBatch {
				if err := b.send(callback, more, ww); err != nil {
					werr = err
					break
				}
			}
		}
		if werr != nil {
			stop()
			continue
		}
		empty <- rows
	}
	rerr := eg.Wait()
	if werr != nil {
		return werr
	}
	return rerr
}

// wireBatch is a batch of rows converted to wire values. Its byte buffer
// and value slab are reused batch after batch, unless keepBatches.
type wireBatch struct {
	res   *sqltypes.Result
	buf   *sql.ByteBuffer
	vals  []sqltypes.Value // the rows' values, cols per row
	cols  int
	wcols []wireCol // per column: how its values are converted
	dt    datetimeWriter

	// keepBatches gives each batch memory of its own, never reused: a
	// result of COM_STMT_EXECUTE may be kept by vitess after the
	// callback returns (a server-side cursor sends it on
	// COM_STMT_FETCH, while the statement converts its next batch).
	keepBatches bool
	// binary writes binary-protocol values (binaryrows.go) into bin;
	// buf then only holds temporaries.
	binary bool
	bin    []byte
	binCap int // the size bin reached in the batch before
	segs   []binarySegment
	first  *binaryMem // the first batch's memory, once handed to vitess
}

// batchMem is the memory of a text-protocol result's batches (the value
// slab and the rows), kept in Handler.batches between statements: a
// 100-row result allocated ~40 KB of slabs, most of the server's
// allocation per query.
type batchMem struct {
	vals []sqltypes.Value
	rows [][]sqltypes.Value
}

// firstSlabRows is how many rows the value slab holds at first; it
// doubles up to rowsBatch, so a point lookup does not allocate a full
// batch's slab (32 KB for 8 columns).
const firstSlabRows = 8

func newWireBatch(ctx *sql.Context, schema sql.Schema, fields []*querypb.Field, buf *sql.ByteBuffer) *wireBatch {
	return &wireBatch{res: &sqltypes.Result{Fields: fields}, buf: buf, cols: len(schema), wcols: wireCols(ctx, schema)}
}

// add converts row and appends it to the batch.
func (b *wireBatch) add(ctx *sql.Context, schema sql.Schema, row sql.Row, projs []sql.Expression) error {
	n := len(b.vals)
	if n+b.cols > cap(b.vals) {
		// A larger slab; the rows already in the batch keep the old one.
		rows := min(max(firstSlabRows, 2*cap(b.vals)/max(b.cols, 1)), rowsBatch)
		b.vals, n = make([]sqltypes.Value, 0, rows*b.cols), 0
	}
	b.vals = b.vals[:n+b.cols]
	out := b.vals[n : n+b.cols : n+b.cols]
	var err error
	if b.binary {
		err = b.addBinary(ctx, schema, row, projs, out)
	} else {
		err = b.convert(ctx, schema, row, projs, out)
	}
	if err != nil {
		return err
	}
	b.res.Rows = append(b.res.Rows, out)
	b.res.RowsAffected++
	return nil
}

// send hands the batch to callback and empties it for the next rows.
func (b *wireBatch) send(callback func(*sqltypes.Result, bool) error, more bool, ww *WireWrites) error {
	if !b.keepBatches {
		if err := callback(b.res, more); err != nil {
			return err
		}
		ww.wrote(len(b.res.Rows))
		b.reset()
		return nil
	}
	// The batch is vitess's once handed over (a cursor changes it while
	// the next is converted): nothing of it is read after callback.
	res := b.res
	if b.binary && b.first == nil {
		b.first = &binaryMem{vals: b.vals, rows: res.Rows, bin: b.bin, segs: b.segs}
		b.segs = nil
	}
	b.res = &sqltypes.Result{Fields: res.Fields, Rows: make([][]sqltypes.Value, 0, len(res.Rows))}
	n := len(res.Rows)
	if err := callback(res, more); err != nil {
		return err
	}
	ww.wrote(n)
	b.reset()
	return nil
}

// reset empties the batch once it is on the wire (or, keepBatches,
// handed to vitess; b.res is then already a new result).
func (b *wireBatch) reset() {
	if b.keepBatches {
		b.vals = make([]sqltypes.Value, 0, cap(b.vals))
		if b.binary {
			b.binCap, b.bin = len(b.bin), nil
			b.buf.Reset()
		} else {
			b.buf = sql.NewByteBuffer(4 << 10)
		}
		return
	}
	clear(b.res.Rows)
	b.res.Rows = b.res.Rows[:0]
	b.res.RowsAffected = 0
	clear(b.vals)
	b.vals = b.vals[:0]
	b.buf.Reset()
}

// convert is RowToSQL writing into out (len(schema) values), with the
// common column types written straight into the batch's buffer
// (wireconv.go).
func (b *wireBatch) convert(ctx *sql.Context, sch sql.Schema, row sql.Row, projs []sql.Expression, out []sqltypes.Value) error {
	for i, col := range sch {
		var v any
		if len(projs) == 0 {
			v = row[i]
		} else {
			var err error
			if v, err = projs[i].Eval(ctx, row); err != nil {
				return err
			}
		}
		if v == nil {
			out[i] = sqltypes.NULL
			continue
		}
		if w, ok := v.(*WireValue); ok {
			out[i] = sqltypes.Value(*w)
			continue
		}
		if val, ok := b.fast(b.wcols[i], v); ok {
			out[i] = val
			continue
		}
		var err error
		if out[i], err = toSqlHelper(ctx, col.Type, b.buf, v); err != nil {
			return err
		}
	}
	return nil
}

// pollLater checks whether the client closed its connection once the
// query has run for tcpCheckerSleepDuration, and then every as long,
// cancelling the query (cause ErrConnectionWasClosed) when it has. stop
// ends the checks. Until the first check it costs a timer, not a
// goroutine.
func (h *Handler) pollLater(ctx *sql.Context, c *mysql.Conn, cancel context.CancelCauseFunc) (stop func()) {
	if _, ok := maybeGetTCPConn(c.Conn); !ok {
		return func() {}
	}
	pctx, pcancel := ctx.NewSubContext()
	t := time.AfterFunc(tcpCheckerSleepDuration, func() {
		if err := h.checkClosedConnection(pctx, c); err != nil {
			cancel(err)
		}
	})
	return func() {
		t.Stop()
		pcancel()
	}
}
