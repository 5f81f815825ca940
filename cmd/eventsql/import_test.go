package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
)

const cliInput = `{"stream":"cart-1","eventType":"ItemAdded","eventId":"2b3c4d5e-0000-4000-8000-000000000001","data":{"sku":"A"}}
{"stream":"cart-1","eventType":"ItemAdded","data":
{"stream":"cart-2","eventType":"ItemAdded","eventId":"2b3c4d5e-0000-4000-8000-000000000002","data":{"sku":"B"}}
`

func writeInput(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, []byte(cliInput), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportCommand(t *testing.T) {
	ctx := context.Background()
	file := writeInput(t)

	// Into a data directory: the good lines are written, the bad one is
	// reported with its number and the exit is an error.
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := run(ctx, []string{"import", "--data", dir, file}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "1 line(s) rejected") {
		t.Fatalf("err = %v", err)
	}
	if s := out.String(); !strings.Contains(s, "2 events written, 0 duplicates, 1 rejected") || !strings.Contains(s, "line 2: invalid_input") {
		t.Fatalf("summary %q", s)
	}
	// Again: the lines with ids are duplicates now.
	out.Reset()
	run(ctx, []string{"import", "--data", dir, file}, &out, &errb)
	if !strings.Contains(out.String(), "0 events written, 2 duplicates, 1 rejected") {
		t.Fatalf("retry summary %q", out.String())
	}

	// Into a running server.
	opts := engine.DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := engine.Open(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httpfront.New(st, httpfront.NewUsers("pw"), httpfront.Options{}, opts.Logger, func() bool { return true })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Shutdown(ctx)
	url := "http://" + l.Addr().String()
	out.Reset()
	err = run(ctx, []string{"import", "--server", url, "--password", "pw", file}, &out, &errb)
	if err == nil || !strings.Contains(out.String(), "2 events written, 0 duplicates, 1 rejected") || st.Head() != 2 {
		t.Fatalf("server import: %v, %q, head %d", err, out.String(), st.Head())
	}
	err = run(ctx, []string{"import", "--server", url, "--password", "wrong", file}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestImportCommandErrors(t *testing.T) {
	ctx := context.Background()
	file := writeInput(t)
	dir := t.TempDir()
	st, err := engine.Open(ctx, dir, engine.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"locked data directory", []string{"--data", dir, file}, "stop the server"},
		{"neither target", []string{file}, "either --server or --data"},
		{"both targets", []string{"--server", "http://x", "--data", dir, file}, "either --server or --data"},
		{"no file", []string{"--data", dir}, "want one FILE"},
		{"missing file", []string{"--data", dir, filepath.Join(dir, "nope")}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(ctx, append([]string{"import"}, tt.args...), &out, &errb)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
