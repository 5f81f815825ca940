package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExportCommand runs `eventsql export` against a running server's
// store: --data (read-only, the server holds the lock) and --server, and
// the periodic export of `serve --export-every`.
func TestExportCommand(t *testing.T) {
	dataDir := t.TempDir()
	periodic := t.TempDir()
	base, _, stop := startServe(t, "--data", dataDir, "--admin-password", "pw", "--export-every", "20ms", "--export-dir", periodic)
	body := `{"stream":"cart-1","eventType":"ItemAdded","data":{"n":1}}` + "\n" + `{"stream":"cart-2","eventType":"Paid","data":{"amount":2.5}}` + "\n"
	req, _ := http.NewRequest("POST", base+"/import", strings.NewReader(body))
	req.SetBasicAuth("admin", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("import: %v %v", err, resp)
	}
	resp.Body.Close()

	out := t.TempDir()
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"export", "--data", dataDir, "--out", out}, &stdout, io.Discard); err != nil {
		t.Fatalf("export --data: %v", err)
	}
	if !strings.Contains(stdout.String(), "2 events (positions 1 to 2), 3 files") {
		t.Fatalf("summary %q", stdout.String())
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"export", "--data", dataDir, "--out", out}, &stdout, io.Discard); err != nil || !strings.Contains(stdout.String(), "up to date") {
		t.Fatalf("second export: %v %q", err, stdout.String())
	}

	out3 := t.TempDir()
	stdout.Reset()
	if err := run(context.Background(), []string{"export", "--data", dataDir, "--out", out3, "--datasets", "events"}, &stdout, io.Discard); err != nil {
		t.Fatalf("export --datasets events: %v", err)
	}
	if !strings.Contains(stdout.String(), "2 events (positions 1 to 2), 1 files") {
		t.Fatalf("summary %q", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(out3, "by_type")); !os.IsNotExist(err) {
		t.Fatalf("--datasets events wrote by_type: %v", err)
	}
	// One more event, exported into its own files, then --compact with
	// nothing new: it merges them, and says so without an empty range.
	req, _ = http.NewRequest("POST", base+"/import", strings.NewReader(`{"stream":"cart-3","eventType":"ItemAdded","data":{"n":3}}`+"\n"))
	req.SetBasicAuth("admin", "pw")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("import: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	if err := run(context.Background(), []string{"export", "--data", dataDir, "--out", out}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"export", "--data", dataDir, "--out", out, "--compact"}, &stdout, io.Discard); err != nil {
		t.Fatalf("export --compact: %v", err)
	}
	if s := stdout.String(); !strings.Contains(s, "up to date (positions up to 3;") || !strings.Contains(s, "compacted 4 files into 2") ||
		strings.Contains(s, "positions 4 to 3") {
		t.Fatalf("compaction summary %q", s)
	}

	out2 := t.TempDir()
	stdout.Reset()
	if err := run(context.Background(), []string{"export", "--server", base, "--password", "pw", "--out", out2, "--types", "Paid"}, &stdout, io.Discard); err != nil {
		t.Fatalf("export --server: %v", err)
	}
	if !strings.Contains(stdout.String(), "1 events (positions 1 to 3), 2 files") {
		t.Fatalf("summary %q", stdout.String())
	}
	err = run(context.Background(), []string{"export", "--server", base, "--password", "pw", "--out", out2}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "filter_mismatch") {
		t.Fatalf("changed filters: %v", err)
	}
	err = run(context.Background(), []string{"export", "--data", dataDir, "--out", out, "--compression", "lzma"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "compression") {
		t.Fatalf("bad compression: %v", err)
	}

	// The periodic export caught up.
	for i := 0; ; i++ {
		b, err := os.ReadFile(filepath.Join(periodic, "_manifest.json"))
		var m struct{ ToPosition uint64 }
		if err == nil && json.Unmarshal(b, &m) == nil && m.ToPosition == 3 {
			break
		}
		if i == 500 {
			t.Fatal("no periodic export")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}
