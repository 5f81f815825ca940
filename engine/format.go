package engine

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The log is a sequence of segment files in DIR/log, named by the global
// log offset of their first byte (20 decimal digits, ".seg"). Each starts
// with a 32-byte header followed by frames. All integers are little endian.
// docs/format.md has the full description.
//
// Segment header (32 bytes):
//
//	0        8         10       12        16              24              32
//	+--------+---------+--------+---------+---------------+---------------+
//	| magic  | version | flags  | crc32c  | base offset   | first position|
//	|"EVSQLOG1"| u16   | u16    | u32     | u64           | u64           |
//	+--------+---------+--------+---------+---------------+---------------+
//
// crc32c covers the header with the crc field zeroed. version 1 segments
// grew with every write; version 2 segments have a zero-filled tail and a
// tail mark after their last frame (tail.go), which changes how a damaged
// tail is told from damage inside the log.
//
// Frame:
//
//	0          4          8
//	+----------+----------+---------------------+
//	| length   | crc32c   | payload (length)    |
//	| u32      | u32      |                     |
//	+----------+----------+---------------------+
//
// crc32c (Castagnoli) covers the 4 length bytes and the payload, so a
// damaged length is detected like a damaged payload. A zero length is
// never written: a zero-filled tail reads as "no more frames".
const (
	segmentMagic = "EVSQLOG1"
	// segmentFormatVersion is the version new segments get; 1 is still
	// read (and continued only by stores told to write it, in tests).
	segmentFormatVersion = 2
	segmentHeaderSize    = 32
	frameHeaderSize      = 8
	// maxRecordPayload caps a length read from disk before anything is
	// allocated or mapped for it.
	maxRecordPayload = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segmentHeader is the decoded header of a segment file.
type segmentHeader struct {
	Version       uint16 // 1 or 2; 0 encodes as segmentFormatVersion
	BaseOffset    uint64 // global log offset of the file's first byte
	FirstPosition uint64 // position the first event in the file has (or would have)
}

func (h segmentHeader) encode() []byte {
	b := make([]byte, segmentHeaderSize)
	copy(b, segmentMagic)
	v := h.Version
	if v == 0 {
		v = segmentFormatVersion
	}
	binary.LittleEndian.PutUint16(b[8:], v)
	binary.LittleEndian.PutUint64(b[16:], h.BaseOffset)
	binary.LittleEndian.PutUint64(b[24:], h.FirstPosition)
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b, castagnoli))
	return b
}

func decodeSegmentHeader(b []byte) (segmentHeader, error) {
	if len(b) < segmentHeaderSize {
		return segmentHeader{}, fmt.Errorf("segment header is %d bytes, want %d", len(b), segmentHeaderSize)
	}
	if string(b[:8]) != segmentMagic {
		return segmentHeader{}, fmt.Errorf("bad magic %q", b[:8])
	}
	v := binary.LittleEndian.Uint16(b[8:])
	if v != 1 && v != 2 {
		return segmentHeader{}, fmt.Errorf("unsupported segment format version %d", v)
	}
	var tmp [segmentHeaderSize]byte
	copy(tmp[:], b[:segmentHeaderSize])
	want := binary.LittleEndian.Uint32(tmp[12:])
	binary.LittleEndian.PutUint32(tmp[12:], 0)
	if got := crc32.Checksum(tmp[:], castagnoli); got != want {
		return segmentHeader{}, fmt.Errorf("segment header checksum mismatch")
	}
	return segmentHeader{
		Version:       v,
		BaseOffset:    binary.LittleEndian.Uint64(b[16:]),
		FirstPosition: binary.LittleEndian.Uint64(b[24:]),
	}, nil
}

// frameChecksum is the crc32c of the length bytes and the payload.
func frameChecksum(lenBytes []byte, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(lenBytes, castagnoli), castagnoli, payload)
}

// appendFrame appends a frame holding payload to dst.
func appendFrame(dst, payload []byte) []byte {
	var h [frameHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[4:], frameChecksum(h[0:4], payload))
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

// appendEventFrame appends a frame holding an event record to dst,
// encoding the record in place (appendFrame(dst, appendEventRecord(...))
// without the intermediate copy).
func appendEventFrame(dst []byte, flags uint8, pos uint64, version int64, createdAt int64,
	id [16]byte, stream, typ string, data, meta []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderSize)...)
	dst = appendEventRecord(dst, flags, pos, version, createdAt, id, stream, typ, data, meta)
	payload := dst[start+frameHeaderSize:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], frameChecksum(dst[start:start+4], payload))
	return dst
}

// frameStatus is the result of checking the frame at the start of a buffer.
type frameStatus int

const (
	frameOK        frameStatus = iota
	frameShort                 // fewer bytes than the header or the payload claims: the data ends inside it
	frameZero                  // a zero length: unwritten space
	frameBadLength             // a length over maxRecordPayload
	frameBadCRC                // the checksum does not match
)

func (s frameStatus) String() string {
	return [...]string{"ok", "truncated frame", "zero length", "bad length", "checksum mismatch"}[s]
}

// checkFrame inspects the frame at the start of b. For frameOK it returns
// the payload; for the others, the claimed payload length when known.
func checkFrame(b []byte) (payload []byte, n int, status frameStatus) {
	if len(b) < frameHeaderSize {
		return nil, 0, frameShort
	}
	length := binary.LittleEndian.Uint32(b[0:])
	if length == 0 {
		return nil, 0, frameZero
	}
	if length > maxRecordPayload {
		return nil, int(length), frameBadLength
	}
	if uint64(len(b)) < frameHeaderSize+uint64(length) {
		return nil, int(length), frameShort
	}
	payload = b[frameHeaderSize : frameHeaderSize+length]
	if frameChecksum(b[0:4], payload) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, int(length), frameBadCRC
	}
	return payload, int(length), frameOK
}

// frameOfOwnWrite is checkFrame without the checksum, for frames this
// process has just staged (see indexFrames).
func frameOfOwnWrite(b []byte) (payload []byte, n int, status frameStatus) {
	if len(b) < frameHeaderSize {
		return nil, 0, frameShort
	}
	length := binary.LittleEndian.Uint32(b[0:])
	switch {
	case length == 0:
		return nil, 0, frameZero
	case length > maxRecordPayload:
		return nil, int(length), frameBadLength
	case uint64(len(b)) < frameHeaderSize+uint64(length):
		return nil, int(length), frameShort
	}
	return b[frameHeaderSize : frameHeaderSize+length], int(length), frameOK
}
