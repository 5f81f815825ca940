package httpfront

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/eventsql/eventsql/engine"
)

// testServer runs the HTTP front on a real loopback socket over a real
// store; users: admin/admin-pw, writer/w-pw, reader/r-pw.
func testServer(t *testing.T) (base string, store *engine.Store) {
	t.Helper()
	st := openTestStore(t)
	base, _ = startServer(t, st, Options{MaxBodySize: 64 << 10})
	return base, st
}

// openTestStore opens a store in a temporary directory, closed at the
// end of the test.
func openTestStore(t *testing.T) *engine.Store {
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

// startServer serves st on a loopback socket until the end of the test
// (users as in testServer).
func startServer(t *testing.T, st Store, opts Options) (base string, srv *Server) {
	t.Helper()
	users := NewUsers("admin-pw")
	users.Add("writer", "w-pw", RoleWriter)
	users.Add("reader", "r-pw", RoleReader)
	srv = New(st, users, opts, slog.New(slog.DiscardHandler), func() bool { return true })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		<-done
	})
	return "http://" + l.Addr().String(), srv
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, method, url, user, pass string, headers map[string]string, body string) reply {
	t.Helper()
	r, err := fetch(method, url, user, pass, headers, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fetch is do for other goroutines than the test's: it returns errors.
func fetch(method, url, user, pass string, headers map[string]string, body string) (reply, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if err := json.Unmarshal(b, &r.body); err != nil {
		return r, fmt.Errorf("%s %s: body is not a JSON object: %q", method, url, b)
	}
	return r, nil
}

var jsonCT = map[string]string{"Content-Type": "application/json"}

func TestAppendBothStylesAndRead(t *testing.T) {
	base, _ := testServer(t)
	id := "2b3c4d5e-0000-4000-8000-000000000001"
	arr := `[{"eventId":"` + id + `","eventType":"ItemAdded","data":{"sku":"A"},"metadata":{"by":"u1"}},
	         {"eventType":"ItemAdded","data":{"sku":"B"}}]`
	r := do(t, "POST", base+"/streams/cart-1", "writer", "w-pw",
		map[string]string{"Content-Type": "application/vnd.eventstore.events+json", "ES-ExpectedVersion": "-1"}, arr)
	if r.status != 201 || r.body["firstPosition"] != 1.0 || r.body["lastPosition"] != 2.0 || r.body["nextExpectedVersion"] != 1.0 ||
		r.header.Get("Location") != "/streams/cart-1/0" {
		t.Fatalf("array append = %d %v %v", r.status, r.body, r.header.Get("Location"))
	}
	// The same request again is an idempotent retry... except the second
	// event had no id; retry only the first.
	r = do(t, "POST", base+"/streams/cart-1", "writer", "w-pw", map[string]string{"Content-Type": "application/json", "ES-ExpectedVersion": "-1"},
		`[{"eventId":"`+id+`","eventType":"ItemAdded","data":{"sku":"A"},"metadata":{"by":"u1"}}]`)
	if r.status != 201 || r.body["firstPosition"] != 1.0 {
		t.Fatalf("retry = %d %v", r.status, r.body)
	}
	// Body-only style with ES-EventType (a known EventStoreDB bug rejected it).
	r = do(t, "POST", base+"/streams/cart-1", "writer", "w-pw",
		map[string]string{"Content-Type": "application/json", "ES-EventType": "CheckedOut", "ES-EventId": "2b3c4d5e-0000-4000-8000-000000000002", "ES-ExpectedVersion": "1"},
		`{"total":12}`)
	if r.status != 201 || r.body["firstPosition"] != 3.0 || r.body["nextExpectedVersion"] != 2.0 {
		t.Fatalf("single append = %d %v", r.status, r.body)
	}
	// Binary data.
	r = do(t, "POST", base+"/streams/blob-1", "admin", "admin-pw", map[string]string{"Content-Type": "application/octet-stream", "ES-EventType": "Blob"}, "\x00\x01")
	if r.status != 201 {
		t.Fatalf("binary append = %d %v", r.status, r.body)
	}

	r = do(t, "GET", base+"/streams/cart-1?count=2", "reader", "r-pw", nil, "")
	evs, _ := r.body["events"].([]any)
	if r.status != 200 || len(evs) != 2 || r.body["next"] != "/streams/cart-1?count=2&from=2" {
		t.Fatalf("read = %d %s", r.status, r.raw)
	}
	e0 := evs[0].(map[string]any)
	if e0["eventId"] != id || e0["data"].(map[string]any)["sku"] != "A" || e0["metadata"].(map[string]any)["by"] != "u1" || e0["version"] != 0.0 {
		t.Fatalf("event = %v", e0)
	}
	r = do(t, "GET", base+"/streams/cart-1?direction=backward&count=1", "reader", "r-pw", nil, "")
	evs, _ = r.body["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["eventType"] != "CheckedOut" || r.body["next"] != "/streams/cart-1?count=1&direction=backward&from=1" {
		t.Fatalf("backward = %s", r.raw)
	}
	r = do(t, "GET", base+"/streams/$all?from=3", "reader", "r-pw", nil, "")
	evs, _ = r.body["events"].([]any)
	if len(evs) != 2 || evs[1].(map[string]any)["dataEncoding"] != "base64" || evs[1].(map[string]any)["data"] != "AAE=" {
		t.Fatalf("$all = %s", r.raw)
	}
	r = do(t, "GET", base+"/events/"+id, "reader", "r-pw", nil, "")
	if r.status != 200 || r.body["position"] != 1.0 {
		t.Fatalf("event by id = %d %s", r.status, r.raw)
	}
	// The Location of an append is the event.
	for loc, want := range map[string]string{"/streams/cart-1/0": id, "/streams/cart-1/2": "2b3c4d5e-0000-4000-8000-000000000002"} {
		r = do(t, "GET", base+loc, "reader", "r-pw", nil, "")
		if r.status != 200 || r.body["eventId"] != want || r.body["stream"] != "cart-1" {
			t.Fatalf("GET %s = %d %s", loc, r.status, r.raw)
		}
	}
}

func TestErrorsAreJSONAndWriteNothing(t *testing.T) {
	base, store := testServer(t)
	do(t, "POST", base+"/streams/s-1", "writer", "w-pw", jsonCT, `[{"eventType":"E","data":{}}]`)
	if err := store.DeleteStream(context.Background(), "gone-1", engine.ExpectAny, true); err != nil {
		t.Fatal(err)
	}
	big := `[{"eventType":"E","data":"` + strings.Repeat("x", 70<<10) + `"}]`
	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		status  int
		code    string
	}{
		{"malformed JSON", "POST", "/streams/s-1", jsonCT, `[{"eventType":`, 400, "invalid_input"},
		{"not an array", "POST", "/streams/s-1", jsonCT, `{"eventType":"E"}`, 400, "invalid_input"},
		{"empty array", "POST", "/streams/s-1", jsonCT, `[]`, 400, "invalid_input"},
		{"missing event type", "POST", "/streams/s-1", jsonCT, `[{"data":{}}]`, 400, "invalid_input"},
		{"invalid UUID", "POST", "/streams/s-1", jsonCT, `[{"eventId":"nope","eventType":"E","data":{}}]`, 400, "invalid_input"},
		{"invalid ES-EventId", "POST", "/streams/s-1", map[string]string{"Content-Type": "application/json", "ES-EventType": "E", "ES-EventId": "x"}, `{}`, 400, "invalid_input"},
		{"single style, invalid JSON", "POST", "/streams/s-1", map[string]string{"Content-Type": "application/json", "ES-EventType": "E"}, `{`, 400, "invalid_input"},
		{"unknown content type", "POST", "/streams/s-1", map[string]string{"Content-Type": "text/csv"}, `a,b`, 415, "unsupported_media_type"},
		{"body over the limit", "POST", "/streams/s-1", jsonCT, big, 413, "body_too_large"},
		{"reserved stream name", "POST", "/streams/$foo", jsonCT, `[{"eventType":"E","data":{}}]`, 400, "invalid_input"},
		{"bad expected version", "POST", "/streams/s-1", map[string]string{"Content-Type": "application/json", "ES-ExpectedVersion": "-3"}, `[{"eventType":"E","data":{}}]`, 400, "invalid_input"},
		{"wrong expected version", "POST", "/streams/s-1", map[string]string{"Content-Type": "application/json", "ES-ExpectedVersion": "5"}, `[{"eventType":"E","data":{}}]`, 409, "wrong_expected_version"},
		{"append to hard-deleted", "POST", "/streams/gone-1", jsonCT, `[{"eventType":"E","data":{}}]`, 410, "stream_deleted"},
		{"read missing stream", "GET", "/streams/nope-1", nil, "", 404, "stream_not_found"},
		{"read hard-deleted stream", "GET", "/streams/gone-1", nil, "", 410, "stream_deleted"},
		{"bad count", "GET", "/streams/s-1?count=0", nil, "", 400, "invalid_input"},
		{"bad direction", "GET", "/streams/s-1?direction=up", nil, "", 400, "invalid_input"},
		{"backward $all", "GET", "/streams/$all?direction=backward", nil, "", 400, "invalid_input"},
		{"type: bad from", "GET", "/types/E?from=x", nil, "", 400, "invalid_input"},
		{"category: bad count", "GET", "/categories/s?count=5000", nil, "", 400, "invalid_input"},
		{"unknown event", "GET", "/events/2b3c4d5e-0000-4000-8000-00000000dead", nil, "", 404, "event_not_found"},
		{"event id not a UUID", "GET", "/events/xyz", nil, "", 400, "invalid_input"},
		{"stream event: bad version", "GET", "/streams/s-1/x", nil, "", 400, "invalid_input"},
		{"stream event: no such version", "GET", "/streams/s-1/7", nil, "", 404, "event_not_found"},
		{"stream event: hard-deleted stream", "GET", "/streams/gone-1/0", nil, "", 410, "stream_deleted"},
		{"subscribe to a reserved name", "GET", "/subscribe/streams/$foo", nil, "", 400, "invalid_input"},
		{"unknown route", "GET", "/nope", nil, "", 404, "not_found"},
		{"unknown route under /streams", "GET", "/streams/s-1/0/x", nil, "", 404, "not_found"},
		{"method not allowed", "PUT", "/streams/s-1", jsonCT, `[]`, 405, "method_not_allowed"},
		{"method not allowed on /import", "GET", "/import", nil, "", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, base+tt.path, "admin", "admin-pw", tt.headers, tt.body)
			if r.status != tt.status || r.body["error"] != tt.code || r.body["message"] == "" {
				t.Fatalf("= %d %s; want %d %s", r.status, r.raw, tt.status, tt.code)
			}
			if tt.code == "wrong_expected_version" && (r.header.Get("ES-CurrentVersion") != "0" || r.body["currentVersion"] != 0.0) {
				t.Fatalf("current version missing: %v %s", r.header, r.raw)
			}
			if tt.code == "method_not_allowed" && r.header.Get("Allow") == "" {
				t.Fatalf("405 without Allow: %v", r.header)
			}
		})
	}
	if h := store.Head(); h != 1 {
		t.Fatalf("failed requests wrote events: head = %d", h)
	}
}

func TestAuthOnEveryProtectedRoute(t *testing.T) {
	base, _ := testServer(t)
	routes := []struct {
		method, path string
		need         Role
	}{
		{"POST", "/streams/a-1", RoleWriter},
		{"GET", "/streams/a-1", RoleReader},
		{"GET", "/streams/$all", RoleReader},
		{"GET", "/types/E", RoleReader},
		{"GET", "/categories/a", RoleReader},
		{"GET", "/subscribe/$all", RoleReader},
		{"GET", "/subscribe/streams/a-1", RoleReader},
		{"GET", "/subscribe/types/E", RoleReader},
		{"GET", "/subscribe/categories/a", RoleReader},
		{"GET", "/events/2b3c4d5e-0000-4000-8000-000000000001", RoleReader},
		{"GET", "/streams/a-1/0", RoleReader},
	}
	for _, rt := range routes {
		for _, c := range []struct{ user, pass string }{{"", ""}, {"admin", "wrong"}, {"nobody", "x"}} {
			r := do(t, rt.method, base+rt.path, c.user, c.pass, jsonCT, `[{"eventType":"E","data":{}}]`)
			if r.status != 401 || r.header.Get("WWW-Authenticate") == "" || r.body["error"] != "unauthorized" {
				t.Errorf("%s %s as %q: %d %s", rt.method, rt.path, c.user, r.status, r.raw)
			}
		}
		if rt.need == RoleWriter {
			r := do(t, rt.method, base+rt.path, "reader", "r-pw", jsonCT, `[{"eventType":"E","data":{}}]`)
			if r.status != 403 || r.body["error"] != "forbidden" {
				t.Errorf("%s %s as reader: %d %s", rt.method, rt.path, r.status, r.raw)
			}
		}
	}
}

func TestCheckListenAddress(t *testing.T) {
	for _, tt := range []struct {
		addr, pw string
		ok       bool
	}{
		{"127.0.0.1:2113", DefaultAdminPassword, true},
		{"[::1]:2113", DefaultAdminPassword, true},
		{"localhost:2113", DefaultAdminPassword, true},
		{"0.0.0.0:2113", DefaultAdminPassword, false},
		{":2113", DefaultAdminPassword, false},
		{"10.0.0.5:2113", DefaultAdminPassword, false},
		{"0.0.0.0:2113", "s3cret", true},
	} {
		if err := CheckListenAddress(tt.addr, NewUsers(tt.pw)); (err == nil) != tt.ok {
			t.Errorf("CheckListenAddress(%q, %q) = %v", tt.addr, tt.pw, err)
		}
	}
}
