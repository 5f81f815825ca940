package ndjsonimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/eventsql/eventsql/engine"
)

func openStore(t *testing.T) *engine.Store {
	t.Helper()
	opts := engine.DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.SegmentSize = 1 << 20
	st, err := engine.Open(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func id(n int) string { return fmt.Sprintf("2b3c4d5e-0000-4000-8000-%012d", n) }

func ev(stream string, n int) string {
	return fmt.Sprintf(`{"stream":%q,"eventType":"T","eventId":%q,"data":{"n":%d}}`, stream, id(n), n)
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	input := strings.Join([]string{
		1:  ev("a-1", 1),
		2:  ev("b-1", 2),
		3:  "",
		4:  `{"stream":"a-1","eventType":"T",`, // invalid JSON
		5:  ev("a-1", 3),
		6:  ev("$sys", 4),                                            // reserved stream
		7:  ev("c-1", 1),                                             // id of line 1 in another stream
		8:  `  {"stream":"a-1","eventType":"T","data":[1]}  ` + "\r", // no id: generated
		9:  `[1]`,                                                    // not an object
		10: ev("a-1", 1),                                             // same id, same stream: a duplicate
		11: ev("b-1", 5) + strings.Repeat(" ", 300),                  // over the line limit
		12: ev("b-1", 6),
	}[1:], "\n") // no final newline
	for _, batch := range []int{1, 2, 3, 100} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			st := openStore(t)
			opts := Options{BatchEvents: batch, MaxLineSize: 200}
			sum, err := Import(ctx, strings.NewReader(input), st, opts)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Written != 5 || sum.Duplicates != 1 || sum.Rejected != 5 || sum.Lines != 12 || sum.Bytes != int64(len(input)) {
				t.Fatalf("summary %+v", sum)
			}
			if *sum.FirstPosition != 1 || *sum.LastPosition != 5 || st.Head() != 5 {
				t.Fatalf("positions %d..%d, head %d", *sum.FirstPosition, *sum.LastPosition, st.Head())
			}
			wantErrs := []LineError{{Line: 4, Code: "invalid_input"}, {Line: 6, Code: "invalid_input"},
				{Line: 7, Code: "duplicate_event_id"}, {Line: 9, Code: "invalid_input"}, {Line: 11, Code: "invalid_input"}}
			if len(sum.Errors) != len(wantErrs) {
				t.Fatalf("errors %+v", sum.Errors)
			}
			for i, w := range wantErrs {
				if g := sum.Errors[i]; g.Line != w.Line || g.Code != w.Code || g.Message == "" {
					t.Errorf("error %d = %+v, want line %d code %s", i, g, w.Line, w.Code)
				}
			}
			// File order is kept: a-1 holds lines 1, 5 and 8 in order.
			it, err := st.ReadStream(ctx, "a-1", 0, engine.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for it.Next() {
				got = append(got, string(it.Event().Data))
			}
			it.Close()
			if strings.Join(got, " ") != `{"n":1} {"n":3} [1]` {
				t.Fatalf("a-1 holds %v", got)
			}

			// Retrying the same input writes nothing new.
			sum, err = Import(ctx, strings.NewReader(input), st, opts)
			if err != nil {
				t.Fatal(err)
			}
			// Line 8 has no id, so it is written again: ids make retries safe.
			if sum.Written != 1 || sum.Duplicates != 5 || sum.Rejected != 5 || st.Head() != 6 {
				t.Fatalf("retry: summary %+v, head %d", sum, st.Head())
			}
		})
	}
}

func TestImportErrorListIsCapped(t *testing.T) {
	st := openStore(t)
	sum, err := Import(context.Background(), strings.NewReader(strings.Repeat("x\n", 10)+ev("a-1", 1)), st, Options{MaxErrors: 3})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rejected != 10 || len(sum.Errors) != 3 || !sum.ErrorsTruncated || sum.Written != 1 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestImportLongLines(t *testing.T) {
	// Lines longer than the reader's buffer but within the limit are
	// read whole; longer ones are skipped without losing the next line.
	st := openStore(t)
	big := fmt.Sprintf(`{"stream":"a-1","eventType":"T","data":"%s"}`, strings.Repeat("x", 3<<20))
	huge := fmt.Sprintf(`{"stream":"a-1","eventType":"T","data":"%s"}`, strings.Repeat("y", 6<<20))
	input := big + "\n" + huge + "\n" + ev("a-1", 1) + "\n"
	sum, err := Import(context.Background(), strings.NewReader(input), st, Options{MaxLineSize: 4 << 20, BatchBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != 2 || sum.Rejected != 1 || sum.Errors[0].Line != 2 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestImportStopsOnReadError(t *testing.T) {
	st := openStore(t)
	input := ev("a-1", 1) + "\n" + ev("a-1", 2) + "\n"
	r := io.MultiReader(strings.NewReader(input), iotest.ErrReader(errors.New("connection reset")))
	sum, err := Import(context.Background(), r, st, Options{BatchEvents: 1})
	if !errors.Is(err, ErrRead) || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	// What was read before the failure is written and counted.
	if sum.Written != 2 || st.Head() != 2 {
		t.Fatalf("summary %+v, head %d", sum, st.Head())
	}
}

func TestImportIntoClosedStore(t *testing.T) {
	st := openStore(t)
	st.Close()
	sum, err := Import(context.Background(), strings.NewReader(ev("a-1", 1)+"\n"), st, Options{})
	if !errors.Is(err, engine.ErrClosed) || sum.Written != 0 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
}

func TestImportCancelled(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Import(ctx, strings.NewReader(ev("a-1", 1)+"\n"), st, Options{})
	if !errors.Is(err, context.Canceled) || st.Head() != 0 {
		t.Fatalf("err = %v, head %d", err, st.Head())
	}
}

// TestImportFollowsStoreLimits: batches stay under a small store's
// append limit, and an event over its event limit is rejected alone.
func TestImportFollowsStoreLimits(t *testing.T) {
	opts := engine.DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.MaxEventSize, opts.MaxAppendSize = 1024, 8192
	st, err := engine.Open(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var in strings.Builder
	for n := 1; n <= 200; n++ {
		data := fmt.Sprintf(`{"n":%d,"pad":%q}`, n, strings.Repeat("p", 200))
		if n == 77 {
			data = fmt.Sprintf(`{"pad":%q}`, strings.Repeat("p", 2000))
		}
		fmt.Fprintf(&in, `{"stream":"s-%d","eventType":"T","data":%s}`+"\n", n%9, data)
	}
	sum, err := Import(context.Background(), strings.NewReader(in.String()), st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != 199 || sum.Rejected != 1 || sum.Errors[0].Line != 77 || sum.Errors[0].Code != "invalid_input" {
		t.Fatalf("summary %+v", sum)
	}
}

// hintStore records the hints an import gives.
type hintStore struct {
	*engine.Store
	hints []int
}

func (h *hintStore) ExpectEvents(n int) { h.hints = append(h.hints, n); h.Store.ExpectEvents(n) }

// TestImportAnnouncesEvents: with the input's size known, the import
// tells the store once, after its first batch, about how many events
// follow; without it, never.
func TestImportAnnouncesEvents(t *testing.T) {
	var b strings.Builder
	for i := range 1000 {
		b.WriteString(ev(fmt.Sprintf("s-%d", i%10), i) + "\n")
	}
	input := b.String()
	for _, size := range []int64{0, int64(len(input))} {
		st := &hintStore{Store: openStore(t)}
		sum, err := Import(context.Background(), strings.NewReader(input), st, Options{BatchEvents: 100, InputSize: size})
		if err != nil || sum.Written != 1000 {
			t.Fatalf("size %d: %+v, %v", size, sum, err)
		}
		switch {
		case size == 0 && len(st.hints) != 0:
			t.Fatalf("hinted %v without a size", st.hints)
		case size > 0 && (len(st.hints) != 1 || st.hints[0] < 800 || st.hints[0] > 1000):
			t.Fatalf("hints %v, want one of about 900", st.hints)
		}
	}
}

// TestImportManyStreamNames: stream names are carved out of shared
// blocks; across many blocks, with names of every length up to the
// limit, each stream gets exactly its own events.
func TestImportManyStreamNames(t *testing.T) {
	ctx := context.Background()
	name := func(i int) string {
		return fmt.Sprintf("s%d-%s", i, strings.Repeat("x", i%249)) // up to the 255-byte limit
	}
	var b strings.Builder
	const lines = 6000
	for i := range lines {
		b.WriteString(ev(name(i%1500), i) + "\n")
	}
	st := openStore(t)
	sum, err := Import(ctx, strings.NewReader(b.String()), st, Options{BatchEvents: 700})
	if err != nil || sum.Written != lines {
		t.Fatalf("%+v, %v", sum, err)
	}
	for s := range 1500 {
		it, err := st.ReadStream(ctx, name(s), 0, engine.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for it.Next() {
			if e := it.Event(); e.Stream != name(s) || string(e.Data) != fmt.Sprintf(`{"n":%d}`, s+1500*n) {
				t.Fatalf("stream %d event %d: %s %s", s, n, e.Stream, e.Data)
			}
			n++
		}
		if err := it.Close(); err != nil || n != 4 {
			t.Fatalf("stream %d: %d events, %v", s, n, err)
		}
	}
}
