package benchfmt

import (
	"math"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{{0, "0"}, {1.234, "1.23"}, {12.34, "12.3"}, {1234, "1.23k"}, {1_920_000, "1.92M"}, {3.2e9, "3.20G"}, {math.NaN(), "-"}} {
		if got := Count(tt.v); got != tt.want {
			t.Errorf("Count(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if Percentile(d, 0.5) != 5 || Percentile(d, 0.99) != 10 || Percentile(nil, 0.5) != 0 {
		t.Error("percentile")
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i))
	}
	if got := Percentile(s, 0.50); got != 50 {
		t.Errorf("p50 = %v, want 50", got)
	}
	if got := Percentile(s, 0.99); got != 99 {
		t.Errorf("p99 = %v, want 99", got)
	}
	if got := Percentile(s[:1], 0.99); got != 1 {
		t.Errorf("p99 of one = %v, want 1", got)
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Errorf("p50 of none = %v, want 0", got)
	}
}
