package engine

import (
	"testing"
	"time"
)

func TestLatencyHistogramQuantile(t *testing.T) {
	var st storeStats
	for range 90 {
		st.observeFsync(80 * time.Microsecond) // bucket (50µs, 100µs]
	}
	for range 10 {
		st.observeFsync(3 * time.Second) // above every bound
	}
	var h LatencyHistogram
	for i := range st.fsyncBuckets {
		h.Counts[i] = st.fsyncBuckets[i].Load()
	}
	if h.Count() != 100 {
		t.Fatalf("count %d, want 100", h.Count())
	}
	tests := []struct {
		q        float64
		min, max time.Duration
	}{
		{0.5, 50 * time.Microsecond, 100 * time.Microsecond},
		{0.9, 50 * time.Microsecond, 100 * time.Microsecond},
		{0.99, latencyBounds[len(latencyBounds)-1], latencyBounds[len(latencyBounds)-1]},
	}
	for _, tc := range tests {
		if got := h.Quantile(tc.q); got < tc.min || got > tc.max {
			t.Errorf("Quantile(%v) = %v, want in [%v, %v]", tc.q, got, tc.min, tc.max)
		}
	}
	var empty LatencyHistogram
	if got := empty.Quantile(0.99); got != 0 {
		t.Errorf("empty Quantile = %v, want 0", got)
	}
}
