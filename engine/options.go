package engine

import (
	"fmt"
	"log/slog"
	"time"
)

// Options configure a store. Start from DefaultOptions.
type Options struct {
	// SegmentSize is the size at which the log rolls to a new segment file.
	// A single record larger than it gets a segment of its own.
	SegmentSize int64
	// MaxEventSize bounds len(Data)+len(Metadata) of one event.
	MaxEventSize int
	// MaxAppendSize bounds the encoded size of one append command (all its
	// events). Bulk imports split their input into appends below it.
	MaxAppendSize int
	// IndexCacheSize is the block cache of the on-disk index, in bytes.
	IndexCacheSize int64
	// SkipWarmup leaves the index block cache cold and random reads of
	// the log on pread. By default a background thread of the lowest
	// priority reads the index into the cache after open, until it is
	// nearly full, and maps the log pages that are in the page cache into
	// the process so random reads need no system call (warmup.go,
	// resident.go).
	SkipWarmup bool
	// IndexMemtableSize is the index's write buffer. On a crash at most this
	// much index data is lost and re-derived from the log on open. Each
	// index batch rewrites the state of every stream it touches, so a
	// larger buffer absorbs more rewrites before they are flushed and
	// compacted: an import of 1 GB spread over 28k streams took 5.6 us of
	// CPU per event with 16 MiB, 3.8-4.0 with 64 MiB (3.8 with 128).
	IndexMemtableSize uint64
	// GroupCommitWindow is the longest an fsync waits for appends known to
	// be on their way while others are ready (0 disables the wait). It
	// trades a little latency for many fewer fsyncs under concurrency; a
	// single writer never waits.
	GroupCommitWindow time.Duration
	// Clock stamps appends; it is called concurrently. Tests set it; the
	// default is time.Now.
	Clock func() time.Time
	// Logger receives operational messages (torn tails truncated, index
	// rebuilds). The default discards nothing: slog.Default().
	Logger *slog.Logger
	// FS is the filesystem seam used for the log. The default is the OS.
	FS FS

	// idFlushEntries is how many event ids collect in memory before they
	// are ingested into the index (tests make it small).
	idFlushEntries int
	// filterMinKeys is the smallest existence filter (tests make it small
	// so that it fills up and is rebuilt).
	filterMinKeys uint64
	// segmentVersion is the format of new log segments: 0 means
	// segmentFormatVersion; tests set 1 to write stores as older versions
	// did (segments that grow with every write, store format 1).
	segmentVersion uint16
}

// DefaultOptions returns the options used by `eventsql serve`.
func DefaultOptions() Options {
	return Options{
		SegmentSize:       256 << 20,
		MaxEventSize:      16 << 20,
		MaxAppendSize:     64 << 20,
		IndexCacheSize:    128 << 20,
		IndexMemtableSize: 64 << 20,
		GroupCommitWindow: 500 * time.Microsecond,
		Clock:             time.Now,
		Logger:            slog.Default(),
		FS:                OSFS{},
	}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.SegmentSize == 0 {
		o.SegmentSize = d.SegmentSize
	}
	if o.MaxEventSize == 0 {
		o.MaxEventSize = d.MaxEventSize
	}
	if o.MaxAppendSize == 0 {
		o.MaxAppendSize = d.MaxAppendSize
	}
	if o.IndexCacheSize == 0 {
		o.IndexCacheSize = d.IndexCacheSize
	}
	if o.IndexMemtableSize == 0 {
		o.IndexMemtableSize = d.IndexMemtableSize
	}
	if o.Clock == nil {
		o.Clock = d.Clock
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	if o.FS == nil {
		o.FS = d.FS
	}
	if o.filterMinKeys == 0 {
		o.filterMinKeys = minFilterKeys
	}
	if o.idFlushEntries == 0 {
		o.idFlushEntries = defaultIDFlushEntries
	}
	return o
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	switch {
	case o.SegmentSize < 4096:
		return fmt.Errorf("engine: SegmentSize %d is below the minimum of 4096 bytes", o.SegmentSize)
	case o.SegmentSize > 1<<32-1:
		return fmt.Errorf("engine: SegmentSize %d is above the maximum of 4 GiB", o.SegmentSize)
	case o.MaxEventSize < 1024:
		return fmt.Errorf("engine: MaxEventSize %d is below the minimum of 1024 bytes", o.MaxEventSize)
	case o.MaxEventSize > maxRecordPayload-recordHeaderSize-2*255:
		return fmt.Errorf("engine: MaxEventSize %d is above the maximum of %d bytes", o.MaxEventSize, maxRecordPayload-recordHeaderSize-2*255)
	case o.MaxAppendSize < o.MaxEventSize:
		return fmt.Errorf("engine: MaxAppendSize %d is below MaxEventSize %d", o.MaxAppendSize, o.MaxEventSize)
	case o.IndexMemtableSize < 1<<20:
		return fmt.Errorf("engine: IndexMemtableSize %d is below the minimum of 1 MiB", o.IndexMemtableSize)
	}
	return nil
}
