//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rawConn is a lean HTTP/1.1 client of one keep-alive connection, for the
// load generator: one write per request (headers and body together) and
// responses parsed by net/http's own ReadResponse, without net/http's
// Transport, whose two goroutines per connection and channel hand-offs
// per request cost ~30 µs of CPU per request on this 2-core machine —
// CPU the server under test then does not get. MariaDB's client
// (go-sql-driver) is as lean: one write and one read per statement.
type rawConn struct {
	addr, host string
	conn       net.Conn
	br         *bufio.Reader
	req        []byte
	reply      bytes.Buffer
	stop       func() bool // unregisters the context watch
}

func newRawConn(baseURL string) (*rawConn, error) {
	host, ok := strings.CutPrefix(baseURL, "http://")
	if !ok {
		return nil, fmt.Errorf("raw HTTP client: %q is not an http:// URL", baseURL)
	}
	return &rawConn{addr: host, host: host}, nil
}

func (rc *rawConn) dial(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", rc.addr)
	if err != nil {
		return err
	}
	rc.conn, rc.br = c, bufio.NewReaderSize(c, 16<<10)
	// A done context fails the request in flight at once.
	rc.stop = context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return nil
}

// post sends one POST with the given extra headers ("Name: value" lines)
// and returns the status and the reply body (valid until the next call).
func (rc *rawConn) post(ctx context.Context, path string, headers []string, body []byte) (int, []byte, error) {
	if rc.conn == nil {
		if err := rc.dial(ctx); err != nil {
			return 0, nil, err
		}
	}
	b := append(rc.req[:0], "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, rc.host...)
	b = append(b, "\r\n"...)
	for _, h := range headers {
		b = append(append(b, h...), "\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	rc.req = b
	if _, err := rc.conn.Write(b); err != nil {
		rc.close()
		return 0, nil, err
	}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.close()
		return 0, nil, fmt.Errorf("reading the reply: %w", err)
	}
	rc.reply.Reset()
	_, err = rc.reply.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		rc.close()
		return 0, nil, fmt.Errorf("reading the reply: %w", err)
	}
	if resp.Close {
		rc.close()
	}
	return resp.StatusCode, rc.reply.Bytes(), nil
}

func (rc *rawConn) close() {
	if rc.conn != nil {
		rc.stop()
		rc.conn.Close()
		rc.conn = nil
	}
}

// rawConns keeps the connections a load made, to close them after it.
type rawConns struct {
	mu    sync.Mutex
	conns []*rawConn
}

func (rs *rawConns) add(rc *rawConn) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.conns = append(rs.conns, rc)
}

func (rs *rawConns) closeAll() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, rc := range rs.conns {
		rc.close()
	}
	rs.conns = nil
}
