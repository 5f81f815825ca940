package engine

import "fmt"

// Reads through a posting list fetch the frames it points at. A frameReader
// pays one pread per frame, about 3-6 µs on the project's VM whatever the
// size up to a few KiB, while copying more bytes from the page cache costs
// ~0.1 ns a byte (16 KiB ≈ 1.6 µs). The events of a type, of a category or
// of a stream written in one append often lie close together in the log, so
// a forward posting read fetches a run of nearby frames with one pread of
// the whole stretch (a span) and serves them from that buffer:
//
//	postings:  ▼      ▼   ▼           ▼ ▼                    ▼
//	log:      [f][..][f][f][...gap...][f][f][....gap > maxFrameGap....][f]
//	reads:    └────────── one span ──────────┘                          └ frameReader
//
// Frames further apart than maxFrameGap are read one at a time, as before.
// A span grows from minSpanBytes to maxSpanBytes as spans keep filling, so a
// read that stops early (LIMIT, a join lookup) does not fetch far ahead.
const (
	// maxFrameGap is the largest distance between the starts of two frames
	// fetched by one read: bytes copied in vain cost less than a pread.
	maxFrameGap = 16 << 10
	// minSpanBytes and maxSpanBytes bound one span read.
	minSpanBytes = 16 << 10
	maxSpanBytes = 256 << 10
)

// spanReader serves frames of a posting block from one read of the log
// when they lie close together, and falls back to a frameReader. The
// payloads it returns alias its buffers and stay valid until the next
// read. Not safe for concurrent use.
type spanReader struct {
	frames frameReader
	buf    []byte
	base   uint64   // global offset of buf[0]
	seg    *segment // the segment buf was read from
	size   int      // the next span's byte budget
}

func newSpanReader(l *eventLog) spanReader {
	return spanReader{frames: newFrameReader(l), size: minSpanBytes}
}

// read returns the payload of the frame of block[i] (checksum verified),
// below limit (the published end of the log). last is the index of the last
// posting of block the caller will read after i (its bound); the frames of
// block[i+1:last+1] may be fetched with it.
func (r *spanReader) read(block []posting, i, last int, limit uint64) ([]byte, error) {
	off := block[i].Off
	if p, ok, err := r.frames.mappedAt(off, limit); ok || err != nil {
		return p, err
	}
	if p, ok, err := r.cached(off); ok || err != nil {
		return p, err
	}
	if last > i {
		if p, ok, err := r.fill(block, i, last, limit); ok || err != nil {
			return p, err
		}
	}
	return r.frames.read(off, limit)
}

// cached serves the frame at off from the span buffer when the buffer
// holds all of it.
func (r *spanReader) cached(off uint64) ([]byte, bool, error) {
	if r.seg == nil || off < r.base || off-r.base+frameHeaderSize > uint64(len(r.buf)) {
		return nil, false, nil
	}
	b := r.buf[off-r.base:]
	payload, size, status := checkFrame(b)
	switch status {
	case frameOK:
		r.frames.guess = min(max(minSpeculativeRead, (frameHeaderSize+size+size/4+511)&^511), maxSpeculativeRead)
		return payload, true, nil
	case frameShort:
		// Longer than what the span fetched: frameReader reads it whole
		// (or finds it truncated at the end of the log).
		return nil, false, nil
	}
	return nil, false, &CorruptionError{File: r.seg.path, Offset: int64(off - r.seg.header.BaseOffset), Reason: status.String()}
}

// fill reads the span starting at block[i] when at least one more frame
// of block[i+1:last+1] lies close enough, and returns block[i]'s payload;
// ok is false when block[i] stands alone.
func (r *spanReader) fill(block []posting, i, last int, limit uint64) ([]byte, bool, error) {
	start := block[i].Off
	s := r.frames.log.segmentAt(start)
	if s == nil || start < s.header.BaseOffset+segmentHeaderSize {
		return nil, false, nil // frameReader reports it
	}
	end := min(s.endOffset(), limit)
	if start >= end {
		return nil, false, nil
	}
	guess := uint64(r.frames.guess)
	j := i
	for j < last {
		next := block[j+1].Off
		if next-block[j].Off > maxFrameGap || next+guess-start > uint64(r.size) || next >= end {
			break
		}
		j++
	}
	if j == i {
		return nil, false, nil
	}
	n := min(block[j].Off+guess, end) - start
	rel := int64(start - s.header.BaseOffset)
	r.frames.log.wantResident(s, rel)
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n, max(n, uint64(r.size)+maxSpeculativeRead))
	}
	r.buf = r.buf[:n]
	if _, err := s.file.ReadAt(r.buf, rel); err != nil {
		r.seg = nil
		return nil, false, fmt.Errorf("read %s at offset %d: %w", s.path, rel, err)
	}
	r.frames.log.reads.Add(1)
	r.base, r.seg = start, s
	// Spans that reach their budget grow, up to maxSpanBytes.
	if j < last && block[j+1].Off-block[j].Off <= maxFrameGap && block[j+1].Off < end {
		r.size = min(2*r.size, maxSpanBytes)
	}
	p, ok, err := r.cached(start)
	return p, ok, err
}
