//go:build linux

package benchproc

import (
	"os"
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
	peak := s.Stop()
	if rss := StatusBytes(os.Getpid(), "VmRSS"); peak <= 0 || rss <= 0 {
		t.Fatalf("peak %d, VmRSS %d: want both > 0", peak, rss)
	}
}
