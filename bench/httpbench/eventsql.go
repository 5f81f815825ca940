//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/eventsql/eventsql/bench/benchproc"
	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
)

// eventsqlServer is one eventsql HTTP server on a fresh data directory:
// the real binary in a child process, or (-server inprocess) the engine
// and HTTP front inside this process, so -cpuprofile sees the server.
type eventsqlServer struct {
	url     string
	dataDir string
	logPath string

	// binary
	proc *benchproc.Child

	// inprocess
	store  *engine.Store
	srv    *httpfront.Server
	served chan error
}

// startEventsql starts a server on a new data directory under runDir.
// bin is the binary, or "" for the in-process server.
func startEventsql(ctx context.Context, bin, runDir, name string) (*eventsqlServer, error) {
	dataDir, err := os.MkdirTemp(runDir, "eventsql-"+name+"-*")
	if err != nil {
		return nil, err
	}
	s := &eventsqlServer{dataDir: dataDir}
	if bin == "" {
		err = s.startInProcess(ctx)
	} else {
		err = s.startBinary(ctx, bin)
	}
	if err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *eventsqlServer) startBinary(ctx context.Context, bin string) error {
	addr, err := benchproc.FreeAddr()
	if err != nil {
		return err
	}
	s.url = "http://" + addr
	s.logPath = s.dataDir + ".log"
	s.proc, err = benchproc.StartChild(benchproc.ChildSpec{Name: "eventsql", Bin: bin, Output: s.logPath,
		Args: []string{"serve", "--data", s.dataDir, "--http", addr, "--log-level", "warn"}})
	return err
}

func (s *eventsqlServer) startInProcess(ctx context.Context) error {
	opts := engine.DefaultOptions()
	opts.MaxAppendSize = max(opts.MaxAppendSize, opts.MaxEventSize+(1<<20))
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := engine.Open(ctx, s.dataDir, opts)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		store.Close()
		return err
	}
	s.url = "http://" + l.Addr().String()
	s.store = store
	s.srv = httpfront.New(store, httpfront.NewUsers(httpfront.DefaultAdminPassword),
		httpfront.Options{MaxBodySize: opts.MaxAppendSize}, opts.Logger, func() bool { return true })
	s.served = make(chan error, 1)
	go func() { s.served <- s.srv.Serve(l) }()
	return nil
}

// waitReady polls /health/ready until 200, the process exits or 30 s pass.
func (s *eventsqlServer) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/health/ready", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if s.proc != nil {
			if err := s.proc.ExitedEarly(); err != nil {
				return err
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("eventsql not ready after 30s at %s: %v", s.url, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// pid is the server's process id (this process's when in-process).
func (s *eventsqlServer) pid() int {
	if s.proc != nil {
		return s.proc.PID()
	}
	return os.Getpid()
}

// head is the store's last position, from /health/ready.
func (s *eventsqlServer) head(ctx context.Context) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/health/ready", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /health/ready: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Head uint64 `json:"head"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("GET /health/ready: %w", err)
	}
	return body.Head, nil
}

// stop shuts the server down (SIGTERM, SIGKILL after 30 s) and removes
// its data directory. Safe to call more than once.
func (s *eventsqlServer) stop() error {
	var err error
	switch {
	case s.proc != nil:
		err = s.proc.Stop(30 * time.Second)
		s.proc = nil
		os.Remove(s.logPath)
	case s.srv != nil:
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = s.srv.Shutdown(sctx)
		cancel()
		if serr := <-s.served; err == nil {
			err = serr
		}
		if cerr := s.store.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
		s.srv = nil
	}
	os.RemoveAll(s.dataDir)
	return err
}

// httpClient returns a client keeping one connection per benchmark client.
func httpClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       time.Minute,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}}
}

func basicAuth() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+httpfront.DefaultAdminPassword))
}

// eventsqlAppender returns the caller of client c: call i POSTs a batch
// of events to stream appendStream(c, i) with ES-ExpectedVersion -2. With
// raw set (-http-client raw) each client has its own rawConn, kept in
// conns; otherwise the requests go through hc.
func eventsqlAppender(s *eventsqlServer, hc *http.Client, raw *rawConns, g *Gen, scenario, batch int) func(c int) caller {
	auth := basicAuth()
	headers := []string{"Content-Type: application/json", "ES-ExpectedVersion: -2", "Authorization: " + auth}
	return func(c int) caller {
		var body []byte
		var rc *rawConn
		return func(ctx context.Context, call int) (int, int, error) {
			stream := appendStream(c, call)
			body = append(body[:0], '[')
			size := 0
			for j := range batch {
				if j > 0 {
					body = append(body, ',')
				}
				e := g.Event(appendKey(scenario, c, call, batch, j))
				body = appendHTTPEvent(body, e)
				size += eventBytes(stream, e)
			}
			body = append(body, ']')
			var status int
			var reply []byte
			if raw != nil {
				if rc == nil {
					var err error
					if rc, err = newRawConn(s.url); err != nil {
						return 0, 0, err
					}
					raw.add(rc)
				}
				var err error
				if status, reply, err = rc.post(ctx, "/streams/"+stream, headers, body); err != nil {
					return 0, 0, err
				}
			} else {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/streams/"+stream, bytes.NewReader(body))
				if err != nil {
					return 0, 0, err
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("ES-ExpectedVersion", "-2")
				req.Header.Set("Authorization", auth)
				resp, err := hc.Do(req)
				if err != nil {
					return 0, 0, err
				}
				reply, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					return 0, 0, fmt.Errorf("reading the reply: %w", err)
				}
				status = resp.StatusCode
			}
			if status != http.StatusCreated {
				return 0, 0, fmt.Errorf("POST /streams/%s: %d %s: %s", stream, status, http.StatusText(status), bytes.TrimSpace(reply))
			}
			return batch, size, nil
		}
	}
}

// importReply is the contract of POST /import's answer.
type importReply struct {
	Written  int64 `json:"written"`
	Rejected int64 `json:"rejected"`
}

// errImportMissing means the server has no POST /import (404 or 405).
var errImportMissing = errors.New("/import not available")

// importEventsql POSTs the NDJSON file to /import as one streamed body.
// A GET probe first tells whether the route exists without sending the
// file: 404 means no route (an existing POST-only route answers 405).
func importEventsql(ctx context.Context, url, path string) (importReply, time.Duration, error) {
	var reply importReply
	hc := httpClient(1)
	probe, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/import", nil)
	if err != nil {
		return reply, 0, err
	}
	probe.Header.Set("Authorization", basicAuth())
	resp, err := hc.Do(probe)
	if err != nil {
		return reply, 0, fmt.Errorf("probe GET /import: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return reply, 0, errImportMissing
	}

	f, err := os.Open(path)
	if err != nil {
		return reply, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return reply, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/import", f)
	if err != nil {
		return reply, 0, err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", basicAuth())
	req.Header.Set("Expect", "100-continue")
	start := time.Now()
	resp, err = hc.Do(req)
	if err != nil {
		return reply, 0, fmt.Errorf("POST /import: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		return reply, 0, fmt.Errorf("POST /import: reading the reply: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return reply, 0, errImportMissing
	case resp.StatusCode/100 != 2:
		return reply, 0, fmt.Errorf("POST /import: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		return reply, 0, fmt.Errorf("POST /import: reply %q: %w", body, err)
	}
	return reply, elapsed, nil
}
