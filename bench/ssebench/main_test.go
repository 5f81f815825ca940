//go:build linux

package main

import (
	"strings"
	"testing"
)

// TestSmallRun runs every phase at a tiny scale, so the benchmark keeps
// working: 3 subscribers (and one that never reads), a few thousand events.
func TestSmallRun(t *testing.T) {
	cfg, err := parseFlags([]string{"-subscribers", "3", "-stalled", "1", "-events", "2000", "-baseline", "1000",
		"-paced-events", "1000", "-paced-rate", "100000", "-dir", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := runTo(cfg, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"writer alone", "catch-up from position 1", "live, writer unpaced", "live, paced", "peak RSS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
