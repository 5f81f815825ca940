package export

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
)

// Timestamps selects how timestamp columns are written.
type Timestamps string

const (
	// TimestampsInt64 is INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true), the default.
	TimestampsInt64 Timestamps = "int64"
	// TimestampsInt96 is the deprecated INT96 (Julian day + nanoseconds of
	// the day) that Hive 2.x and 3.1 need.
	TimestampsInt96 Timestamps = "int96"
)

// Options configure an export run.
type Options struct {
	// Dir is the output directory (created when missing).
	Dir string
	// Full rewrites the whole snapshot instead of adding what is new.
	Full bool
	// Compact merges small part files of each partition after exporting.
	Compact bool
	// Types, Category, Since and Until narrow the export: only events of
	// these types, of streams of this category, created in [Since, Until).
	// They are recorded in the manifest; an incremental run must use the
	// same ones.
	Types    []string
	Category string
	Since    time.Time
	Until    time.Time
	// Datasets are the datasets written: DatasetEvents, DatasetByType or
	// both (nil, the default). Recorded in the manifest like the filters.
	Datasets []string
	// Compression: "snappy" (default), "zstd" or "none".
	Compression string
	// Timestamps: int64 (default) or int96.
	Timestamps Timestamps
	// RowGroupRows caps the rows of a row group (default 2,000,000).
	RowGroupRows int64
	// RowGroupBytes ends a row group when its (uncompressed estimate of)
	// buffered data reaches this size (default 192 MiB); it bounds memory.
	RowGroupBytes int64
	// FileBytes starts a new part file when one reaches this size
	// (default 1 GiB). Compaction merges files into ones of up to this size.
	FileBytes int64
	// CompactBelow: compaction merges files smaller than this (default FileBytes/2).
	CompactBelow int64
	// MaxOpenTyped caps the by_type files open at once (default 64); the
	// least recently written is finished when a new one is needed.
	MaxOpenTyped int
	// Version and Build go into created_by ("eventsql version X (build Y)")
	// and the manifest.
	Version, Build string
	// Progress, when set, is called about every 100 ms and at the end.
	Progress func(Progress)
	Logger   *slog.Logger
	// now is the clock (tests).
	now func() time.Time
	// create creates part files (tests inject faults).
	create createFunc
	// afterParts, for tests, runs after the part files are renamed into
	// place and before the manifest is replaced.
	afterParts func()
	// eventsAsRecords, for tests, writes the events dataset through the
	// typed writer (eventRecord) even with several cores.
	eventsAsRecords bool
}

// Dataset names for Options.Datasets.
const (
	DatasetEvents = "events"  // DIR/events
	DatasetByType = "by_type" // DIR/by_type/<EventType>
)

// Progress reports a running export.
type Progress struct {
	Events     uint64 // events written so far
	Bytes      int64  // bytes written so far
	Files      int
	From, To   uint64 // positions this run covers
	Elapsed    time.Duration
	CurrentPos uint64
	Compacting bool
	Done       bool // the final report
}

// ErrInvalidOptions marks bad options.
var ErrInvalidOptions = errors.New("invalid export options")

func (o *Options) withDefaults() Options {
	c := *o
	if c.Compression == "" {
		c.Compression = "snappy"
	}
	if c.Timestamps == "" {
		c.Timestamps = TimestampsInt64
	}
	if c.RowGroupRows <= 0 {
		c.RowGroupRows = 2_000_000
	}
	if c.RowGroupBytes <= 0 {
		c.RowGroupBytes = 192 << 20
	}
	if c.FileBytes <= 0 {
		c.FileBytes = 1 << 30
	}
	if c.CompactBelow <= 0 {
		c.CompactBelow = c.FileBytes / 2
	}
	if c.MaxOpenTyped <= 0 {
		c.MaxOpenTyped = 64
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Build == "" {
		c.Build = "unknown"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.create == nil {
		c.create = createOS
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.Types = slices.Clone(c.Types)
	slices.Sort(c.Types)
	c.Types = slices.Compact(c.Types)
	c.Datasets = slices.Clone(c.Datasets)
	slices.Sort(c.Datasets)
	c.Datasets = slices.Compact(c.Datasets)
	if slices.Equal(c.Datasets, []string{DatasetByType, DatasetEvents}) {
		c.Datasets = nil // both: the default, as manifests without the field say
	}
	return c
}

func (o *Options) validate() error {
	if o.Dir == "" {
		return fmt.Errorf("%w: the output directory is required", ErrInvalidOptions)
	}
	if _, err := codec(o.Compression); err != nil {
		return err
	}
	if o.Timestamps != TimestampsInt64 && o.Timestamps != TimestampsInt96 {
		return fmt.Errorf("%w: timestamps %q: want int64 or int96", ErrInvalidOptions, o.Timestamps)
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Until.After(o.Since) {
		return fmt.Errorf("%w: until (%s) must be after since (%s)", ErrInvalidOptions, o.Until.Format(time.RFC3339), o.Since.Format(time.RFC3339))
	}
	for _, d := range o.Datasets {
		if d != DatasetEvents && d != DatasetByType {
			return fmt.Errorf("%w: dataset %q: want %s or %s", ErrInvalidOptions, d, DatasetEvents, DatasetByType)
		}
	}
	for _, t := range o.Types {
		if t == "" {
			return fmt.Errorf("%w: an empty event type in types", ErrInvalidOptions)
		}
	}
	return nil
}

func codec(name string) (compress.Codec, error) {
	switch strings.ToLower(name) {
	case "snappy", "":
		return fastSnappy{}, nil
	case "zstd":
		return &parquet.Zstd, nil
	case "none", "uncompressed":
		return &parquet.Uncompressed, nil
	}
	return nil, fmt.Errorf("%w: compression %q: want snappy, zstd or none", ErrInvalidOptions, name)
}

// Filters are the narrowing options, as recorded in the manifest.
type Filters struct {
	Types      []string `json:"types,omitempty"`
	Category   string   `json:"category,omitempty"`
	Since      string   `json:"since,omitempty"`
	Until      string   `json:"until,omitempty"`
	Timestamps string   `json:"timestamps"`
	// Datasets written (none listed: events and by_type).
	Datasets []string `json:"datasets,omitempty"`
}

func (o *Options) filters() Filters {
	f := Filters{Types: o.Types, Category: o.Category, Timestamps: string(o.Timestamps), Datasets: o.Datasets}
	if !o.Since.IsZero() {
		f.Since = o.Since.UTC().Format(time.RFC3339Nano)
	}
	if !o.Until.IsZero() {
		f.Until = o.Until.UTC().Format(time.RFC3339Nano)
	}
	return f
}

func (f Filters) equal(g Filters) bool {
	return slices.Equal(f.Types, g.Types) && f.Category == g.Category && f.Since == g.Since &&
		f.Until == g.Until && f.Timestamps == g.Timestamps && slices.Equal(f.Datasets, g.Datasets)
}

// writes reports whether the options write dataset (DatasetEvents or DatasetByType).
func (o *Options) writes(dataset string) bool {
	return len(o.Datasets) == 0 || slices.Contains(o.Datasets, dataset)
}

func (f Filters) String() string {
	var parts []string
	if len(f.Types) > 0 {
		parts = append(parts, "types="+strings.Join(f.Types, ","))
	}
	if f.Category != "" {
		parts = append(parts, "category="+f.Category)
	}
	if f.Since != "" {
		parts = append(parts, "since="+f.Since)
	}
	if f.Until != "" {
		parts = append(parts, "until="+f.Until)
	}
	parts = append(parts, "timestamps="+f.Timestamps)
	if len(f.Datasets) > 0 {
		parts = append(parts, "datasets="+strings.Join(f.Datasets, ","))
	}
	return strings.Join(parts, " ")
}
