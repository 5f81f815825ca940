//go:build linux

package benchproc

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestChildStopsOnSIGTERM(t *testing.T) {
	log := filepath.Join(t.TempDir(), "out.log")
	c, err := StartChild(ChildSpec{Name: "server", Bin: "sh", Output: log,
		Args: []string{"-c", `trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.01; done`}})
	if err != nil {
		t.Fatal(err)
	}
	waitForOutput(t, log, "up")
	if err := c.ExitedEarly(); err != nil {
		t.Fatalf("running child: ExitedEarly = %v", err)
	}
	if err := c.Stop(10 * time.Second); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if err := c.Stop(10 * time.Second); err != nil {
		t.Fatalf("second Stop = %v", err)
	}
	if got := Tail(log); !strings.Contains(got, "up") || !strings.Contains(got, "bye") {
		t.Errorf("log = %q, want the child's output", got)
	}
}

func TestChildKilledAfterGrace(t *testing.T) {
	log := filepath.Join(t.TempDir(), "out.log")
	c, err := StartChild(ChildSpec{Name: "stubborn", Bin: "sh", Output: log,
		Args: []string{"-c", `trap '' TERM; echo up; while :; do sleep 0.01; done`}})
	if err != nil {
		t.Fatal(err)
	}
	waitForOutput(t, log, "up") // the trap is set
	err = c.Stop(200 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "stubborn did not stop") {
		t.Fatalf("Stop = %v, want a killed error", err)
	}
	select {
	case <-c.Exited():
	default:
		t.Fatal("child still running after Stop")
	}
}

func TestChildExitedEarlyQuotesLog(t *testing.T) {
	log := filepath.Join(t.TempDir(), "out.log")
	c, err := StartChild(ChildSpec{Name: "broken", Bin: "sh", Output: log,
		Args: []string{"-c", "echo cannot open data directory >&2; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	<-c.Exited()
	err = c.ExitedEarly()
	if err == nil || !strings.Contains(err.Error(), "broken exited") || !strings.Contains(err.Error(), "cannot open data directory") {
		t.Fatalf("ExitedEarly = %v, want the exit and the log's end", err)
	}
	if err := c.Stop(time.Second); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Stop = %v, want the exit status", err)
	}
}

func TestStartChildMissingProgram(t *testing.T) {
	_, err := StartChild(ChildSpec{Name: "x", Bin: filepath.Join(t.TempDir(), "nope")})
	if err == nil || !strings.Contains(err.Error(), "start ") {
		t.Fatalf("StartChild = %v, want a start error", err)
	}
}

// waitForOutput waits until the file holds want.
func waitForOutput(t *testing.T, path, want string) {
	t.Helper()
	for i := 0; !strings.Contains(Tail(path), want); i++ {
		if i == 1000 {
			t.Fatalf("%s never held %q: %q", path, want, Tail(path))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
