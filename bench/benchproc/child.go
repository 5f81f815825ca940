//go:build linux

package benchproc

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Child is a server program a benchmark runs (eventsql, mariadbd): in a
// process group of its own, so a terminal's Ctrl-C reaches only the
// benchmark, which then stops its servers cleanly with SIGTERM.
type Child struct {
	name    string
	logPath string // whose end goes into errors
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	stopped bool
}

// ChildSpec says what StartChild runs.
type ChildSpec struct {
	Name string // for messages: "eventsql", "mariadbd"
	Bin  string
	Args []string
	// Output, if set, is a file (created anew) for the program's stdout
	// and stderr.
	Output string
	// Log is the file whose end errors quote; Output when empty.
	Log string
}

// StartChild starts a program as spec says.
func StartChild(spec ChildSpec) (*Child, error) {
	c := &Child{name: spec.Name, logPath: spec.Log}
	if c.logPath == "" {
		c.logPath = spec.Output
	}
	// Not CommandContext: a cancelled benchmark still stops its servers
	// with SIGTERM, not SIGKILL.
	c.cmd = exec.Command(spec.Bin, spec.Args...)
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if spec.Output != "" {
		logf, err := os.Create(spec.Output)
		if err != nil {
			return nil, err
		}
		defer logf.Close() // the child has its own descriptor
		c.cmd.Stdout = logf
		c.cmd.Stderr = logf
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Bin, err)
	}
	c.exited = make(chan struct{})
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// PID is the child's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Args are the child's command line, program first.
func (c *Child) Args() []string { return c.cmd.Args }

// ExitedEarly returns an error describing the exit (with the end of the
// log) if the child has exited, nil while it runs.
func (c *Child) ExitedEarly() error {
	select {
	case <-c.exited:
		return fmt.Errorf("%s exited before it was ready (%v)%s", c.name, c.waitErr, c.logTail())
	default:
		return nil
	}
}

// Exited is closed when the child has exited.
func (c *Child) Exited() <-chan struct{} { return c.exited }

// Stop shuts the child down: SIGTERM, then SIGKILL after grace. It
// returns an error if the child had to be killed or exited with an
// error. Safe to call more than once.
func (c *Child) Stop(grace time.Duration) error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	select {
	case <-c.exited:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(grace):
			_ = c.cmd.Process.Kill()
			<-c.exited
			return fmt.Errorf("%s did not stop within %v of SIGTERM; killed", c.name, grace)
		}
	}
	if c.waitErr != nil {
		return fmt.Errorf("%s exited: %w%s", c.name, c.waitErr, c.logTail())
	}
	return nil
}

func (c *Child) logTail() string {
	if c.logPath == "" {
		return ""
	}
	return "; its log:\n" + Tail(c.logPath)
}
