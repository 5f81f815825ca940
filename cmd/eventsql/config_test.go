package main

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
)

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"4096", 4096, true},
		{"64KiB", 64 << 10, true},
		{"256MiB", 256 << 20, true},
		{"1GiB", 1 << 30, true},
		{"16MB", 16 << 20, true},
		{" 2 MiB ", 2 << 20, true},
		{"12QB", 0, false},
		{"-1", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		var b byteSize
		err := b.Set(tt.in)
		if (err == nil) != tt.ok || (tt.ok && int64(b) != tt.want) {
			t.Errorf("Set(%q) = %d, %v; want %d, ok=%v", tt.in, b, err, tt.want, tt.ok)
		}
	}
}

func TestFlagPrecedence(t *testing.T) {
	t.Setenv("EVENTSQL_DATA", "from-env")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	data := fs.String("data", "default", "")
	if err := parseFlags(fs, nil); err != nil || *data != "from-env" {
		t.Fatalf("env: %q, %v", *data, err)
	}
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	data = fs.String("data", "default", "")
	if err := parseFlags(fs, []string{"--data", "from-flag"}); err != nil || *data != "from-flag" {
		t.Fatalf("flag: %q, %v", *data, err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "unknown command") || !strings.Contains(errb.String(), "serve") {
		t.Fatalf("err = %v, usage = %q", err, errb.String())
	}
}
