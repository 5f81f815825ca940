package engine

import (
	"encoding/binary"
	"fmt"
)

// Random-access reads of the log (one event by id, the events a posting
// list points at) use pread into a buffer of their own instead of the
// segment mappings. Sequential scans ($all, PositionAt, indexing) keep the
// mappings (logScanner): there a fault maps the pages around it too.
//
// Why: the first touch of a mapped page costs a page fault even when the
// file is in the page cache, and on a virtual machine a fault costs tens
// of microseconds (77-122 µs per random frame on the project's VM, against
// 3.5-13 µs for a pread of the same frame; BenchmarkRandomRead). A
// sequential scan amortises a fault over the pages mapped around it; a
// random read pays one per event until the mapping is populated, which for
// a long-running server is never quite the case and for a fresh one is
// every read.
const (
	// minSpeculativeRead is the smallest first read of a frame: the frame
	// header and, usually, all of a small event.
	minSpeculativeRead = 1 << 10
	// maxSpeculativeRead caps the first read, which follows the size of
	// the frames read before.
	maxSpeculativeRead = 64 << 10
)

// frameReader reads frames at random offsets of the log with pread. A
// frame usually takes one read of a speculative size (the size of the
// last frame read, rounded up, at least minSpeculativeRead); a larger one
// takes a second read for the rest. The payload returned aliases the
// reader's buffer and stays valid until the next read. Not safe for
// concurrent use.
type frameReader struct {
	log   *eventLog
	buf   []byte
	guess int
}

func newFrameReader(l *eventLog) frameReader {
	return frameReader{log: l, guess: minSpeculativeRead}
}

// read returns the payload of the frame at global offset off, which must
// lie below limit (the published end of the log), with its checksum
// verified.
func (r *frameReader) read(off, limit uint64) ([]byte, error) {
	s := r.log.segmentAt(off)
	if s == nil || off < s.header.BaseOffset+segmentHeaderSize {
		return nil, fmt.Errorf("engine: log offset %d is not in any segment", off)
	}
	end := min(s.endOffset(), limit)
	if off+frameHeaderSize > end {
		return nil, fmt.Errorf("engine: log offset %d is past the end of the log (%d)", off, end)
	}
	rel := int64(off - s.header.BaseOffset)
	if s.resident.has(rel) {
		return r.mapped(s, rel, end)
	}
	r.log.wantResident(s, rel)
	avail := end - off
	n := min(avail, uint64(r.guess))
	b, err := r.readAt(s, rel, 0, int(n))
	if err != nil {
		return nil, err
	}
	// The bytes past end are not read, so checkFrame sees what the mapping
	// would show: a frame claiming more than avail is truncated.
	length := uint64(binary.LittleEndian.Uint32(b))
	if want := frameHeaderSize + length; length != 0 && length <= maxRecordPayload && want > n && want <= avail {
		if b, err = r.readAt(s, rel, int(n), int(want)); err != nil {
			return nil, err
		}
	}
	payload, size, status := checkFrame(b)
	if status != frameOK {
		return nil, &CorruptionError{File: s.path, Offset: rel, Reason: status.String()}
	}
	r.guess = min(max(minSpeculativeRead, (frameHeaderSize+size+size/4+511)&^511), maxSpeculativeRead)
	return payload, nil
}

// readAt reads bytes [from, to) of the frame at file offset rel of s into
// r.buf[from:to], keeping r.buf[:from], and returns r.buf[:to].
// mapped returns the payload of the frame at file offset rel of s from
// the segment's mapping, where the chunk is populated (resident.go). end
// is the global offset reads must stay below.
func (r *frameReader) mapped(s *segment, rel int64, end uint64) ([]byte, error) {
	r.log.mappedReads.Add(1)
	payload, _, status := checkFrame(s.mmap[rel:int64(end-s.header.BaseOffset)])
	if status != frameOK {
		return nil, &CorruptionError{File: s.path, Offset: rel, Reason: status.String()}
	}
	return payload, nil
}

// mappedAt is mapped for a global offset: ok is false when off's chunk is
// not populated (or off lies in no segment; read reports that).
func (r *frameReader) mappedAt(off, limit uint64) (payload []byte, ok bool, err error) {
	s := r.log.segmentAt(off)
	if s == nil || off < s.header.BaseOffset+segmentHeaderSize {
		return nil, false, nil
	}
	end := min(s.endOffset(), limit)
	rel := int64(off - s.header.BaseOffset)
	if off+frameHeaderSize > end || !s.resident.has(rel) {
		return nil, false, nil
	}
	payload, err = r.mapped(s, rel, end)
	return payload, true, err
}

func (r *frameReader) readAt(s *segment, rel int64, from, to int) ([]byte, error) {
	if cap(r.buf) < to {
		nb := make([]byte, to)
		copy(nb, r.buf[:from])
		r.buf = nb
	}
	r.buf = r.buf[:to]
	r.log.reads.Add(1)
	if _, err := s.file.ReadAt(r.buf[from:to], rel+int64(from)); err != nil {
		return nil, fmt.Errorf("read %s at offset %d: %w", s.path, rel+int64(from), err)
	}
	return r.buf, nil
}
