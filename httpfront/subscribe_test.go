package httpfront

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventsql/eventsql/engine"
)

// sseMsg is one Server-Sent Events block: a message or a comment.
type sseMsg struct {
	id, event, data string
	comment         string
}

// sseClient reads a subscription.
type sseClient struct {
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

// subscribe opens path as reader/r-pw and checks the response starts an
// event stream. The context is a failure guard: a stuck read fails the
// test instead of hanging it.
func subscribe(t *testing.T, base, path string, headers map[string]string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("reader", "r-pw")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &sseClient{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(c.close)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s = %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return c
}

func (c *sseClient) close() {
	c.cancel()
	c.resp.Body.Close()
}

// block reads the next block, a message or a comment.
func (c *sseClient) block() (sseMsg, error) {
	var m sseMsg
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return m, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return m, nil
		}
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimPrefix(v, " ")
		switch k {
		case "":
			m.comment = v
		case "id":
			m.id = v
		case "event":
			m.event = v
		case "data":
			m.data += v
		default:
			return m, fmt.Errorf("unexpected SSE line %q", line)
		}
	}
}

// next returns the next message, skipping comments.
func (c *sseClient) next(t *testing.T) sseMsg {
	t.Helper()
	for {
		m, err := c.block()
		if err != nil {
			t.Fatalf("reading the event stream: %v", err)
		}
		if m.comment == "" {
			return m
		}
	}
}

// ids reads n messages, checks each is a well-formed event whose id is
// its version (byVersion) or position, and returns the ids.
func (c *sseClient) ids(t *testing.T, n int, byVersion bool) []int64 {
	t.Helper()
	var ids []int64
	for range n {
		m := c.next(t)
		var e eventJSON
		if err := json.Unmarshal([]byte(m.data), &e); err != nil || m.event != "event" {
			t.Fatalf("message %+v: %v", m, err)
		}
		want := int64(e.Position)
		if byVersion {
			want = e.Version
		}
		if m.id != strconv.FormatInt(want, 10) {
			t.Fatalf("id %s, event %+v", m.id, e)
		}
		ids = append(ids, want)
	}
	return ids
}

func seq(from, to int64) []int64 {
	var s []int64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestSubscribeCatchUpLiveAndResume(t *testing.T) {
	base, st := testServer(t)
	// More than one batch of catch-up.
	for i := range 5 {
		types := make([]string, 500)
		for j := range types {
			types[j] = "E"
		}
		appendEvents(t, st, fmt.Sprintf("s-%d", i), types...)
	}
	c := subscribe(t, base, "/subscribe/$all?from=1", nil)
	if got := c.ids(t, 2500, false); !slices.Equal(got, seq(1, 2500)) {
		t.Fatalf("catch-up ids: %v...", got[:10])
	}
	// Live.
	for i := range 3 {
		appendEvents(t, st, "live-1", "L"+strconv.Itoa(i))
	}
	if got := c.ids(t, 3, false); !slices.Equal(got, seq(2501, 2503)) {
		t.Fatalf("live ids: %v", got)
	}
	// Disconnect; events are appended meanwhile; resume with the last
	// id seen (which wins over from).
	c.close()
	appendEvents(t, st, "live-1", "M", "M")
	appendEvents(t, st, "live-2", "M", "M")
	c = subscribe(t, base, "/subscribe/$all?from=1", map[string]string{"Last-Event-ID": "2503"})
	if got := c.ids(t, 4, false); !slices.Equal(got, seq(2504, 2507)) {
		t.Fatalf("resumed ids: %v", got)
	}
	appendEvents(t, st, "live-3", "N")
	if got := c.ids(t, 1, false); !slices.Equal(got, []int64{2508}) {
		t.Fatalf("after resume, live ids: %v (a duplicate?)", got)
	}
}

func TestSubscribeFeeds(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		headers   map[string]string
		byVersion bool
		catchUp   []int64
		other     string // an event the feed must skip: stream/type
		match     string // then one it must deliver
		live      int64  // with this id
	}{
		{"stream from 0", "/subscribe/streams/cart-1?from=0", nil, true, []int64{0, 1}, "cart-2/Paid", "cart-1/Paid", 2},
		{"stream resumed", "/subscribe/streams/cart-1?from=0", map[string]string{"Last-Event-ID": "0"}, true, []int64{1}, "order-1/X", "cart-1/X", 2},
		{"stream, live only", "/subscribe/streams/cart-1", nil, true, nil, "cart-2/X", "cart-1/Y", 2},
		{"stream not created yet", "/subscribe/streams/new-1", nil, true, nil, "cart-2/X", "new-1/Created", 0},
		{"stream $all", "/subscribe/streams/$all?from=3", nil, false, []int64{3, 4}, "", "any-1/Z", 0},
		{"type", "/subscribe/types/Paid?from=1", nil, false, []int64{2, 3}, "cart-3/Added", "cart-3/Paid", 0},
		{"type resumed", "/subscribe/types/Paid", map[string]string{"Last-Event-ID": "2"}, false, []int64{3}, "cart-3/Added", "cart-3/Paid", 0},
		{"type, live only", "/subscribe/types/Paid", nil, false, nil, "cart-3/Added", "cart-3/Paid", 0},
		{"category", "/subscribe/categories/cart?from=2", nil, false, []int64{2, 4}, "order-2/Added", "cart-9/Added", 0},
		{"$all, live only", "/subscribe/$all", nil, false, nil, "", "z-1/Z", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, st := testServer(t)
			appendEvents(t, st, "cart-1", "Added", "Paid") // 1 2
			appendEvents(t, st, "order-1", "Paid")         // 3
			appendEvents(t, st, "cart-2", "Added")         // 4
			c := subscribe(t, base, tt.path, tt.headers)
			if got := c.ids(t, len(tt.catchUp), tt.byVersion); !slices.Equal(got, tt.catchUp) {
				t.Fatalf("catch-up = %v, want %v", got, tt.catchUp)
			}
			if tt.other != "" {
				stream, typ, _ := strings.Cut(tt.other, "/")
				appendEvents(t, st, stream, typ)
			}
			stream, typ, _ := strings.Cut(tt.match, "/")
			appendEvents(t, st, stream, typ)
			want := tt.live
			if !tt.byVersion {
				want = int64(st.Head())
			}
			m := c.next(t)
			var e eventJSON
			json.Unmarshal([]byte(m.data), &e)
			if m.id != strconv.FormatInt(want, 10) || e.Stream != stream || e.EventType != typ {
				t.Fatalf("live message = %+v, want id %d from %s", m, want, tt.match)
			}
		})
	}
}

func TestSubscribeRefusesBeforeStreaming(t *testing.T) {
	base, st := testServer(t)
	appendEvents(t, st, "soft-1", "E")
	appendEvents(t, st, "hard-1", "E")
	ctx := context.Background()
	if err := st.DeleteStream(ctx, "soft-1", engine.ExpectAny, false); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteStream(ctx, "hard-1", engine.ExpectAny, true); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 300)
	for _, tt := range []struct {
		path, lastEventID string
		status            int
		code, field       string
	}{
		{"/subscribe/streams/soft-1", "", 404, "stream_not_found", ""},
		{"/subscribe/streams/hard-1?from=0", "", 410, "stream_deleted", ""},
		{"/subscribe/$all?from=x", "", 400, "invalid_input", "from"},
		{"/subscribe/types/E?from=-1", "", 400, "invalid_input", "from"},
		{"/subscribe/$all", "abc", 400, "invalid_input", "lastEventId"},
		{"/subscribe/categories/c", "-5", 400, "invalid_input", "lastEventId"},
		{"/subscribe/types/" + long, "", 400, "invalid_input", "eventType"},
		{"/subscribe/streams/" + long, "", 400, "invalid_input", "stream"},
	} {
		h := map[string]string{}
		if tt.lastEventID != "" {
			h["Last-Event-ID"] = tt.lastEventID
		}
		r := do(t, "GET", base+tt.path, "reader", "r-pw", h, "")
		if r.status != tt.status || r.body["error"] != tt.code || (tt.field != "" && r.body["field"] != tt.field) {
			t.Errorf("%s = %d %s", tt.path, r.status, r.raw)
		}
	}
}

func TestSubscribeHeartbeat(t *testing.T) {
	st := openTestStore(t)
	base, _ := startServer(t, st, Options{Live: LiveOptions{Heartbeat: 10 * time.Millisecond}})
	c := subscribe(t, base, "/subscribe/$all", nil)
	for {
		m, err := c.block()
		if err != nil {
			t.Fatal(err)
		}
		if m.comment == "keepalive" {
			break
		}
		if m.id != "" {
			t.Fatalf("unexpected message %+v", m)
		}
	}
	// Still live after heartbeats.
	appendEvents(t, st, "a-1", "E")
	if got := c.ids(t, 1, false); !slices.Equal(got, []int64{1}) {
		t.Fatalf("after heartbeats: %v", got)
	}
}

// TestSubscriptionEndsOnHardDelete: a stream subscription ends, with an
// error comment, as soon as its stream is hard-deleted, also on a store
// where nothing else is appended (a delete appends no event, so it used
// to wait for someone else's append or the next heartbeat, 15 s). The
// heartbeat here is an hour: only the delete can end the stream.
func TestSubscriptionEndsOnHardDelete(t *testing.T) {
	st := openTestStore(t)
	base, _ := startServer(t, st, Options{Live: LiveOptions{Heartbeat: time.Hour}})
	appendEvents(t, st, "gone-1", "E")
	c := subscribe(t, base, "/subscribe/streams/gone-1?from=0", nil)
	if got := c.ids(t, 1, true); !slices.Equal(got, []int64{0}) {
		t.Fatalf("catch-up %v", got)
	}
	if err := st.DeleteStream(context.Background(), "gone-1", engine.ExpectAny, true); err != nil {
		t.Fatal(err)
	}
	var comments []string
	for {
		m, err := c.block()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d comments: %v", len(comments), err)
		}
		if m.id != "" {
			t.Fatalf("unexpected message %+v", m)
		}
		comments = append(comments, m.comment)
	}
	if !slices.Equal(comments, []string{"error: stream_deleted"}) {
		t.Fatalf("comments before the end: %q", comments)
	}
}

// TestSubscriptionFollowsASoftDeletedStream: a soft delete wakes a stream
// subscription, which keeps following the stream (as documented) and
// gets the events of the stream recreated.
func TestSubscriptionFollowsASoftDeletedStream(t *testing.T) {
	st := openTestStore(t)
	base, _ := startServer(t, st, Options{Live: LiveOptions{Heartbeat: time.Hour}})
	appendEvents(t, st, "soft-1", "E")
	c := subscribe(t, base, "/subscribe/streams/soft-1?from=0", nil)
	if got := c.ids(t, 1, true); !slices.Equal(got, []int64{0}) {
		t.Fatalf("catch-up %v", got)
	}
	if err := st.DeleteStream(context.Background(), "soft-1", engine.ExpectAny, false); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, st, "soft-1", "E")
	if got := c.ids(t, 1, true); !slices.Equal(got, []int64{1}) {
		t.Fatalf("after the stream was recreated: %v", got)
	}
}

// TestShutdownEndsLiveRequests: Server.Shutdown returns once open
// subscriptions and long-polls have ended, which they do at once.
func TestShutdownEndsLiveRequests(t *testing.T) {
	base, st, spy, srv := spyServer(t, Options{})
	appendEvents(t, st, "a-1", "E")
	c := subscribe(t, base, "/subscribe/$all?from=1", nil)
	c.ids(t, 1, false)
	awaitWait(t, spy) // the subscription waits
	poll := make(chan error, 1)
	go func() {
		r, err := fetch("GET", base+"/streams/$all?from=2", "reader", "r-pw", map[string]string{"ES-LongPoll": "60"}, "")
		if err == nil && (r.status != 200 || r.body["next"] != nil) {
			err = fmt.Errorf("long-poll = %d %s", r.status, r.raw)
		}
		poll <- err
	}()
	awaitWait(t, spy)                                                        // the long-poll waits
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a guard
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if m, err := c.block(); !errors.Is(err, io.EOF) {
		t.Fatalf("subscription after Shutdown: %+v %v; want EOF", m, err)
	}
	if err := <-poll; err != nil {
		t.Fatal(err)
	}
}

// stallSubscriber opens a subscription to $all from 1 over a raw
// connection that never reads, and fills the socket buffers.
func stallSubscriber(t *testing.T, base string, srv *Server, st *engine.Store) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(conn, "GET /subscribe/$all?from=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cmVhZGVyOnItcHc=\r\n\r\n")
	for srv.tail.subscribers.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	// Far more than the socket buffers hold; the appends all return.
	data := []byte(`"` + strings.Repeat("x", 60<<10) + `"`)
	for range 64 {
		events := make([]engine.EventData, 8)
		for i := range events {
			events[i] = engine.EventData{Type: "Big", Data: data, DataIsJSON: true}
		}
		if _, err := st.Append(context.Background(), "big-1", engine.ExpectAny, events...); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// TestStalledSubscriberIsDropped: a client that stops reading holds up
// neither writers nor memory; after the write timeout it is dropped.
func TestStalledSubscriberIsDropped(t *testing.T) {
	st := openTestStore(t)
	base, srv := startServer(t, st, Options{Live: LiveOptions{WriteTimeout: 200 * time.Millisecond}})
	stallSubscriber(t, base, srv, st)
	deadline := time.Now().Add(60 * time.Second) // a guard
	for srv.tail.subscribers.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stalled subscriber was not dropped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShutdownInterruptsStalledSubscriber: Shutdown does not wait for
// the write timeout of a subscriber blocked on a client that stalled.
func TestShutdownInterruptsStalledSubscriber(t *testing.T) {
	st := openTestStore(t)
	base, srv := startServer(t, st, Options{Live: LiveOptions{WriteTimeout: time.Hour}})
	stallSubscriber(t, base, srv, st)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a guard, far below the write timeout
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := srv.tail.subscribers.Load(); n != 0 {
		t.Fatalf("%d subscriptions still open after Shutdown", n)
	}
}

// TestSubscribeHead: HEAD answers the headers of a subscription and
// returns instead of following the log.
func TestSubscribeHead(t *testing.T) {
	base, _ := testServer(t)
	req, err := http.NewRequest("HEAD", base+"/subscribe/$all", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("reader", "r-pw")
	client := &http.Client{Timeout: 60 * time.Second} // a guard
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("HEAD = %d %v", resp.StatusCode, resp.Header)
	}
}

// TestSubscriptionsInStatsAndMetrics: open subscriptions and the events
// delivered show in /stats and /metrics, and drop when a client leaves.
func TestSubscriptionsInStatsAndMetrics(t *testing.T) {
	base, st := testServer(t)
	appendEvents(t, st, "s-1", "E", "E", "E")
	a := subscribe(t, base, "/subscribe/$all?from=1", nil)
	b := subscribe(t, base, "/subscribe/streams/s-1?from=0", nil)
	a.ids(t, 3, false)
	b.ids(t, 3, true)
	stats := func() (open, sent float64) {
		r := do(t, "GET", base+"/stats", "reader", "r-pw", nil, "")
		sub := r.body["subscriptions"].(map[string]any)
		return sub["open"].(float64), sub["eventsSent"].(map[string]any)["total"].(float64)
	}
	// A client can read a batch before the server's write returns and
	// counts it, so wait for the counters to catch up.
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("/stats to show 2 subscriptions and 6 events sent", func() bool {
		open, sent := stats()
		return open == 2 && sent == 6
	})
	_, _, metrics := doRaw(t, "GET", base+"/metrics", "reader", "r-pw", nil, "")
	for _, line := range []string{"eventsql_sse_subscriptions 2", "eventsql_sse_events_sent_total 6"} {
		if !strings.Contains(metrics, "\n"+line+"\n") {
			t.Fatalf("/metrics lacks %q", line)
		}
	}
	a.close()
	waitFor("a closed subscription to be uncounted", func() bool {
		open, _ := stats()
		return open == 1
	})
}
