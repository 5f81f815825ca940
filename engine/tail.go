package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The tail of a version 2 segment (docs/format.md, "Crash safety").
//
// An fdatasync that makes a file longer also commits the file system's
// journal (the new size and block allocation), which cost more CPU and
// latency than the data itself for the small groups of single appends.
// So the active segment keeps a zero-filled window ahead of its last
// frame (tailWindow bytes, written once and made durable by the next
// fsync) and groups overwrite it: an fdatasync of blocks that are
// already allocated and inside the file's size writes just the data.
//
// Overwriting gives up what appending had for free: after a power loss
// a later page of an unsynced group can be on disk while an earlier one
// is still zeros, so "damage followed by valid records" no longer proves
// damage inside the acknowledged log. What proves it instead is a tail
// mark: every group is written with one right after its last frame,
// holding the log offset that was durable (fsynced, hence possibly
// acknowledged) when the group was written. The next group overwrites it.
//
//	0        4          12              20              28        32
//	+--------+----------+---------------+---------------+---------+
//	| 0 u32  | "EVSQTAIL" | self offset | durable end   | crc32c  |
//	|        |          | u64 (global)  | u64 (global)  | u32     |
//	+--------+----------+---------------+---------------+---------+
//
// It starts with a zero length, so every reader takes it for the end of
// the frames; crc32c covers bytes 0..27; self offset is where it was
// written, so a copy found elsewhere does not count. On open, when the
// frames of the last segment stop at offset O and the last committed
// record ends at C, any mark in the tail recording a durable end past C
// proves that acknowledged records are damaged (ErrCorrupt); otherwise
// everything from C on was never acknowledged and is dropped.

const (
	tailMarkSize  = 32
	tailMarkMagic = "EVSQTAIL"
	// tailWindow is how far ahead of the last frame the active segment is
	// zero-filled (never past the segment's mapping).
	tailWindow = 1 << 20
	// tailSkipZeroFill is the group size from which a group that reaches
	// past the window just extends the file: its bytes dwarf the journal
	// commit, and zero-filling ahead would write everything twice.
	tailSkipZeroFill = tailWindow / 4
)

// tailMarkPrefix is what every tail mark starts with.
var tailMarkPrefix = append(make([]byte, 4), tailMarkMagic...)

// appendTailMark appends a tail mark written at global offset self.
func appendTailMark(dst []byte, self, durable uint64) []byte {
	start := len(dst)
	dst = append(dst, tailMarkPrefix...)
	dst = binary.LittleEndian.AppendUint64(dst, self)
	dst = binary.LittleEndian.AppendUint64(dst, durable)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// decodeTailMark returns the durable end recorded by the tail mark at the
// start of b, which sits at global offset self.
func decodeTailMark(b []byte, self uint64) (uint64, bool) {
	if len(b) < tailMarkSize || !bytes.HasPrefix(b, tailMarkPrefix) {
		return 0, false
	}
	if crc32.Checksum(b[:28], castagnoli) != binary.LittleEndian.Uint32(b[28:]) ||
		binary.LittleEndian.Uint64(b[12:]) != self {
		return 0, false
	}
	durable := binary.LittleEndian.Uint64(b[20:])
	return durable, durable <= self
}

// maxTailMark returns the largest durable end recorded by a valid tail
// mark in buf[from:] (buf is a segment's bytes from its start, base its
// global offset), or 0.
func maxTailMark(buf []byte, from int64, base uint64) uint64 {
	var best uint64
	for off := from; off < int64(len(buf)); {
		i := bytes.Index(buf[off:], tailMarkPrefix)
		if i < 0 {
			break
		}
		at := off + int64(i)
		if d, ok := decodeTailMark(buf[at:], base+uint64(at)); ok {
			best = max(best, d)
		}
		off = at + 1
	}
	return best
}

// lastNonZero returns the offset just past the last non-zero byte of b
// (0 when b is all zeros).
func lastNonZero(b []byte) int {
	var zero [4096]byte
	end := len(b)
	for end > 0 {
		n := min(end, len(zero))
		if !bytes.Equal(b[end-n:end], zero[:n]) {
			for i := end - 1; ; i-- {
				if b[i] != 0 {
					return i + 1
				}
			}
		}
		end -= n
	}
	return 0
}

// tailState is what examineTail found at the end of a segment's frames.
type tailState struct {
	// Committed is the file offset just past the last committed record.
	Committed int64
	// Stop is where the frames stopped (the file size when they did not),
	// and Status why.
	Stop   int64
	Status frameStatus
	// Durable is the largest durable end recorded by a tail mark
	// (version 2; a global offset), 0 when none.
	Durable uint64
	// Garbage is how many bytes from Committed on are not a clean end
	// (zeros, after a tail mark at Committed in version 2): what a
	// recovery drops. 0 for a clean tail.
	Garbage int64
	// Damaged is set when the bytes after Committed cannot be a torn
	// tail: acknowledged records are damaged.
	Damaged bool
	Reason  string
}

// damageOffset is where damage inside the log is reported: where the
// frames stopped, or the last commit when they ran to the end.
func (st tailState) damageOffset(size int64) int64 {
	if st.Stop < size {
		return st.Stop
	}
	return st.Committed
}

// examineTail walks the frames of segment bytes buf (the whole file,
// from its start) from start, and judges what follows the last committed
// record by the rules of the segment's version:
//
//   - version 1 (the file grew with each write): anything after the last
//     committed record is a torn tail unless a valid committed record
//     follows the damage somewhere;
//   - version 2 (zero-filled tail, tail marks): a torn tail unless a tail
//     mark records a durable end past the last committed record.
//
// A checksummed record that does not decode is returned as an error.
func examineTail(path string, h segmentHeader, buf []byte, start int64) (tailState, error) {
	size := int64(len(buf))
	st := tailState{Committed: start, Stop: size}
	var rec record
	off := start
	for off < size {
		payload, n, status := checkFrame(buf[off:])
		if status != frameOK {
			st.Stop, st.Status = off, status
			break
		}
		if err := decodeRecord(payload, &rec); err != nil {
			return st, &CorruptionError{File: path, Offset: off, Reason: err.Error()}
		}
		off += frameHeaderSize + int64(n)
		if rec.commit() {
			st.Committed = off
		}
	}
	what := "records of a command whose last record was never written"
	if st.Stop < size {
		what = fmt.Sprintf("%s at offset %d", st.Status, st.Stop)
	}
	if h.Version == 1 {
		st.Garbage = size - st.Committed
		if st.Stop < size && findCommittedFrameAfter(buf, st.Stop+1) >= 0 {
			st.Damaged = true
			st.Reason = st.Status.String() + " followed by valid records (damage inside the log, not a torn tail)"
			return st, nil
		}
		st.Reason = what
		return st, nil
	}
	st.Durable = maxTailMark(buf, st.Committed, h.BaseOffset)
	if st.Durable > h.BaseOffset+uint64(st.Committed) {
		st.Damaged = true
		st.Reason = fmt.Sprintf("%s, but a tail mark records the log as durable up to offset %d (damage inside acknowledged records, not a torn tail)",
			what, st.Durable-h.BaseOffset)
		return st, nil
	}
	clean := st.Committed
	if _, ok := decodeTailMark(buf[clean:], h.BaseOffset+uint64(clean)); ok {
		clean += tailMarkSize
	}
	if n := lastNonZero(buf[min(clean, size):]); n > 0 {
		st.Garbage = clean + int64(n) - st.Committed
	}
	st.Reason = what
	return st, nil
}
