package httpfront

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/eventsql/eventsql/engine"
)

// BenchmarkDecodeAppendBody decodes a 100-event array body of ~200-byte
// events, the shape of the HTTP append benchmark (bench/httpbench).
func BenchmarkDecodeAppendBody(b *testing.B) {
	var body bytes.Buffer
	body.WriteByte('[')
	for i := range 100 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"eventId":"2b3c4d5e-0000-4000-8000-%012d","eventType":"ItemAdded","data":{"sku":"SKU-%06d","qty":%d,"price":%d.99,"note":"a short note about the item"},"metadata":{"user":"u-%d","source":"web"}}`,
			i, i, i%7+1, i%100, i%50)
	}
	body.WriteByte(']')
	h := http.Header{}
	h.Set("Content-Type", contentJSON)
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		events, _, err := decodeAppendBody(h, body.Bytes())
		if err != nil || len(events) != 100 {
			b.Fatal(err, len(events))
		}
	}
}

// BenchmarkAppendOneEvent POSTs one-event appends over one keep-alive
// loopback connection to a real store (each waits for its fsync). Its
// allocs/op counts every goroutine's allocations per request — client,
// HTTP server, handler and engine — the figure to watch (time per op is
// the disk's).
func BenchmarkAppendOneEvent(b *testing.B) {
	st := openBenchStore(b)
	users := NewUsers("admin-pw")
	srv := New(st, users, Options{}, slog.New(slog.DiscardHandler), func() bool { return true })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	defer func() {
		srv.Shutdown(context.Background())
		<-done
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	auth := base64.StdEncoding.EncodeToString([]byte("admin:admin-pw"))
	body := `[{"eventType":"ItemAdded","data":{"sku":"SKU-000123","qty":2,"price":9.99,"note":"a short note about the item"}}]`
	req := fmt.Sprintf("POST /streams/cart-1 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", auth, len(body), body)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.WriteString(conn, req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func openBenchStore(b *testing.B) *engine.Store {
	b.Helper()
	opts := engine.DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := engine.Open(context.Background(), b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
