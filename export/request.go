package export

import (
	"fmt"
	"strings"
	"time"
)

// Request is an export's options as the CLI, POST /export and the
// periodic export give them (JSON field names are those of POST /export).
type Request struct {
	Out          string   `json:"out"`
	Full         bool     `json:"full,omitempty"`
	Compact      bool     `json:"compact,omitempty"`
	Types        []string `json:"types,omitempty"`
	Datasets     []string `json:"datasets,omitempty"` // "events", "by_type" (default both)
	Category     string   `json:"category,omitempty"`
	Since        string   `json:"since,omitempty"` // RFC 3339
	Until        string   `json:"until,omitempty"`
	Compression  string   `json:"compression,omitempty"`
	Timestamps   string   `json:"timestamps,omitempty"`
	RowGroupSize int64    `json:"rowGroupSize,omitempty"` // bytes
}

// Options converts the request; errors wrap ErrInvalidOptions.
func (r Request) Options() (Options, error) {
	o := Options{Dir: r.Out, Full: r.Full, Compact: r.Compact, Category: r.Category,
		Compression: r.Compression, Timestamps: Timestamps(strings.ToLower(r.Timestamps)), RowGroupBytes: r.RowGroupSize}
	if r.Out == "" {
		return o, fmt.Errorf("%w: the output directory (out) is required", ErrInvalidOptions)
	}
	if r.RowGroupSize < 0 || (r.RowGroupSize > 0 && r.RowGroupSize < 1<<20) {
		return o, fmt.Errorf("%w: row group size %d: want at least 1 MiB", ErrInvalidOptions, r.RowGroupSize)
	}
	o.Types = splitList(r.Types)
	o.Datasets = splitList(r.Datasets)
	var err error
	if o.Since, err = parseTime("since", r.Since); err != nil {
		return o, err
	}
	if o.Until, err = parseTime("until", r.Until); err != nil {
		return o, err
	}
	c := o.withDefaults()
	return o, c.validate()
}

func parseTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %q is not an RFC 3339 time (e.g. 2026-03-01T00:00:00Z)", ErrInvalidOptions, name, s)
	}
	return t, nil
}

// splitList splits comma-separated items and drops empty ones.
func splitList(items []string) []string {
	var out []string
	for _, it := range items {
		for _, v := range strings.Split(it, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}
