//go:build linux

// Package benchproc holds the process plumbing the benchmark commands
// share: building and locating programs, free loopback ports, and the
// memory figures of a server process read from /proc.
package benchproc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// BuildEventsql builds ./cmd/eventsql into dir and returns the binary. It
// must run from the repository root.
func BuildEventsql(ctx context.Context, dir string) (string, error) {
	if _, err := os.Stat("cmd/eventsql"); err != nil {
		return "", fmt.Errorf("run from the repository root (or pass -eventsql-bin): %w", err)
	}
	bin := filepath.Join(dir, "eventsql")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/eventsql")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/eventsql: %w\n%s", err, out)
	}
	return bin, nil
}

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// LookPath finds a program in PATH or the sbin directories, which a
// non-root PATH lacks; "" when it is nowhere.
func LookPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Tail returns the last 2 KiB of a file, for error messages.
func Tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return string(b)
}

// StatusBytes returns a "kB" field of /proc/<pid>/status (VmHWM, VmRSS,
// RssAnon...) in bytes; 0 when unavailable.
func StatusBytes(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	return parseStatusField(b, field)
}

// parseStatusField finds "field:   1234 kB" in a /proc/<pid>/status text.
func parseStatusField(status []byte, field string) int64 {
	for line := range bytes.Lines(status) {
		name, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(name) != field {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || kb < 0 {
			return 0
		}
		return kb << 10
	}
	return 0
}

// ResetPeakRSS resets a process's VmHWM to its current RSS (Linux ≥ 4.0);
// false when the kernel refused.
func ResetPeakRSS(pid int) bool {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0) == nil
}

// RSSSampler samples a process's VmRSS and RssAnon until stopped and
// keeps their peaks: VmHWM cannot be reset for every process, and VmRSS
// also counts the file pages a process has mapped (eventsql's log, read
// through mmap), which the kernel reclaims at will — RssAnon is the
// process's own memory.
type RSSSampler struct {
	peak, peakAnon atomic.Int64
	done           chan struct{}
	fin            chan struct{}
}

// SampleRSS starts sampling pid every interval.
func SampleRSS(pid int, interval time.Duration) *RSSSampler {
	s := &RSSSampler{done: make(chan struct{}), fin: make(chan struct{})}
	go func() {
		defer close(s.fin)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
			if err == nil {
				if v := parseStatusField(b, "VmRSS"); v > s.peak.Load() {
					s.peak.Store(v)
				}
				if v := parseStatusField(b, "RssAnon"); v > s.peakAnon.Load() {
					s.peakAnon.Store(v)
				}
			}
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peaks of VmRSS and RssAnon seen,
// in bytes.
func (s *RSSSampler) Stop() (rss, anon int64) {
	close(s.done)
	<-s.fin
	return s.peak.Load(), s.peakAnon.Load()
}

// userHZ is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const userHZ = 100

// CPUSeconds returns a process's user+system CPU seconds (0 if unknown).
func CPUSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime+stime from a /proc/<pid>/stat text.
func parseStatCPU(stat []byte) float64 {
	// The command name may hold spaces: fields count from after ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseFloat(string(f[11]), 64)
	st, err2 := strconv.ParseFloat(string(f[12]), 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return (ut + st) / userHZ
}

// WaitIdle waits until pid has used less than maxCores of CPU over a
// window (a server finishing background work after it opened), for at
// most timeout, and returns how long it waited; false when it never
// settled.
func WaitIdle(ctx context.Context, pid int, window time.Duration, maxCores float64, timeout time.Duration) (time.Duration, bool) {
	start := time.Now()
	prev := CPUSeconds(pid)
	for time.Since(start) < timeout {
		select {
		case <-ctx.Done():
			return time.Since(start), false
		case <-time.After(window):
		}
		cur := CPUSeconds(pid)
		if (cur-prev)/window.Seconds() < maxCores {
			return time.Since(start), true
		}
		prev = cur
	}
	return time.Since(start), false
}
