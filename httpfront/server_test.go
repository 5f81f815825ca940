package httpfront

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/eventsql/eventsql/engine"
)

func TestHealthOverRealSocket(t *testing.T) {
	ctx := context.Background()
	opts := engine.DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := engine.Open(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Append(ctx, "a-1", engine.ExpectAny, engine.EventData{Type: "E", Data: []byte(`{}`), DataIsJSON: true}); err != nil {
		t.Fatal(err)
	}
	var ready atomic.Bool
	srv := New(st, NewUsers("pw"), Options{}, opts.Logger, ready.Load)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Shutdown(ctx)
	base := "http://" + l.Addr().String()
	get := func(path string) (int, map[string]any) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: body %q is not JSON", path, b)
		}
		return resp.StatusCode, m
	}
	if code, _ := get("/health/live"); code != 200 {
		t.Fatalf("live = %d", code)
	}
	if code, _ := get("/health/ready"); code != 503 {
		t.Fatalf("ready before ready = %d", code)
	}
	ready.Store(true)
	if code, body := get("/health/ready"); code != 200 || body["head"] != float64(1) {
		t.Fatalf("ready = %d %v", code, body)
	}
}
