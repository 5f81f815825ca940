package httpfront

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// doRaw is do for responses that need not be JSON (204, text/plain).
func doRaw(t *testing.T, method, url, user, pass string, headers map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestStreamMetadataOverHTTP(t *testing.T) {
	base, _ := testServer(t)
	for range 5 {
		if r := do(t, "POST", base+"/streams/order-1", "writer", "w-pw", jsonCT, `[{"eventType":"E","data":{}}]`); r.status != 201 {
			t.Fatalf("append = %d %s", r.status, r.raw)
		}
	}
	// A stream without metadata has an empty object, like EventStoreDB.
	if r := do(t, "GET", base+"/streams/order-1/metadata", "reader", "r-pw", nil, ""); r.status != 200 || r.raw != "{}\n" {
		t.Fatalf("empty metadata = %d %q", r.status, r.raw)
	}
	if r := do(t, "GET", base+"/streams/never-1/metadata", "reader", "r-pw", nil, ""); r.status != 200 || r.raw != "{}\n" {
		t.Fatalf("metadata of unknown stream = %d %q", r.status, r.raw)
	}
	r := do(t, "POST", base+"/streams/order-1/metadata", "admin", "admin-pw", jsonCT, `{"$maxCount":3,"$maxAge":3600,"owner":"team-a","tags":["x"]}`)
	if want := `{"$maxAge":3600,"$maxCount":3,"owner":"team-a","tags":["x"]}` + "\n"; r.status != 200 || r.raw != want {
		t.Fatalf("set metadata = %d %q, want %q", r.status, r.raw, want)
	}
	if r := do(t, "GET", base+"/streams/order-1/metadata", "reader", "r-pw", nil, ""); r.body["$maxCount"] != 3.0 || r.body["owner"] != "team-a" {
		t.Fatalf("get metadata = %s", r.raw)
	}
	// $maxCount is honoured by reads at once.
	r = do(t, "GET", base+"/streams/order-1", "reader", "r-pw", nil, "")
	if evs := r.body["events"].([]any); len(evs) != 3 || evs[0].(map[string]any)["version"] != 2.0 {
		t.Fatalf("read after $maxCount=3 = %s", r.raw)
	}
	// $tb hides older versions; {} clears everything.
	do(t, "POST", base+"/streams/order-1/metadata", "admin", "admin-pw", jsonCT, `{"$tb":4}`)
	r = do(t, "GET", base+"/streams/order-1", "reader", "r-pw", nil, "")
	if evs := r.body["events"].([]any); len(evs) != 1 {
		t.Fatalf("read after $tb=4 = %s", r.raw)
	}
	do(t, "POST", base+"/streams/order-1/metadata", "admin", "admin-pw", jsonCT, `{}`)
	r = do(t, "GET", base+"/streams/order-1", "reader", "r-pw", nil, "")
	if evs := r.body["events"].([]any); len(evs) != 5 {
		t.Fatalf("read after clearing metadata = %s", r.raw)
	}
}

func TestDeleteStreamOverHTTP(t *testing.T) {
	base, store := testServer(t)
	for _, s := range []string{"soft-1", "hard-1"} {
		if r := do(t, "POST", base+"/streams/"+s, "writer", "w-pw", jsonCT, `[{"eventType":"E","data":{}},{"eventType":"E","data":{}}]`); r.status != 201 {
			t.Fatalf("append = %d %s", r.status, r.raw)
		}
	}
	// Wrong expected version: 409 with the current version, nothing deleted.
	status, hdr, body := doRaw(t, "DELETE", base+"/streams/soft-1", "admin", "admin-pw", map[string]string{"ES-ExpectedVersion": "0"}, "")
	if status != 409 || hdr.Get("ES-CurrentVersion") != "1" || !strings.Contains(body, "wrong_expected_version") {
		t.Fatalf("delete with wrong version = %d %s", status, body)
	}
	if status, _, body := doRaw(t, "DELETE", base+"/streams/soft-1", "admin", "admin-pw", map[string]string{"ES-ExpectedVersion": "1"}, ""); status != 204 || body != "" {
		t.Fatalf("soft delete = %d %q", status, body)
	}
	if r := do(t, "GET", base+"/streams/soft-1", "reader", "r-pw", nil, ""); r.status != 404 || r.body["error"] != "stream_not_found" {
		t.Fatalf("read soft-deleted = %d %s", r.status, r.raw)
	}
	// A soft-deleted stream starts again with the next version.
	if r := do(t, "POST", base+"/streams/soft-1", "writer", "w-pw", jsonCT, `[{"eventType":"E","data":{}}]`); r.status != 201 || r.body["nextExpectedVersion"] != 2.0 {
		t.Fatalf("append after soft delete = %d %s", r.status, r.raw)
	}

	if status, _, body := doRaw(t, "DELETE", base+"/streams/hard-1", "admin", "admin-pw", map[string]string{"ES-HardDelete": "true"}, ""); status != 204 {
		t.Fatalf("hard delete = %d %s", status, body)
	}
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/streams/hard-1", ""},
		{"GET", "/streams/hard-1/metadata", ""},
		{"POST", "/streams/hard-1", `[{"eventType":"E","data":{}}]`},
		{"POST", "/streams/hard-1/metadata", `{"$maxCount":1}`},
		{"DELETE", "/streams/hard-1", ""},
	} {
		if r := do(t, req.method, base+req.path, "admin", "admin-pw", jsonCT, req.body); r.status != 410 || r.body["error"] != "stream_deleted" {
			t.Errorf("%s %s after hard delete = %d %s", req.method, req.path, r.status, r.raw)
		}
	}
	if info, err := store.StreamInfo(t.Context(), "hard-1"); err != nil || info.Deleted != "hard" {
		t.Fatalf("stream info = %+v, %v", info, err)
	}
}

func TestMetadataAndDeleteBadInput(t *testing.T) {
	base, store := testServer(t)
	do(t, "POST", base+"/streams/s-1", "writer", "w-pw", jsonCT, `[{"eventType":"E","data":{}}]`)
	head := store.Head()
	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		status  int
		code    string
	}{
		{"metadata not an object", "POST", "/streams/s-1/metadata", jsonCT, `[1]`, 400, "invalid_input"},
		{"metadata malformed", "POST", "/streams/s-1/metadata", jsonCT, `{"$maxCount":`, 400, "invalid_input"},
		{"metadata two objects", "POST", "/streams/s-1/metadata", jsonCT, `{} {}`, 400, "invalid_input"},
		{"negative $maxCount", "POST", "/streams/s-1/metadata", jsonCT, `{"$maxCount":-1}`, 400, "invalid_input"},
		{"zero $maxCount (was dropped silently)", "POST", "/streams/s-1/metadata", jsonCT, `{"$maxCount":0,"owner":"x"}`, 400, "invalid_input"},
		{"zero $maxAge (was dropped silently)", "POST", "/streams/s-1/metadata", jsonCT, `{"$maxAge":0}`, 400, "invalid_input"},
		{"fractional $maxAge", "POST", "/streams/s-1/metadata", jsonCT, `{"$maxAge":1.5}`, 400, "invalid_input"},
		{"string $tb", "POST", "/streams/s-1/metadata", jsonCT, `{"$tb":"3"}`, 400, "invalid_input"},
		{"unsupported $acl", "POST", "/streams/s-1/metadata", jsonCT, `{"$acl":{}}`, 400, "invalid_input"},
		{"metadata wrong content type", "POST", "/streams/s-1/metadata", map[string]string{"Content-Type": "text/plain"}, `{}`, 415, "unsupported_media_type"},
		{"metadata too large", "POST", "/streams/s-1/metadata", jsonCT, `{"x":"` + strings.Repeat("y", 200<<10) + `"}`, 413, "body_too_large"},
		{"metadata of reserved name", "POST", "/streams/$x/metadata", jsonCT, `{}`, 400, "invalid_input"},
		{"delete unknown stream", "DELETE", "/streams/nope-1", nil, "", 404, "stream_not_found"},
		{"delete bad ES-HardDelete", "DELETE", "/streams/s-1", map[string]string{"ES-HardDelete": "maybe"}, "", 400, "invalid_input"},
		{"delete bad expected version", "DELETE", "/streams/s-1", map[string]string{"ES-ExpectedVersion": "x"}, "", 400, "invalid_input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, base+tt.path, "admin", "admin-pw", tt.headers, tt.body)
			if r.status != tt.status || r.body["error"] != tt.code || r.body["message"] == "" {
				t.Fatalf("= %d %s; want %d %s", r.status, r.raw, tt.status, tt.code)
			}
		})
	}
	if r := do(t, "GET", base+"/streams/s-1/metadata", "reader", "r-pw", nil, ""); r.raw != "{}\n" {
		t.Fatalf("failed requests changed metadata: %s", r.raw)
	}
	if store.Head() != head {
		t.Fatalf("failed requests wrote: head %d, want %d", store.Head(), head)
	}
}

func TestAuthOnAdminRoutes(t *testing.T) {
	base, _ := testServer(t)
	routes := []struct {
		method, path string
		need         Role
	}{
		{"GET", "/streams/a-1/metadata", RoleReader},
		{"POST", "/streams/a-1/metadata", RoleAdmin},
		{"DELETE", "/streams/a-1", RoleAdmin},
		{"GET", "/stats", RoleReader},
		{"GET", "/metrics", RoleReader},
	}
	users := []struct {
		name, pass string
		role       Role
	}{{"reader", "r-pw", RoleReader}, {"writer", "w-pw", RoleWriter}}
	for _, rt := range routes {
		for _, c := range []struct{ user, pass string }{{"", ""}, {"admin", "wrong"}, {"nobody", "x"}} {
			status, hdr, body := doRaw(t, rt.method, base+rt.path, c.user, c.pass, jsonCT, `{}`)
			if status != 401 || hdr.Get("WWW-Authenticate") == "" || !strings.Contains(body, `"unauthorized"`) {
				t.Errorf("%s %s as %q: %d %s", rt.method, rt.path, c.user, status, body)
			}
		}
		for _, u := range users {
			if u.role >= rt.need {
				continue
			}
			if status, _, body := doRaw(t, rt.method, base+rt.path, u.name, u.pass, jsonCT, `{}`); status != 403 || !strings.Contains(body, `"forbidden"`) {
				t.Errorf("%s %s as %s: %d %s", rt.method, rt.path, u.name, status, body)
			}
		}
	}
}
