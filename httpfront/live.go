package httpfront

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// LiveOptions configure long-polls and subscriptions (docs/http.md).
type LiveOptions struct {
	// MaxLongPoll caps the wait an ES-LongPoll header asks for (default 60 s).
	MaxLongPoll time.Duration
	// Heartbeat is how long a subscription stays silent before the server
	// sends a ": keepalive" comment, so that proxies keep the connection
	// (default 15 s).
	Heartbeat time.Duration
	// WriteTimeout drops a subscriber whose connection takes no data for
	// this long: a dead or stalled client (default 30 s).
	WriteTimeout time.Duration
}

func (o LiveOptions) withDefaults() LiveOptions {
	if o.MaxLongPoll <= 0 {
		o.MaxLongPoll = 60 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	return o
}

// live is the state the long-lived handlers share. http.Server.Shutdown
// waits for running handlers but does not cancel their contexts, so
// long-polls and subscriptions also watch done, which Shutdown cancels.
type live struct {
	opts LiveOptions
	// done is cancelled when the server shuts down; it outlives requests
	// by design, so it is kept here rather than passed down.
	done        context.Context
	stop        context.CancelFunc
	subscribers atomic.Int64  // open subscriptions
	delivered   atomic.Uint64 // events sent to subscribers, all time
	events      *eventCache   // encodings shared by subscriptions
	buffers     sync.Pool     // of *bytes.Buffer: subscriptions' batches
}

func newLive(opts LiveOptions) *live {
	done, stop := context.WithCancel(context.Background())
	return &live{opts: opts.withDefaults(), done: done, stop: stop, events: newEventCache(eventCacheSlots)}
}

// getBuffer returns an empty buffer for a batch of events.
func (l *live) getBuffer() *bytes.Buffer {
	if b, ok := l.buffers.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// putBuffer gives a batch buffer back, unless it grew over sseKeepBuffer.
func (l *live) putBuffer(b *bytes.Buffer) {
	if b.Cap() > sseKeepBuffer {
		return
	}
	b.Reset()
	l.buffers.Put(b)
}

// context returns a context for a long-lived handler: cancelled when the
// request's is, or when the server shuts down.
func (l *live) context(req context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(req)
	unregister := context.AfterFunc(l.done, cancel)
	return ctx, func() {
		unregister()
		cancel()
	}
}

// parseLongPoll reads ES-LongPoll: whole seconds to wait for events when
// a forward read is at the head; 0 or absent means no wait. Values over
// maxWait are capped.
func parseLongPoll(v string, maxWait time.Duration) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, invalidInput("longPoll", fmt.Sprintf("ES-LongPoll %q: want whole seconds >= 0", v))
	}
	if n >= int64(maxWait/time.Second) {
		return maxWait, nil
	}
	return time.Duration(n) * time.Second, nil
}

// waitAfter waits until a command committed after mark (an append, but
// also a metadata change or a delete, which must end some waits at once)
// is readable. It reports false when ctx ends first or the store closes.
func (s *Server) waitAfter(ctx context.Context, mark uint64) bool {
	_, err := s.store.WaitForCommit(ctx, mark)
	return err == nil
}
