package httpfront

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAppendResponseMatchesEncoder(t *testing.T) {
	for _, r := range []appendResponse{
		{},
		{FirstPosition: 1, LastPosition: 1, NextExpectedVersion: 0},
		{FirstPosition: 41, LastPosition: 140, NextExpectedVersion: 99},
		{FirstPosition: math.MaxUint64, LastPosition: math.MaxUint64, NextExpectedVersion: math.MaxInt64},
		{NextExpectedVersion: -1},
	} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(r); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		writeAppendResponse(rec, r)
		if got := rec.Body.String(); got != want.String() {
			t.Errorf("%+v: body %q, encoding/json writes %q", r, got, want.String())
		}
		if rec.Code != http.StatusCreated || rec.Header().Get("Content-Type") != contentJSON {
			t.Errorf("%+v: status %d, Content-Type %q", r, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}

func TestMediaType(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		err      bool
	}{
		{"", "", false},
		{contentJSON, contentJSON, false},
		{contentEvents, contentEvents, false},
		{contentBinary, contentBinary, false},
		{"application/json; charset=utf-8", contentJSON, false},
		{"Application/JSON", contentJSON, false},
		{"text/plain", "text/plain", false},
		{"application/json; charset", "", true},
	} {
		got, err := mediaType(tt.in)
		if (err != nil) != tt.err || !tt.err && got != tt.want {
			t.Errorf("mediaType(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestAppendWithAnIDTwiceIsABadRequest: an array giving one event id to
// two events contradicts itself: 400 invalid_input naming the events,
// and nothing written (it was a 409 duplicate_event_id, which says the
// id clashes with a stored event). Retries and ids reused by another
// event keep their answers.
func TestAppendWithAnIDTwiceIsABadRequest(t *testing.T) {
	base, st := testServer(t)
	const id1, id2 = "2b3c4d5e-0000-4000-8000-000000000001", "2b3c4d5e-0000-4000-8000-000000000002"
	ev := func(id string) string {
		if id == "" {
			return `{"eventType":"E","data":{}}`
		}
		return `{"eventId":"` + id + `","eventType":"E","data":{}}`
	}
	arr := func(ids ...string) string {
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = ev(id)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	many := make([]string, 40) // over the size the pairwise check handles
	for i := range many {
		if i%2 == 1 {
			many[i] = fmt.Sprintf("2b3c4d5e-0000-4000-8000-%012d", 100+i)
		}
	}
	many[33] = many[7]
	for _, body := range []string{arr(id1, id1), arr(id1, "", id2, id1), arr(many...)} {
		r := do(t, "POST", base+"/streams/dup-1", "writer", "w-pw", jsonCT, body)
		if r.status != 400 || r.body["error"] != "invalid_input" || r.body["field"] != "eventId" ||
			!strings.Contains(r.raw, "is also the id of event") {
			t.Fatalf("%.80s… = %d %s", body, r.status, r.raw)
		}
	}
	if h := st.Head(); h != 0 {
		t.Fatalf("a refused append wrote %d events", h)
	}
	r := do(t, "GET", base+"/streams/dup-1", "reader", "r-pw", nil, "")
	if r.status != 404 {
		t.Fatalf("read after refused appends = %d %s", r.status, r.raw)
	}

	// An exact retry is still idempotent; an id reused elsewhere still 409.
	first := do(t, "POST", base+"/streams/dup-1", "writer", "w-pw", jsonCT, arr(id1, id2))
	again := do(t, "POST", base+"/streams/dup-1", "writer", "w-pw", jsonCT, arr(id1, id2))
	if first.status != 201 || again.status != 201 || first.raw != again.raw {
		t.Fatalf("append then retry = %d %s, %d %s", first.status, first.raw, again.status, again.raw)
	}
	r = do(t, "POST", base+"/streams/dup-2", "writer", "w-pw", jsonCT, arr(id2))
	if r.status != 409 || r.body["error"] != "duplicate_event_id" {
		t.Fatalf("an id of another stream's event = %d %s", r.status, r.raw)
	}
}
