package httpfront

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func importLine(stream string, n int) string {
	return fmt.Sprintf(`{"stream":%q,"eventType":"ItemAdded","eventId":"2b3c4d5e-0000-4000-8000-%012d","data":{"n":%d},"metadata":{"by":"t"}}`, stream, n, n)
}

var ndjsonCT = map[string]string{"Content-Type": "application/x-ndjson"}

func TestImportGoodAndBadLines(t *testing.T) {
	base, st := testServer(t)
	body := strings.Join([]string{
		importLine("cart-1", 1),
		`{"stream":"cart-1","eventType":"ItemAdded","data":`, // line 2: invalid JSON
		"",
		importLine("cart-2", 2),
		`{"stream":"cart-3","data":{}}`, // line 5: no eventType
		`{"stream":"cart-3","eventType":"X","eventId":"not-a-uuid"}`, // line 6
		importLine("$system", 7),                                     // line 7: reserved stream
		importLine("cart-1", 3),
	}, "\n") + "\n"
	r := do(t, "POST", base+"/import", "writer", "w-pw", ndjsonCT, body)
	if r.status != 200 || r.body["written"] != 3.0 || r.body["rejected"] != 4.0 || r.body["duplicates"] != 0.0 ||
		r.body["firstPosition"] != 1.0 || r.body["lastPosition"] != 3.0 || r.body["errorsTruncated"] != false {
		t.Fatalf("reply %d %s", r.status, r.raw)
	}
	errs := r.body["errors"].([]any)
	for i, want := range []float64{2, 5, 6, 7} {
		e := errs[i].(map[string]any)
		if e["line"] != want || e["error"] != "invalid_input" || e["message"] == "" {
			t.Errorf("error %d = %v, want line %v", i, e, want)
		}
	}
	if st.Head() != 3 {
		t.Fatalf("head = %d", st.Head())
	}
	got := do(t, "GET", base+"/streams/cart-1", "reader", "r-pw", nil, "")
	if evs := got.body["events"].([]any); len(evs) != 2 || evs[1].(map[string]any)["data"].(map[string]any)["n"] != 3.0 {
		t.Fatalf("cart-1: %s", got.raw)
	}

	// The same file again writes nothing: its lines with ids are duplicates.
	r = do(t, "POST", base+"/import", "writer", "w-pw", ndjsonCT, body)
	if r.status != 200 || r.body["written"] != 0.0 || r.body["duplicates"] != 3.0 || r.body["firstPosition"] != nil || st.Head() != 3 {
		t.Fatalf("retry: %d %s", r.status, r.raw)
	}
}

func TestImportContentTypesAndAuth(t *testing.T) {
	base, _ := testServer(t)
	line := importLine("cart-1", 1) + "\n"
	tests := []struct {
		name       string
		user, pass string
		ct         string
		status     int
		code       string
	}{
		{"x-ndjson", "writer", "w-pw", "application/x-ndjson", 200, ""},
		{"ndjson with charset", "writer", "w-pw", "application/ndjson; charset=utf-8", 200, ""},
		{"jsonl", "admin", "admin-pw", "application/jsonl", 200, ""},
		{"none", "writer", "w-pw", "", 200, ""},
		{"json is not ndjson", "writer", "w-pw", "application/json", 415, "unsupported_media_type"},
		{"text", "writer", "w-pw", "text/plain", 415, "unsupported_media_type"},
		{"malformed", "writer", "w-pw", "a/b; =", 415, "unsupported_media_type"},
		{"no credentials", "", "", "application/x-ndjson", 401, "unauthorized"},
		{"wrong password", "writer", "nope", "application/x-ndjson", 401, "unauthorized"},
		{"reader", "reader", "r-pw", "application/x-ndjson", 403, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.ct != "" {
				h["Content-Type"] = tt.ct
			}
			r := do(t, "POST", base+"/import", tt.user, tt.pass, h, line)
			if r.status != tt.status || (tt.code != "" && r.body["error"] != tt.code) {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
		})
	}
}

// TestImportIsStreamed: the body is read as it arrives, has no size limit
// (the test server's append limit is 64 KiB) and lines are written before
// the body ends.
func TestImportIsStreamed(t *testing.T) {
	base, st := testServer(t)
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", base+"/import", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("writer", "w-pw")
	req.Header.Set("Content-Type", "application/x-ndjson")
	type result struct {
		status int
		body   map[string]any
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var m map[string]any
		err = json.NewDecoder(resp.Body).Decode(&m)
		done <- result{status: resp.StatusCode, body: m, err: err}
	}()
	// A full batch (10,000 events, ~1.3 MB) is written while the body is
	// still open.
	const first = 10_000
	for n := 1; n <= first; n++ {
		if _, err := io.WriteString(pw, importLine(fmt.Sprintf("cart-%d", n%100), n)+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return st.Head() == first })
	if _, err := io.WriteString(pw, importLine("cart-x", first+1)+"\n"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	res := <-done
	if res.err != nil || res.status != 200 || res.body["written"] != float64(first+1) {
		t.Fatalf("reply %d %v %v", res.status, res.body, res.err)
	}
}

// TestImportStoreFailsMidway: when the store stops accepting writes during
// an import, the reply is the store's error with the counts so far.
func TestImportStoreFailsMidway(t *testing.T) {
	base, st := testServer(t)
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", base+"/import", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("writer", "w-pw")
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	const first = 10_000
	for n := 1; n <= first; n++ {
		io.WriteString(pw, importLine("cart-1", n)+"\n")
	}
	waitFor(t, func() bool { return st.Head() == first })
	st.Close()
	io.WriteString(pw, importLine("cart-1", first+1)+"\n")
	pw.Close()
	resp := <-done
	if resp == nil {
		t.FailNow()
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 || m["error"] != "unavailable" || m["written"] != float64(first) || m["lastPosition"] != float64(first) {
		t.Fatalf("reply %d %v", resp.StatusCode, m)
	}
}

// waitFor polls cond (no wall-clock threshold: the test's own timeout
// bounds it).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		time.Sleep(5 * time.Millisecond)
	}
}
