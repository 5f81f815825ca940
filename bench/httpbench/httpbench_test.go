//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestGeneratorDeterministicAndUnique(t *testing.T) {
	a, b := NewGen(7), NewGen(7)
	seen := map[uuid.UUID]bool{}
	for s := 1; s <= 3; s++ {
		for c := range 4 {
			for call := range 50 {
				for j := range 10 {
					k := appendKey(s, c, call, 10, j)
					ea, eb := a.Event(k), b.Event(k)
					if ea.ID != eb.ID || ea.Type != eb.Type || !bytes.Equal(ea.Data, eb.Data) || !bytes.Equal(ea.Metadata, eb.Metadata) {
						t.Fatalf("key %x: two generators of one seed differ", k)
					}
					if seen[ea.ID] {
						t.Fatalf("key %x: id %s repeats", k, ea.ID)
					}
					seen[ea.ID] = true
					if ea.ID.Version() != 4 || ea.ID.Variant() != uuid.RFC4122 {
						t.Fatalf("id %s is not version-4 shaped", ea.ID)
					}
				}
			}
		}
	}
	if NewGen(8).Event(1).ID == a.Event(1).ID {
		t.Fatal("another seed gives the same id")
	}
}

func TestEncodings(t *testing.T) {
	g := NewGen(1)
	for n := range 200 {
		e := g.Event(uint64(n))
		if !json.Valid(e.Data) || !json.Valid(e.Metadata) || len(e.Data) < minData || len(e.Data) > maxData {
			t.Fatalf("event %d: data %q metadata %q", n, e.Data, e.Metadata)
		}
		line := appendNDJSON(nil, "acct-7", e)
		if len(line) != eventBytes("acct-7", e) {
			t.Fatalf("eventBytes %d, line is %d bytes", eventBytes("acct-7", e), len(line))
		}
		var got struct {
			Stream, EventType, EventID string
			Data, Metadata             json.RawMessage
		}
		if err := json.Unmarshal(line, &got); err != nil || got.Stream != "acct-7" || got.EventType != e.Type ||
			got.EventID != e.ID.String() || !bytes.Equal(got.Data, e.Data) || !bytes.Equal(got.Metadata, e.Metadata) {
			t.Fatalf("NDJSON line %q decodes to %+v (%v)", line, got, err)
		}
		var arr []map[string]json.RawMessage
		if err := json.Unmarshal(append(append([]byte{'['}, appendHTTPEvent(nil, e)...), ']'), &arr); err != nil || len(arr) != 1 {
			t.Fatalf("HTTP body: %v", err)
		}
		if tsv := appendTSV(nil, "acct-7", 3, e); strings.Count(string(tsv), "\t") != 5 {
			t.Fatalf("TSV row %q has not 6 fields", tsv)
		}
	}
}

func TestImportFiles(t *testing.T) {
	dir := t.TempDir()
	f, err := writeImportFiles(context.Background(), NewGen(1), dir, 3, 200_000, 10)
	if err != nil {
		t.Fatal(err)
	}
	for path, size := range map[string]int64{f.ndjson: f.ndjsonBytes, f.tsv: f.tsvBytes} {
		st, err := os.Stat(path)
		if err != nil || st.Size() != size {
			t.Fatalf("%s: %v, size %d want %d", path, err, st.Size(), size)
		}
	}
	nf, _ := os.Open(f.ndjson)
	defer nf.Close()
	lines := 0
	for sc := bufio.NewScanner(nf); sc.Scan(); lines++ {
	}
	if lines != f.events || f.ndjsonBytes < 200_000 || f.layout.streams < 2 {
		t.Fatalf("%d lines, %+v", lines, f)
	}
}

// TestImportClient checks the client against the /import contract and
// its skip when the route is missing.
func TestImportClient(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ndjson")
	body := appendNDJSON(appendNDJSON(nil, "a-1", NewGen(1).Event(1)), "a-2", NewGen(1).Event(2))
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := httptest.NewServer(http.NewServeMux())
	defer missing.Close()
	if _, _, err := importEventsql(context.Background(), missing.URL, path); !errors.Is(err, errImportMissing) {
		t.Fatalf("no route: %v, want errImportMissing", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /import", func(w http.ResponseWriter, r *http.Request) {
		n := 0
		for sc := bufio.NewScanner(r.Body); sc.Scan(); n++ {
		}
		json.NewEncoder(w).Encode(map[string]any{"written": n, "rejected": 0, "rejectedLines": []any{}})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	reply, d, err := importEventsql(context.Background(), srv.URL, path)
	if err != nil || reply.Written != 2 || d <= 0 {
		t.Fatalf("import: %+v %v %v", reply, d, err)
	}
}

func TestDrive(t *testing.T) {
	calls := make([]int, 3)
	r, err := drive(context.Background(), 3, 30*time.Millisecond, func(c int) caller {
		return func(ctx context.Context, call int) (int, int, error) {
			calls[c]++
			time.Sleep(time.Millisecond)
			return 2, 10, nil
		}
	})
	if err != nil || r.requests == 0 || r.events != 2*r.requests || r.bytes != 10*r.requests {
		t.Fatalf("%+v %v", r, err)
	}
	if int(r.requests)+3 != calls[0]+calls[1]+calls[2] {
		t.Fatalf("%d requests counted, %v made (3 warm-ups)", r.requests, calls)
	}
	boom := errors.New("boom")
	_, err = drive(context.Background(), 2, time.Second, func(c int) caller {
		return func(ctx context.Context, call int) (int, int, error) {
			if call == 3 {
				return 0, 0, boom
			}
			return 1, 1, nil
		}
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
}

func TestFlags(t *testing.T) {
	for in, want := range map[string]int64{"1GB": 1e9, "200MB": 200e6, "1GiB": 1 << 30, "512": 512, "1.5KB": 1500} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	sc, err := parseScenarios("append64x100, import,append16x1")
	if err != nil || len(sc) != 3 || sc[0].clients != 64 || sc[0].batch != 100 || sc[1].name != "import" {
		t.Fatalf("%+v %v", sc, err)
	}
	for _, bad := range []string{"append", "append0x1", "appendx1", "bulk", ""} {
		if _, err := parseScenarios(bad); err == nil {
			t.Errorf("parseScenarios(%q) accepted", bad)
		}
	}
}

// TestRawConn: the load generator's lean client against net/http's server:
// headers and body arrive, replies are read, one connection carries many
// requests, a server that closes is redialled, a done context fails.
func TestRawConn(t *testing.T) {
	var conns, requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/streams/s-1" || r.Header.Get("ES-ExpectedVersion") != "-2" || string(b) != `[{"n":`+r.Header.Get("X-N")+`}]` {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		if r.Header.Get("X-N") == "3" {
			w.Header().Set("Connection", "close")
		}
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"ok":` + r.Header.Get("X-N") + `}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	rc, err := newRawConn(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.close()
	ctx := context.Background()
	for n := 1; n <= 5; n++ {
		status, reply, err := rc.post(ctx, "/streams/s-1", []string{"ES-ExpectedVersion: -2", "X-N: " + strconv.Itoa(n)}, []byte(`[{"n":`+strconv.Itoa(n)+`}]`))
		if err != nil || status != http.StatusCreated || string(reply) != `{"ok":`+strconv.Itoa(n)+`}` {
			t.Fatalf("request %d: %d %q %v", n, status, reply, err)
		}
	}
	if requests.Load() != 5 || conns.Load() != 2 {
		t.Fatalf("%d requests over %d connections, want 5 over 2 (the server closed after the third)", requests.Load(), conns.Load())
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	rc2, _ := newRawConn(srv.URL)
	if _, _, err := rc2.post(cctx, "/streams/s-1", nil, nil); err == nil {
		t.Fatal("post with a done context succeeded")
	}
}
