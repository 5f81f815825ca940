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
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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

// BenchmarkAppendOneEvent POSTs one-event appends to a real store over
// keep-alive loopback connections, from 1 and from 16 concurrent clients
// (each its own connection and streams; every append waits for its
// fsync). cpu-µs/op is the process's CPU time per request — client, HTTP
// server, handler and engine — steadier than time per op on a shared
// machine; allocs/op counts every goroutine's allocations.
func BenchmarkAppendOneEvent(b *testing.B) {
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchAppendOneEvent(b, clients) })
	}
}

func benchAppendOneEvent(b *testing.B, clients int) {
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
	auth := base64.StdEncoding.EncodeToString([]byte("admin:admin-pw"))
	body := `[{"eventType":"ItemAdded","data":{"sku":"SKU-000123","qty":2,"price":9.99,"note":"a short note about the item"}}]`
	type client struct {
		conn net.Conn
		br   *bufio.Reader
		req  []byte
	}
	cs := make([]*client, clients)
	for i := range cs {
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		req := fmt.Sprintf("POST /streams/cart-%d HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", i, auth, len(body), body)
		cs[i] = &client{conn: conn, br: bufio.NewReader(conn), req: []byte(req)}
	}
	post := func(c *client) error {
		if _, err := c.conn.Write(c.req); err != nil {
			return err
		}
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	b.ReportAllocs()
	cpu0, fsyncs0 := processCPU(), st.Stats().Fsyncs
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for _, c := range cs {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := post(c); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(b.N)/float64(max(1, st.Stats().Fsyncs-fsyncs0)), "appends/fsync")
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
