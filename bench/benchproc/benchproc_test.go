//go:build linux

package benchproc

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestParseStatusField(t *testing.T) {
	status := []byte("Name:\tmariadbd\nVmPeak:\t 2345678 kB\nVmHWM:\t  123456 kB\nVmRSS:\t   98765 kB\nThreads:\t12\nBad:\tx kB\n")
	for _, tc := range []struct {
		field string
		want  int64
	}{
		{"VmHWM", 123456 << 10},
		{"VmRSS", 98765 << 10},
		{"VmPeak", 2345678 << 10},
		{"Threads", 0}, // no unit: not a size
		{"Bad", 0},
		{"VmSwap", 0}, // absent
		{"Vm", 0},     // a prefix of a field is not the field
	} {
		if got := parseStatusField(status, tc.field); got != tc.want {
			t.Errorf("%s = %d, want %d", tc.field, got, tc.want)
		}
	}
}

func TestSampleRSSOfThisProcess(t *testing.T) {
	s := SampleRSS(os.Getpid(), time.Millisecond)
	peak, anon := s.Stop()
	if rss := StatusBytes(os.Getpid(), "VmRSS"); peak <= 0 || anon <= 0 || anon > peak || rss <= 0 {
		t.Fatalf("peak %d, peak anon %d, VmRSS %d: want all > 0, anon <= peak", peak, anon, rss)
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis; utime 250, stime 50 ticks.
	stat := []byte("1234 (my (odd) server) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 12 0 100 2000000 5000 18446744073709551615")
	if got := parseStatCPU(stat); got != 3 {
		t.Fatalf("parseStatCPU = %v, want 3 s", got)
	}
	for _, bad := range []string{"", "1234 (x) S 1 2", "1234 (x) S 1 2 3 4 5 6 7 8 9 10 ten 12"} {
		if got := parseStatCPU([]byte(bad)); got != 0 {
			t.Errorf("parseStatCPU(%q) = %v, want 0", bad, got)
		}
	}
}

func TestCPUSecondsOfThisProcess(t *testing.T) {
	// Burn 50 ms of CPU (not of wall time: on a loaded machine 30 ms of
	// wall time could be less than the 10 ms tick /proc counts in).
	var ru syscall.Rusage
	for {
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) >= 50*time.Millisecond {
			break
		}
	}
	if got := CPUSeconds(os.Getpid()); got <= 0 {
		t.Fatalf("CPUSeconds = %v, want > 0", got)
	}
}
