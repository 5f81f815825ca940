package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// StreamInfo describes one stream.
type StreamInfo struct {
	Name     string
	Category string
	// Version is the last version written (-1 when none).
	Version int64
	// EventCount is the number of events reads return, not counting
	// $maxAge (which depends on the time of the read).
	EventCount int64
	// FirstPosition is the position of the first event reads return, not
	// counting $maxAge either (0 when they return none: a deleted stream,
	// or every event hidden by $tb). LastPosition is that of the last
	// event written (0 when none).
	FirstPosition uint64
	LastPosition  uint64
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Metadata      StreamMetadata
	// Deleted is "", "soft" or "hard".
	Deleted string
}

func streamInfo(name string, s *streamState) StreamInfo {
	info := StreamInfo{
		Name:          name,
		Category:      Category(name),
		Version:       s.Version,
		FirstPosition: s.FirstPosition,
		LastPosition:  s.LastPosition,
		Metadata:      s.Meta,
	}
	if s.CreatedAt != 0 || s.Version >= 0 {
		info.CreatedAt = time.UnixMicro(s.CreatedAt).UTC()
	}
	info.UpdatedAt = time.UnixMicro(s.UpdatedAt).UTC()
	switch s.Deleted {
	case softDeleted:
		info.Deleted = "soft"
	case hardDeleted:
		info.Deleted = "hard"
	default:
		info.EventCount = max(s.Version+1-s.firstVisibleVersion(), 0)
	}
	if info.EventCount == 0 {
		info.FirstPosition = 0
	}
	return info
}

// fillFirstPosition sets info.FirstPosition to the position of the first
// visible version when $maxCount or $tb hide the first ones (the stream
// state keeps only version 0's): a lookup in the stream's postings.
func (s *Store) fillFirstPosition(info *StreamInfo, st *streamState) error {
	v := st.firstVisibleVersion()
	if info.EventCount == 0 || v == 0 {
		return nil
	}
	pos, err := s.streamVersionPosition(info.Name, uint64(v))
	if err != nil {
		return err
	}
	info.FirstPosition = pos
	return nil
}

// streamVersionPosition returns the position of a stream's version, which
// must be indexed: the block holding it is the last one starting at or
// before it.
func (s *Store) streamVersionPosition(stream string, version uint64) (uint64, error) {
	p := postingPrefix(prefixStreamPost, stream)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixUpperBound(p)})
	if err != nil {
		return 0, fmt.Errorf("index: %w", err)
	}
	defer it.Close()
	if !it.SeekLT(postingKey(nil, prefixStreamPost, stream, version+1)) {
		if err := it.Error(); err != nil {
			return 0, fmt.Errorf("index: %w", err)
		}
		return 0, fmt.Errorf("%w: stream %q has no posting for version %d", ErrCorrupt, stream, version)
	}
	first := postingSeq(it.Key())
	block, err := decodePostingBlock(nil, it.Value())
	if err != nil {
		return 0, err
	}
	if i := version - first; i < uint64(len(block)) {
		return block[i].Pos, nil
	}
	return 0, fmt.Errorf("%w: stream %q has no posting for version %d", ErrCorrupt, stream, version)
}

// StreamInfo returns a stream's state. A stream with no events and no
// metadata gives ErrStreamNotFound; deleted streams are reported with
// Deleted set.
func (s *Store) StreamInfo(ctx context.Context, stream string) (StreamInfo, error) {
	if err := validateName("stream", stream, MaxStreamNameLen); err != nil {
		return StreamInfo{}, err
	}
	if err := s.acquire(); err != nil {
		return StreamInfo{}, err
	}
	defer s.readers.RUnlock()
	st, found, err := loadStreamState(s.db, stream)
	if err != nil {
		return StreamInfo{}, err
	}
	if !found {
		return StreamInfo{}, &StreamError{Stream: stream, Err: ErrStreamNotFound}
	}
	s.stats.streamsRead.Add(1)
	info := streamInfo(stream, &st)
	if err := s.fillFirstPosition(&info, &st); err != nil {
		return StreamInfo{}, err
	}
	return info, nil
}

// StreamIterator lists streams in name order.
type StreamIterator struct {
	s    *Store
	it   *pebble.Iterator
	info StreamInfo
	err  error
	n    int
	lim  int
	init bool
}

// ListStreamsOptions select streams to list.
type ListStreamsOptions struct {
	// Prefix keeps names starting with it ("cart-" for a category).
	Prefix string
	// From starts at this name (inclusive).
	From string
	// After starts after this name (for paging).
	After string
	Limit int
}

// ListStreams iterates over streams, including deleted ones.
func (s *Store) ListStreams(ctx context.Context, opts ListStreamsOptions) (*StreamIterator, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	lower := nameKey(prefixStreamState, opts.Prefix)
	if opts.From != "" && opts.From > opts.Prefix {
		lower = nameKey(prefixStreamState, opts.From)
	}
	if opts.After != "" && opts.After >= opts.Prefix && opts.After >= opts.From {
		lower = append(nameKey(prefixStreamState, opts.After), 0)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixUpperBound(nameKey(prefixStreamState, opts.Prefix))})
	if err != nil {
		s.readers.RUnlock()
		return nil, fmt.Errorf("index: %w", err)
	}
	return &StreamIterator{s: s, it: it, lim: opts.Limit}, nil
}

// Next advances to the next stream.
func (i *StreamIterator) Next() bool {
	if i.it == nil || i.err != nil || (i.lim > 0 && i.n >= i.lim) {
		return false
	}
	var ok bool
	if !i.init {
		ok, i.init = i.it.First(), true
	} else {
		ok = i.it.Next()
	}
	if !ok {
		i.err = i.it.Error()
		return false
	}
	st, err := decodeStreamState(i.it.Value())
	if err != nil {
		i.err = err
		return false
	}
	i.info = streamInfo(string(i.it.Key()[1:]), &st)
	if err := i.s.fillFirstPosition(&i.info, &st); err != nil {
		i.err = err
		return false
	}
	i.s.stats.streamsRead.Add(1)
	i.n++
	return true
}

// Stream returns the current stream.
func (i *StreamIterator) Stream() StreamInfo { return i.info }

// Err returns the error that ended the listing.
func (i *StreamIterator) Err() error { return i.err }

// Close releases the iterator.
func (i *StreamIterator) Close() error {
	if i.it == nil {
		return nil
	}
	err := i.it.Close()
	i.it = nil
	i.s.readers.RUnlock()
	return err
}

// NameInfo summarises an event type or a category.
type NameInfo struct {
	Name          string
	Count         uint64 // events written, including hidden ones
	FirstPosition uint64
	LastPosition  uint64
}

// EventTypes lists every event type ever written, in name order.
func (s *Store) EventTypes(ctx context.Context) ([]NameInfo, error) {
	return s.listNames(ctx, prefixTypeInfo)
}

// Categories lists every stream category, in name order.
func (s *Store) Categories(ctx context.Context) ([]NameInfo, error) {
	return s.listNames(ctx, prefixCategoryInfo)
}

func (s *Store) listNames(ctx context.Context, prefix byte) ([]NameInfo, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.readers.RUnlock()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer it.Close()
	var out []NameInfo
	for ok := it.First(); ok; ok = it.Next() {
		n, err := decodeNameInfo(it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, NameInfo{Name: string(it.Key()[1:]), Count: n.Count, FirstPosition: n.FirstPosition, LastPosition: n.LastPosition})
		if len(out)%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	return out, it.Error()
}
