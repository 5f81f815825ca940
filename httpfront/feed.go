package httpfront

import (
	"context"
	"net/url"

	"github.com/eventsql/eventsql/engine"
)

// feedStore is what reads by type and category and the live tail
// (long-poll, Server-Sent Events) need from the engine on top of Store's
// stream and $all reads.
type feedStore interface {
	ReadType(ctx context.Context, eventType string, from uint64, opts engine.ReadOptions) (*engine.EventIterator, error)
	ReadCategory(ctx context.Context, category string, from uint64, opts engine.ReadOptions) (*engine.EventIterator, error)
	CommitMark() uint64
	WaitForCommit(ctx context.Context, mark uint64) (uint64, error)
	StreamInfo(ctx context.Context, stream string) (engine.StreamInfo, error)
}

// feedKind is what a read, a long-poll or a subscription follows.
type feedKind int

const (
	feedAll      feedKind = iota // $all, addressed by position
	feedStream                   // one stream, addressed by version
	feedType                     // one event type, addressed by position
	feedCategory                 // one category, addressed by position
)

// feed is one sequence of events clients page through or follow: $all,
// a stream, an event type or a category. Streams are addressed by
// version, everything else by global position; seq, from and the SSE id
// always use the feed's own kind of number.
type feed struct {
	kind feedKind
	name string // the stream, type or category; "$all" for $all
}

// streamFeed maps the stream name "$all" to the $all feed.
func streamFeed(name string) feed {
	if name == "$all" {
		return feed{kind: feedAll, name: name}
	}
	return feed{kind: feedStream, name: name}
}

// byVersion reports whether the feed is addressed by stream version.
func (f feed) byVersion() bool { return f.kind == feedStream }

// seq is the event's number in the feed: its version for a stream, its
// position otherwise.
func (f feed) seq(e *engine.RecordedEvent) int64 {
	if f.byVersion() {
		return e.Version
	}
	return int64(e.Position)
}

// path is the feed's read URL path, used in next links.
func (f feed) path() string {
	switch f.kind {
	case feedType:
		return "/types/" + url.PathEscape(f.name)
	case feedCategory:
		return "/categories/" + url.PathEscape(f.name)
	}
	return "/streams/" + url.PathEscape(f.name)
}

// pageKey is the name of the field of a page that says what was read.
func (f feed) pageKey() string {
	switch f.kind {
	case feedType:
		return "eventType"
	case feedCategory:
		return "category"
	}
	return "stream"
}

// open reads the feed from from (a version or a position; -1 going
// backward means the end).
func (f feed) open(ctx context.Context, st Store, from int64, backward bool, limit int) (*engine.EventIterator, error) {
	opts := engine.ReadOptions{Limit: limit}
	if backward {
		opts.Direction = engine.Backward
	}
	// The engine takes position 0 as "the end" going backward and as
	// "the start" going forward.
	pos := uint64(max(from, 0))
	switch f.kind {
	case feedStream:
		return st.ReadStream(ctx, f.name, from, opts)
	case feedType:
		return st.ReadType(ctx, f.name, pos, opts)
	case feedCategory:
		return st.ReadCategory(ctx, f.name, pos, opts)
	}
	if backward {
		return nil, invalidInput("direction", "backward reads of $all are not supported")
	}
	return st.ReadAll(ctx, pos, opts)
}
