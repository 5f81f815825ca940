package httpfront

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// preflight sends a browser's CORS preflight for method and headers.
func preflight(t *testing.T, url, origin, method, headers string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("OPTIONS", url, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", method)
	if headers != "" {
		req.Header.Set("Access-Control-Request-Headers", headers)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// hasAll reports whether the comma-separated list h names every one of
// want (case-insensitively, as browsers compare header names).
func hasAll(h string, want ...string) bool {
	var got []string
	for _, f := range strings.Split(h, ",") {
		got = append(got, strings.ToLower(strings.TrimSpace(f)))
	}
	for _, w := range want {
		if !slices.Contains(got, strings.ToLower(w)) {
			return false
		}
	}
	return true
}

// TestCORS: with allowed origins, a page from one of them gets its
// preflights answered (before authentication: preflights carry no
// credentials) and every answer — success, error, event stream — says
// it may read it, with the headers scripts need exposed; other origins
// get none of it. A page from another origin could not use the API.
func TestCORS(t *testing.T) {
	st := openTestStore(t)
	base, _ := startServer(t, st, Options{CORSOrigins: []string{"https://app.example.com"}})
	const app = "https://app.example.com"

	resp := preflight(t, base+"/streams/cart-1", app, "POST", "authorization, content-type, es-expectedversion, es-eventtype")
	h := resp.Header
	if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != app || h.Get("Access-Control-Allow-Credentials") != "true" ||
		!hasAll(h.Get("Access-Control-Allow-Methods"), "GET", "POST", "DELETE") ||
		!hasAll(h.Get("Access-Control-Allow-Headers"), "Authorization", "Content-Type", "ES-ExpectedVersion", "ES-EventType", "ES-EventId", "ES-LongPoll", "ES-HardDelete", "Last-Event-ID") ||
		!hasAll(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Fatalf("preflight = %d %v", resp.StatusCode, h)
	}
	if resp := preflight(t, base+"/streams/cart-1", "https://evil.example.com", "POST", "authorization"); resp.StatusCode != 403 ||
		resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin = %d %v", resp.StatusCode, resp.Header)
	}

	fromApp := map[string]string{"Origin": app, "Content-Type": "application/json", "ES-ExpectedVersion": "-1"}
	r := do(t, "POST", base+"/streams/cart-1", "writer", "w-pw", fromApp, `[{"eventType":"ItemAdded","data":{}}]`)
	if r.status != 201 || r.header.Get("Access-Control-Allow-Origin") != app || r.header.Get("Access-Control-Allow-Credentials") != "true" ||
		!hasAll(r.header.Get("Access-Control-Expose-Headers"), "Location", "ES-CurrentVersion") {
		t.Fatalf("append from the app = %d %v", r.status, r.header)
	}
	// Errors are readable too: the 409's ES-CurrentVersion, a 401.
	r = do(t, "POST", base+"/streams/cart-1", "writer", "w-pw", fromApp, `[{"eventType":"ItemAdded","data":{}}]`)
	if r.status != 409 || r.header.Get("Access-Control-Allow-Origin") != app || r.header.Get("ES-CurrentVersion") != "0" {
		t.Fatalf("conflict from the app = %d %v", r.status, r.header)
	}
	r = do(t, "GET", base+"/streams/cart-1", "", "", map[string]string{"Origin": app}, "")
	if r.status != 401 || r.header.Get("Access-Control-Allow-Origin") != app {
		t.Fatalf("unauthenticated read from the app = %d %v", r.status, r.header)
	}
	r = do(t, "GET", base+"/streams/cart-1", "reader", "r-pw", map[string]string{"Origin": "https://evil.example.com"}, "")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("read from another origin = %d %v", r.status, r.header)
	}
	// An EventSource from the app.
	c := subscribe(t, base, "/subscribe/streams/cart-1?from=0", map[string]string{"Origin": app})
	if c.resp.Header.Get("Access-Control-Allow-Origin") != app || c.resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("event stream headers %v", c.resp.Header)
	}
	if got := c.ids(t, 1, true); !slices.Equal(got, []int64{0}) {
		t.Fatalf("events %v", got)
	}
}

// TestCORSAnyOrigin: "*" allows every origin, answered with the origin
// itself (browsers refuse "*" with credentials).
func TestCORSAnyOrigin(t *testing.T) {
	base, _ := startServer(t, openTestStore(t), Options{CORSOrigins: []string{"*"}})
	resp := preflight(t, base+"/streams/$all", "http://localhost:5173", "GET", "authorization, es-longpoll")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Fatalf("preflight = %d %v", resp.StatusCode, resp.Header)
	}
	r := do(t, "GET", base+"/stats", "reader", "r-pw", map[string]string{"Origin": "https://b.example"}, "")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://b.example" {
		t.Fatalf("stats = %d %v", r.status, r.header)
	}
}

// TestCORSOffByDefault: without allowed origins nothing changes: no CORS
// headers, and OPTIONS is a 405 like any method without a route.
func TestCORSOffByDefault(t *testing.T) {
	base, _ := startServer(t, openTestStore(t), Options{})
	resp := preflight(t, base+"/streams/cart-1", "https://app.example.com", "POST", "authorization")
	if resp.StatusCode != 405 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight = %d %v", resp.StatusCode, resp.Header)
	}
	r := do(t, "GET", base+"/streams/$all", "reader", "r-pw", map[string]string{"Origin": "https://app.example.com"}, "")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Vary") != "" {
		t.Fatalf("read = %d %v", r.status, r.header)
	}
}

func TestParseCORSOrigins(t *testing.T) {
	got, err := ParseCORSOrigins([]string{"https://A.example.com", "http://localhost:3000, *"})
	if err != nil || !slices.Equal(got, []string{"https://a.example.com", "http://localhost:3000", "*"}) {
		t.Fatalf("= %v, %v", got, err)
	}
	for _, bad := range []string{"app.example.com", "https://a.example.com/", "ftp://a.example.com", "https://a.example.com/app", "https://"} {
		if _, err := ParseCORSOrigins([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
