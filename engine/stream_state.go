package engine

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"
)

// StreamMetadata holds a stream's retention settings (EventStoreDB's
// names). Zero values mean "not set".
type StreamMetadata struct {
	// MaxCount keeps only the newest MaxCount events visible ($maxCount).
	MaxCount int64 `json:"$maxCount,omitempty"`
	// MaxAge hides events older than this, measured at read time ($maxAge,
	// whole seconds).
	MaxAge time.Duration `json:"-"`
	// TruncateBefore hides events with a lower version ($tb).
	TruncateBefore int64 `json:"$tb,omitempty"`
	// Custom is an optional JSON object of user properties, kept as is.
	Custom json.RawMessage `json:"-"`
}

func (m StreamMetadata) restricts() bool {
	return m.MaxCount > 0 || m.MaxAge > 0 || m.TruncateBefore > 0
}

func (m StreamMetadata) validate() error {
	switch {
	case m.MaxCount < 0:
		return invalid("$maxCount", "%d must be positive (or 0 to unset)", m.MaxCount)
	case m.MaxAge < 0:
		return invalid("$maxAge", "%s must be positive (or 0 to unset)", m.MaxAge)
	case m.MaxAge%time.Second != 0:
		return invalid("$maxAge", "%s must be whole seconds", m.MaxAge)
	case m.TruncateBefore < 0:
		return invalid("$tb", "%d must be a version >= 0", m.TruncateBefore)
	case len(m.Custom) > 0 && !validJSON(m.Custom):
		return invalid("metadata", "custom metadata is not valid JSON")
	case len(m.Custom) > 64<<10:
		return invalid("metadata", "custom metadata of %d bytes is over the 64 KiB limit", len(m.Custom))
	}
	return nil
}

// Deletion states of a stream.
const (
	notDeleted  = 0
	softDeleted = 1
	hardDeleted = 2
)

// streamState is what the index keeps per stream (key 'S' name).
type streamState struct {
	Version       int64 // last version written, -1 for none
	FirstPosition uint64
	LastPosition  uint64
	CreatedAt     int64 // µs of the first event
	UpdatedAt     int64 // µs of the last event or metadata change
	Deleted       uint8
	Meta          StreamMetadata
}

func newStreamState() streamState { return streamState{Version: -1} }

// exists reports whether the stream counts as existing for expected
// version checks: it has events and is not deleted.
func (s *streamState) exists() bool { return s.Version >= 0 && s.Deleted == notDeleted }

// currentVersion is the version reported in errors: -1 when it does not exist.
func (s *streamState) currentVersion() int64 {
	if s.Deleted == softDeleted {
		return -1
	}
	return s.Version
}

// The transitions below are the only way stream state changes; apply (to
// decide) and the indexer (to persist) both use them, so the two agree.

func (s *streamState) applyEvent(pos uint64, version int64, createdAt int64) {
	if s.Version < 0 {
		s.FirstPosition = pos
		s.CreatedAt = createdAt
	}
	if s.Deleted == softDeleted {
		// A soft-deleted stream is brought back by the next append; the old
		// events stay hidden by the truncate-before set on delete.
		s.Deleted = notDeleted
	}
	s.Version = version
	s.LastPosition = pos
	s.UpdatedAt = createdAt
}

func (s *streamState) applyMetadata(m StreamMetadata, at int64) {
	s.Meta = m
	s.Meta.Custom = bytes.Clone(m.Custom)
	s.UpdatedAt = at
}

func (s *streamState) applyDelete(hard bool, at int64) {
	if hard {
		s.Deleted = hardDeleted
	} else {
		s.Deleted = softDeleted
		s.Meta.TruncateBefore = s.Version + 1
	}
	s.UpdatedAt = at
}

// restricted reports whether reads of other indexes ($all, types,
// categories) must check this stream's events.
func (s *streamState) restricted() bool { return s.Deleted != notDeleted || s.Meta.restricts() }

// firstVisibleVersion is the lowest version reads return, ignoring $maxAge.
func (s *streamState) firstVisibleVersion() int64 {
	v := s.Meta.TruncateBefore
	if s.Meta.MaxCount > 0 {
		v = max(v, s.Version+1-s.Meta.MaxCount)
	}
	return max(v, 0)
}

// visible reports whether the event (version, createdAt) is visible at now.
func (s *streamState) visible(version, createdAt int64, now time.Time) bool {
	if s.Deleted == hardDeleted || version < s.firstVisibleVersion() {
		return false
	}
	if s.Meta.MaxAge > 0 && createdAt < now.Add(-s.Meta.MaxAge).UnixMicro() {
		return false
	}
	return true
}

const streamStateSize = 8 + 8 + 8 + 8 + 8 + 1 + 8 + 8 + 8

func (s *streamState) encode(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.Version))
	dst = binary.LittleEndian.AppendUint64(dst, s.FirstPosition)
	dst = binary.LittleEndian.AppendUint64(dst, s.LastPosition)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.CreatedAt))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.UpdatedAt))
	dst = append(dst, s.Deleted)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.Meta.MaxCount))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.Meta.MaxAge/time.Second))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.Meta.TruncateBefore))
	return append(dst, s.Meta.Custom...)
}

var errBadStreamState = errors.New("engine: malformed stream state in the index")

func decodeStreamState(b []byte) (streamState, error) {
	if len(b) < streamStateSize {
		return streamState{}, errBadStreamState
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }
	s := streamState{
		Version:       int64(u(0)),
		FirstPosition: u(8),
		LastPosition:  u(16),
		CreatedAt:     int64(u(24)),
		UpdatedAt:     int64(u(32)),
		Deleted:       b[40],
		Meta: StreamMetadata{
			MaxCount:       int64(u(41)),
			MaxAge:         time.Duration(u(49)) * time.Second,
			TruncateBefore: int64(u(57)),
		},
	}
	if len(b) > streamStateSize {
		s.Meta.Custom = bytes.Clone(b[streamStateSize:])
	}
	return s, nil
}

// checkpoint records how far the index covers the log. It is written in
// the same index batch as the entries it covers.
type checkpoint struct {
	LogEnd       uint64 // global log offset just past the last indexed record
	LastPosition uint64 // last event position indexed (0 = none)
	LastTime     int64  // created_at of the last event (µs), for monotonic stamps
	Streams      uint64 // number of streams
	Bytes        uint64 // total encoded bytes of events (data+metadata)
}

const checkpointVersion = 1

func (c checkpoint) encode() []byte {
	b := make([]byte, 0, 48)
	b = binary.LittleEndian.AppendUint64(b, checkpointVersion)
	b = binary.LittleEndian.AppendUint64(b, c.LogEnd)
	b = binary.LittleEndian.AppendUint64(b, c.LastPosition)
	b = binary.LittleEndian.AppendUint64(b, uint64(c.LastTime))
	b = binary.LittleEndian.AppendUint64(b, c.Streams)
	return binary.LittleEndian.AppendUint64(b, c.Bytes)
}

var errCheckpointVersion = errors.New("engine: index checkpoint has an unknown format version")

func decodeCheckpoint(b []byte) (checkpoint, error) {
	if len(b) != 48 {
		return checkpoint{}, errCheckpointVersion
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }
	if u(0) != checkpointVersion {
		return checkpoint{}, errCheckpointVersion
	}
	return checkpoint{LogEnd: u(8), LastPosition: u(16), LastTime: int64(u(24)), Streams: u(32), Bytes: u(40)}, nil
}
