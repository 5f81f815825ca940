package httpfront

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/eventsql/eventsql/engine"
)

// waitSpy is a store that reports each WaitForCommit call on waits, so
// tests know a request is waiting before they append.
type waitSpy struct {
	*engine.Store
	waits chan uint64
}

func (w *waitSpy) WaitForCommit(ctx context.Context, mark uint64) (uint64, error) {
	select {
	case w.waits <- mark:
	default:
	}
	return w.Store.WaitForCommit(ctx, mark)
}

// spyServer is testServer over a waitSpy.
func spyServer(t *testing.T, opts Options) (base string, st *engine.Store, spy *waitSpy, srv *Server) {
	t.Helper()
	st = openTestStore(t)
	spy = &waitSpy{Store: st, waits: make(chan uint64, 16)}
	base, srv = startServer(t, spy, opts)
	return base, st, spy, srv
}

// awaitWait returns once the server calls WaitForCommit (a generous
// guard, not a timing assertion).
func awaitWait(t *testing.T, spy *waitSpy) {
	t.Helper()
	select {
	case <-spy.waits:
	case <-time.After(30 * time.Second):
		t.Fatal("the server never waited for events")
	}
}

func TestLongPollReturnsWhenAppended(t *testing.T) {
	base, st, spy, _ := spyServer(t, Options{})
	appendEvents(t, st, "cart-1", "ItemAdded")
	appendEvents(t, st, "soft-1", "ItemAdded")
	appendEvents(t, st, "cart-2", "CheckedOut")
	if err := st.DeleteStream(context.Background(), "soft-1", engine.ExpectAny, false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		path      string
		unrelated string // appended first: wakes the poll, which must keep waiting
		stream    string // then this event is appended
		typ       string
	}{
		{"stream, next version", "/streams/cart-1?from=1", "cart-9", "cart-1", "ItemAdded"},
		{"stream, a version ahead", "/streams/cart-1?from=3", "cart-1", "cart-1", "ItemAdded"},
		{"stream not created yet", "/streams/new-1", "cart-9", "new-1", "Created"},
		{"soft-deleted stream recreated", "/streams/soft-1?from=1", "cart-9", "soft-1", "ItemAdded"},
		{"$all at the head", "/streams/$all?from=HEAD", "", "cart-3", "ItemAdded"},
		{"type at the head", "/types/Paid?from=HEAD", "cart-1", "cart-4", "Paid"},
		{"unknown type", "/types/Shipped", "cart-1", "cart-4", "Shipped"},
		{"category at the head", "/categories/order?from=HEAD", "cart-1", "order-7", "Placed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := st.Head()
			want := head + 1
			if tt.unrelated != "" {
				want++
			}
			path := tt.path
			if i := len(path) - len("HEAD"); path[i:] == "HEAD" {
				path = path[:i] + strconv.FormatUint(head+1, 10)
			}
			type result struct {
				r   reply
				err error
			}
			got := make(chan result, 1)
			go func() {
				r, err := fetch("GET", base+path, "reader", "r-pw", map[string]string{"ES-LongPoll": "30"}, "")
				got <- result{r, err}
			}()
			awaitWait(t, spy)
			if tt.unrelated != "" {
				appendEvents(t, st, tt.unrelated, "Unrelated")
				awaitWait(t, spy) // woke, read nothing, waits again
			}
			appendEvents(t, st, tt.stream, tt.typ)
			res := <-got
			r := res.r
			if res.err != nil || r.status != 200 {
				t.Fatalf("= %v %d %s", res.err, r.status, r.raw)
			}
			if p := positions(t, r); !slices.Equal(p, []int{int(want)}) {
				t.Fatalf("positions = %v, want [%d]: %s", p, want, r.raw)
			}
		})
	}
}

func TestLongPollTimesOutWithAnEmptyPage(t *testing.T) {
	base, st, spy, _ := spyServer(t, Options{})
	appendEvents(t, st, "cart-1", "ItemAdded")
	for _, path := range []string{"/streams/cart-1?from=1", "/streams/$all?from=2", "/types/ItemAdded?from=2", "/categories/cart?from=2"} {
		r := do(t, "GET", base+path, "reader", "r-pw", map[string]string{"ES-LongPoll": "1"}, "")
		if r.status != 200 || len(positions(t, r)) != 0 || r.body["next"] != nil {
			t.Fatalf("%s = %d %s", path, r.status, r.raw)
		}
		awaitWait(t, spy) // it did wait
	}
	// A stream that still does not exist when the wait ends is a 404.
	r := do(t, "GET", base+"/streams/never-1", "reader", "r-pw", map[string]string{"ES-LongPoll": "1"}, "")
	if r.status != 404 || r.body["error"] != "stream_not_found" {
		t.Fatalf("missing stream = %d %s", r.status, r.raw)
	}
}

func TestLongPollDoesNotWait(t *testing.T) {
	base, st, spy, _ := spyServer(t, Options{})
	appendEvents(t, st, "cart-1", "ItemAdded", "ItemAdded")
	if err := st.DeleteStream(context.Background(), "gone-1", engine.ExpectAny, true); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path   string
		status int
		events int
	}{
		// Events there: no wait.
		{"/streams/cart-1", 200, 2},
		{"/streams/cart-1?from=1", 200, 1},
		// Backward reads never wait.
		{"/streams/cart-1?direction=backward&from=5", 200, 2},
		{"/types/Nope?direction=backward", 200, 0},
		// Hard-deleted: nothing will ever come. Bad input.
		{"/streams/gone-1", 410, -1},
		{"/types/ItemAdded?count=0", 400, -1},
	} {
		r := do(t, "GET", base+tt.path, "reader", "r-pw", map[string]string{"ES-LongPoll": "60"}, "")
		if r.status != tt.status || (tt.events >= 0 && len(positions(t, r)) != tt.events) {
			t.Errorf("%s = %d %s", tt.path, r.status, r.raw)
		}
	}
	select {
	case <-spy.waits:
		t.Fatal("a read that had an answer waited for events")
	default:
	}
}

func TestBadLongPoll(t *testing.T) {
	base, _ := testServer(t)
	for _, v := range []string{"x", "-1", "1.5", "10s", "99999999999999999999"} {
		r := do(t, "GET", base+"/streams/$all", "reader", "r-pw", map[string]string{"ES-LongPoll": v}, "")
		if r.status != 400 || r.body["error"] != "invalid_input" || r.body["field"] != "longPoll" {
			t.Errorf("ES-LongPoll %q = %d %s", v, r.status, r.raw)
		}
	}
}

func TestParseLongPollCaps(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"1", time.Second}, {"59", 59 * time.Second}, {"60", time.Minute}, {"3600", time.Minute},
	} {
		if got, err := parseLongPoll(tt.in, time.Minute); err != nil || got != tt.want {
			t.Errorf("parseLongPoll(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestLongPollAnswersAtOnceWhenTheStreamIsDeleted: a long-poll waiting on
// a stream answers as soon as the stream is deleted — 410 for a hard
// delete, 404 for a soft one — not when its wait runs out (a delete
// appends no event, and the wait used to be woken only by events). The
// wait here is an hour: only the delete can end it.
func TestLongPollAnswersAtOnceWhenTheStreamIsDeleted(t *testing.T) {
	base, st, spy, _ := spyServer(t, Options{Live: LiveOptions{MaxLongPoll: time.Hour}})
	for _, tt := range []struct {
		hard   bool
		status int
		code   string
	}{{true, 410, "stream_deleted"}, {false, 404, "stream_not_found"}} {
		stream := "gone-" + strconv.FormatBool(tt.hard)
		appendEvents(t, st, stream, "ItemAdded")
		got := make(chan reply, 1)
		go func() {
			r, err := fetch("GET", base+"/streams/"+stream+"?from=1", "reader", "r-pw", map[string]string{"ES-LongPoll": "3600"}, "")
			if err != nil {
				t.Error(err)
			}
			got <- r
		}()
		awaitWait(t, spy)
		// A metadata change wakes the poll too; it finds nothing and waits on.
		if err := st.SetStreamMetadata(context.Background(), stream, engine.StreamMetadata{MaxCount: 5}); err != nil {
			t.Fatal(err)
		}
		awaitWait(t, spy)
		if err := st.DeleteStream(context.Background(), stream, engine.ExpectAny, tt.hard); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-got:
			if r.status != tt.status || r.body["error"] != tt.code {
				t.Fatalf("hard=%v: %d %s, want %d %s", tt.hard, r.status, r.raw, tt.status, tt.code)
			}
		case <-time.After(30 * time.Second): // a guard, not a timing assertion
			t.Fatalf("hard=%v: the long-poll still waits after the delete", tt.hard)
		}
	}
}
