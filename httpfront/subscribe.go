package httpfront

// Live tail as Server-Sent Events: GET /subscribe/$all,
// /subscribe/streams/{stream}, /subscribe/types/{type} and
// /subscribe/categories/{category}.
//
// A subscriber pulls from the log itself. It reads a batch after its
// cursor, writes it with one flush, and once caught up waits on the
// store's commit notification (WaitForCommit). Writers never wait for
// subscribers and nothing is queued per subscriber but the one batch
// being written, so a slow consumer falls behind instead of growing
// memory, and one whose connection takes no data for WriteTimeout is
// dropped. Batch buffers come from a pool shared by all subscriptions,
// so one that waits for events holds none. No iterator is open while
// writing to the network, so a stalled client cannot hold up Store.Close,
// and server shutdown interrupts a blocked write rather than waiting for
// the write timeout.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/eventsql/eventsql/engine"
)

// A batch ends after this many events or once this many bytes are
// buffered (or at the head), whichever comes first.
const (
	sseBatchEvents = 1024
	sseBatchBytes  = 64 << 10
	// sseKeepBuffer is the largest batch buffer reused; a larger one (a
	// batch with a huge event) is dropped after its write.
	sseKeepBuffer = 1 << 20
)

// subscribeHandler returns the handler of one subscription route; param
// is the path wildcard holding the feed's name ("" for $all).
func (s *Server) subscribeHandler(kind feedKind, param string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := feed{kind: kind, name: "$all"}
		if param != "" {
			f.name = r.PathValue(param)
		}
		if kind == feedStream {
			f = streamFeed(f.name)
		}
		s.subscribe(w, r, f)
	}
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request, f feed) {
	ctx, cancel := s.tail.context(r.Context())
	defer cancel()
	cursor, err := s.subscriptionStart(ctx, r, f)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	sub := &subscription{s: s, f: f, w: w, rc: http.NewResponseController(w), cursor: cursor}
	// The first batch is read before the response starts, so that a bad
	// name or a deleted stream is still a JSON error with its status.
	full, err := sub.readBatch(ctx)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	s.tail.subscribers.Add(1)
	defer s.tail.subscribers.Add(-1)
	stop := context.AfterFunc(ctx, sub.interrupt)
	defer func() {
		stop()
		sub.finish()
	}()
	err = sub.run(ctx, full)
	level := s.logger.Debug
	if !errors.Is(err, context.Canceled) && !errors.Is(err, engine.ErrClosed) {
		level = s.logger.Info
	}
	level("subscription ended", "path", r.URL.Path, "remote", r.RemoteAddr, "events", sub.sent, "err", err)
}

// subscriptionStart returns the first version (streams) or position to
// send: after Last-Event-ID when the client resumes, else from, else the
// next event to be appended. Deleted streams are refused here, before the
// stream starts; a stream that does not exist yet can be followed.
func (s *Server) subscriptionStart(ctx context.Context, r *http.Request, f feed) (int64, error) {
	var latest int64 // the last version or position now
	if f.byVersion() {
		// A name no append can take ($-names are reserved) would wait
		// forever.
		if err := engine.ValidateStreamName(f.name); err != nil {
			return 0, err
		}
		info, err := s.store.StreamInfo(ctx, f.name)
		switch {
		case errors.Is(err, engine.ErrStreamNotFound):
			info.Version = -1
		case err != nil:
			return 0, err
		case info.Deleted == "hard":
			return 0, &engine.StreamError{Stream: f.name, Err: engine.ErrStreamDeleted}
		case info.Deleted == "soft":
			return 0, &engine.StreamError{Stream: f.name, Err: engine.ErrStreamNotFound}
		}
		latest = info.Version
	} else {
		latest = int64(s.store.Head())
	}
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 0 || id == math.MaxInt64 {
			return 0, invalidInput("lastEventId", fmt.Sprintf("Last-Event-ID %q is not an event id of this subscription", v))
		}
		return id + 1, nil
	}
	if v := r.URL.Query().Get("from"); v != "" {
		from, err := strconv.ParseInt(v, 10, 64)
		if err != nil || from < 0 {
			return 0, invalidInput("from", fmt.Sprintf("from=%q is not a version or position", v))
		}
		return from, nil
	}
	return latest + 1, nil
}

// finalChunkGrace is how long the end of the response may take once a
// subscription has been interrupted (by shutdown or the client going).
const finalChunkGrace = time.Second

// subscription is one client's live tail.
type subscription struct {
	s      *Server
	f      feed
	w      http.ResponseWriter
	rc     *http.ResponseController
	cursor int64         // the next version or position to send
	mark   uint64        // the store's commit mark before the last read
	buf    *bytes.Buffer // the batch being sent; nil between batches
	queued int64         // events in buf
	sent   int64

	// mu orders write deadline changes between the handler and
	// interrupt, which runs on another goroutine when the context ends.
	mu          sync.Mutex
	interrupted bool // writes fail at once from now on
	finished    bool // the handler is returning: interrupt has nothing to do
}

// interrupt makes the write in progress, if any, and every later one fail
// at once, so that a client that stalled does not hold up server
// shutdown until the write timeout.
func (sub *subscription) interrupt() {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if !sub.finished {
		sub.interrupted = true
		_ = sub.rc.SetWriteDeadline(time.Now())
	}
}

// finish leaves the server time to end the response: the write timeout,
// or a short grace after an interrupt.
func (sub *subscription) finish() {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	sub.finished = true
	grace := sub.s.tail.opts.WriteTimeout
	if sub.interrupted {
		grace = finalChunkGrace
	}
	_ = sub.rc.SetWriteDeadline(time.Now().Add(grace))
}

// setWriteDeadline gives the next write the write timeout, unless the
// subscription was interrupted.
func (sub *subscription) setWriteDeadline() error {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.interrupted {
		return context.Canceled
	}
	// An error means the connection cannot take deadlines (not a net.Conn
	// underneath): nothing to do about it.
	_ = sub.rc.SetWriteDeadline(time.Now().Add(sub.s.tail.opts.WriteTimeout))
	return nil
}

// run sends batches until the client goes, the server shuts down or a
// read fails. full says the batch already in buf may not be the last one.
func (sub *subscription) run(ctx context.Context, full bool) error {
	for {
		if err := sub.flush(); err != nil {
			return err
		}
		if !full {
			// At the head: wait for the next commit, with heartbeats.
			if err := sub.await(ctx); err != nil {
				return err
			}
		}
		var err error
		if full, err = sub.readBatch(ctx); err != nil {
			if !errors.Is(err, context.Canceled) {
				sub.comment("error: " + toAPIError(err).Code)
			}
			return err
		}
	}
}

// readBatch reads the next events after the cursor into buf; full says
// it stopped at a batch limit rather than at the head. It notes the head
// before reading, so that await misses no append.
func (sub *subscription) readBatch(ctx context.Context) (full bool, err error) {
	if sub.buf == nil {
		sub.buf = sub.s.tail.getBuffer()
	}
	sub.buf.Reset()
	sub.queued = 0
	sub.mark = sub.s.store.CommitMark()
	it, err := sub.f.open(ctx, sub.s.store, sub.cursor, false, sseBatchEvents)
	if err != nil {
		if sub.f.byVersion() && errors.Is(err, engine.ErrStreamNotFound) {
			return false, nil // not created yet, or soft-deleted: it may come (back)
		}
		return false, err
	}
	defer it.Close()
	n := 0
	for it.Next() {
		e := it.Event()
		seq := sub.f.seq(e)
		appendSSE(sub.buf, seq, e, sub.s.tail.events)
		sub.cursor = seq + 1
		sub.queued++
		n++
		if sub.buf.Len() >= sseBatchBytes {
			return true, nil
		}
	}
	if err := it.Err(); err != nil {
		return false, err
	}
	return n == sseBatchEvents, nil
}

// await waits for a command committed after the mark noted by the last
// read, sending a keepalive comment whenever the subscription has been
// silent for the heartbeat interval. Any command wakes it, not only
// appends: a stream subscription then reads, and ends with the error at
// once when its stream was hard-deleted.
func (sub *subscription) await(ctx context.Context) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, sub.s.tail.opts.Heartbeat)
		_, err := sub.s.store.WaitForCommit(wctx, sub.mark)
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return err
		}
		if err := sub.comment("keepalive"); err != nil {
			return err
		}
	}
}

// flush sends the batch in buf, if any, and gives the buffer back: a
// subscription waiting for events holds none.
func (sub *subscription) flush() error {
	var p []byte
	if sub.buf != nil {
		p = sub.buf.Bytes()
	}
	err := sub.send(p)
	if err == nil {
		sub.sent += sub.queued
		sub.s.tail.delivered.Add(uint64(sub.queued))
	}
	sub.queued = 0
	if sub.buf != nil {
		sub.s.tail.putBuffer(sub.buf)
		sub.buf = nil
	}
	return err
}

// send writes p to the client in one write and flushes it, giving up
// after the write timeout.
func (sub *subscription) send(p []byte) error {
	if err := sub.setWriteDeadline(); err != nil {
		return err
	}
	if len(p) > 0 {
		if _, err := sub.w.Write(p); err != nil {
			return fmt.Errorf("write to subscriber: %w", err)
		}
	}
	if err := sub.rc.Flush(); err != nil {
		return fmt.Errorf("flush to subscriber: %w", err)
	}
	return nil
}

// comment sends an SSE comment line (": text"), which clients ignore.
func (sub *subscription) comment(text string) error {
	return sub.send([]byte(": " + text + "\n\n"))
}

// appendSSE appends one event as an SSE message: its id (version for a
// stream subscription, position otherwise), a fixed event name, and the
// event as JSON in the shape reads return.
func appendSSE(buf *bytes.Buffer, id int64, e *engine.RecordedEvent, cache *eventCache) {
	buf.WriteString("id: ")
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), id, 10))
	buf.WriteString("\nevent: event\ndata: ")
	buf.Write(cache.encode(e))
	buf.WriteString("\n\n")
}
