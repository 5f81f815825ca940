// Package benchfmt holds the number formatting and percentile helpers the
// benchmark programs share, so their reports read the same way.
package benchfmt

import (
	"math"
	"strconv"
	"time"
)

// Percentile returns the nearest-rank p-quantile of sorted (0 if empty).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Num formats v with three significant digits (more for large values),
// never in exponent notation; NaN is "-".
func Num(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	if v == 0 || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	dec := max(0, 2-int(math.Floor(math.Log10(math.Abs(v)))))
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// Count formats v with a k/M/G suffix and three significant digits.
func Count(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v >= 1e9:
		return Num(v/1e9) + "G"
	case v >= 1e6:
		return Num(v/1e6) + "M"
	case v >= 1e3:
		return Num(v/1e3) + "k"
	}
	return Num(v)
}
