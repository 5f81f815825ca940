package engine

import (
	"encoding/binary"
	"fmt"
	"time"
)

// A frame payload is one record. The first byte is its kind.
//
// Event record (kind 1), 52-byte header then the variable parts:
//
//	0      1      2        3        4          12        20          28          44        48        52
//	+------+------+--------+--------+----------+---------+-----------+-----------+---------+---------+--------------------------------+
//	| kind | flags| strlen | typelen| position | version | created_at| event id  | datalen | metalen | stream | type | data | metadata|
//	| u8=1 | u8   | u8     | u8     | u64      | i64     | i64 µs UTC| 16 bytes  | u32     | u32     |                                |
//	+------+------+--------+--------+----------+---------+-----------+-----------+---------+---------+--------------------------------+
//
// Stream metadata record (kind 2), 48-byte header:
//
//	kind u8=2 | flags u8 | strlen u8 | 0 u8 | position u64 | created_at i64 |
//	max_count i64 | max_age_seconds i64 | truncate_before i64 | customlen u32 | stream | custom JSON
//
// Stream delete record (kind 3), 20-byte header:
//
//	kind u8=3 | flags u8 | strlen u8 | 0 u8 | position u64 | created_at i64 | stream
//
// position of kinds 2 and 3 is the last event position at the time they
// were written (they take no position of their own).
//
// flags: bit 0 = commit (the last record of its command: a command is only
// durable as a whole, so recovery drops records after the last commit
// flag); bit 1 = data is JSON (kind 1) or hard delete (kind 3); bit 2 =
// metadata is JSON.
const (
	recordHeaderSize       = 52
	metadataRecordHeader   = 48
	deleteRecordHeaderSize = 20
)

type recordKind uint8

const (
	kindEvent    recordKind = 1
	kindMetadata recordKind = 2
	kindDelete   recordKind = 3
)

const (
	flagCommit       = 1 << 0
	flagDataJSON     = 1 << 1
	flagHardDelete   = 1 << 1
	flagMetadataJSON = 1 << 2
)

// record is a decoded record. Its byte slices alias the buffer it was
// decoded from.
type record struct {
	Kind      recordKind
	Flags     uint8
	Position  uint64
	Version   int64
	CreatedAt int64 // unix microseconds
	ID        [16]byte
	Stream    []byte
	Type      []byte
	Data      []byte
	Metadata  []byte
	// Meta is set for kind 2.
	Meta StreamMetadata
}

func (r *record) commit() bool { return r.Flags&flagCommit != 0 }
func (r *record) hard() bool   { return r.Kind == kindDelete && r.Flags&flagHardDelete != 0 }

// eventRecordSize is the payload size of an event record.
func eventRecordSize(stream, typ string, data, meta []byte) int {
	return recordHeaderSize + len(stream) + len(typ) + len(data) + len(meta)
}

// appendEventRecord appends the payload of an event record to dst.
func appendEventRecord(dst []byte, flags uint8, pos uint64, version int64, createdAt int64,
	id [16]byte, stream, typ string, data, meta []byte) []byte {
	var h [recordHeaderSize]byte
	h[0] = byte(kindEvent)
	h[1] = flags
	h[2] = uint8(len(stream))
	h[3] = uint8(len(typ))
	binary.LittleEndian.PutUint64(h[4:], pos)
	binary.LittleEndian.PutUint64(h[12:], uint64(version))
	binary.LittleEndian.PutUint64(h[20:], uint64(createdAt))
	copy(h[28:44], id[:])
	binary.LittleEndian.PutUint32(h[44:], uint32(len(data)))
	binary.LittleEndian.PutUint32(h[48:], uint32(len(meta)))
	dst = append(dst, h[:]...)
	dst = append(dst, stream...)
	dst = append(dst, typ...)
	dst = append(dst, data...)
	return append(dst, meta...)
}

func appendMetadataRecord(dst []byte, pos uint64, createdAt int64, stream string, m StreamMetadata) []byte {
	var h [metadataRecordHeader]byte
	h[0] = byte(kindMetadata)
	h[1] = flagCommit
	h[2] = uint8(len(stream))
	binary.LittleEndian.PutUint64(h[4:], pos)
	binary.LittleEndian.PutUint64(h[12:], uint64(createdAt))
	binary.LittleEndian.PutUint64(h[20:], uint64(m.MaxCount))
	binary.LittleEndian.PutUint64(h[28:], uint64(m.MaxAge/time.Second))
	binary.LittleEndian.PutUint64(h[36:], uint64(m.TruncateBefore))
	binary.LittleEndian.PutUint32(h[44:], uint32(len(m.Custom)))
	dst = append(dst, h[:]...)
	dst = append(dst, stream...)
	return append(dst, m.Custom...)
}

func appendDeleteRecord(dst []byte, pos uint64, createdAt int64, stream string, hard bool) []byte {
	var h [deleteRecordHeaderSize]byte
	h[0] = byte(kindDelete)
	h[1] = flagCommit
	if hard {
		h[1] |= flagHardDelete
	}
	h[2] = uint8(len(stream))
	binary.LittleEndian.PutUint64(h[4:], pos)
	binary.LittleEndian.PutUint64(h[12:], uint64(createdAt))
	dst = append(dst, h[:]...)
	return append(dst, stream...)
}

// decodeRecord decodes payload into r. It never panics on bad input: a
// payload that passed its checksum but does not parse is an error.
func decodeRecord(p []byte, r *record) error {
	if len(p) < 1 {
		return fmt.Errorf("empty record")
	}
	r.Kind = recordKind(p[0])
	switch r.Kind {
	case kindEvent:
		if len(p) < recordHeaderSize {
			return fmt.Errorf("event record of %d bytes is shorter than its %d-byte header", len(p), recordHeaderSize)
		}
		r.Flags = p[1]
		sl, tl := int(p[2]), int(p[3])
		r.Position = binary.LittleEndian.Uint64(p[4:])
		r.Version = int64(binary.LittleEndian.Uint64(p[12:]))
		r.CreatedAt = int64(binary.LittleEndian.Uint64(p[20:]))
		copy(r.ID[:], p[28:44])
		dl := uint64(binary.LittleEndian.Uint32(p[44:]))
		ml := uint64(binary.LittleEndian.Uint32(p[48:]))
		if uint64(recordHeaderSize)+uint64(sl)+uint64(tl)+dl+ml != uint64(len(p)) {
			return fmt.Errorf("event record lengths (%d+%d+%d+%d) do not add up to its size %d", sl, tl, dl, ml, len(p)-recordHeaderSize)
		}
		if sl == 0 || tl == 0 {
			return fmt.Errorf("event record with an empty stream or type")
		}
		o := recordHeaderSize
		r.Stream = p[o : o+sl : o+sl]
		o += sl
		r.Type = p[o : o+tl : o+tl]
		o += tl
		r.Data = p[o : o+int(dl) : o+int(dl)]
		o += int(dl)
		r.Metadata = p[o : o+int(ml) : o+int(ml)]
		r.Meta = StreamMetadata{}
		return nil
	case kindMetadata:
		if len(p) < metadataRecordHeader {
			return fmt.Errorf("metadata record of %d bytes is shorter than its header", len(p))
		}
		r.Flags = p[1]
		sl := int(p[2])
		r.Position = binary.LittleEndian.Uint64(p[4:])
		r.CreatedAt = int64(binary.LittleEndian.Uint64(p[12:]))
		cl := uint64(binary.LittleEndian.Uint32(p[44:]))
		if uint64(metadataRecordHeader)+uint64(sl)+cl != uint64(len(p)) || sl == 0 {
			return fmt.Errorf("metadata record lengths do not add up")
		}
		maxAge := int64(binary.LittleEndian.Uint64(p[28:]))
		if maxAge < 0 || maxAge > int64(1<<62)/int64(time.Second) {
			return fmt.Errorf("metadata record with max age %d out of range", maxAge)
		}
		r.Meta = StreamMetadata{
			MaxCount:       int64(binary.LittleEndian.Uint64(p[20:])),
			MaxAge:         time.Duration(maxAge) * time.Second,
			TruncateBefore: int64(binary.LittleEndian.Uint64(p[36:])),
		}
		r.Stream = p[metadataRecordHeader : metadataRecordHeader+sl : metadataRecordHeader+sl]
		if cl > 0 {
			r.Meta.Custom = p[metadataRecordHeader+sl:]
		}
		r.Version, r.Type, r.Data, r.Metadata = 0, nil, nil, nil
		return nil
	case kindDelete:
		if len(p) < deleteRecordHeaderSize+1 {
			return fmt.Errorf("delete record of %d bytes is too short", len(p))
		}
		r.Flags = p[1]
		sl := int(p[2])
		if deleteRecordHeaderSize+sl != len(p) || sl == 0 {
			return fmt.Errorf("delete record lengths do not add up")
		}
		r.Position = binary.LittleEndian.Uint64(p[4:])
		r.CreatedAt = int64(binary.LittleEndian.Uint64(p[12:]))
		r.Stream = p[deleteRecordHeaderSize:]
		r.Version, r.Type, r.Data, r.Metadata, r.Meta = 0, nil, nil, nil, StreamMetadata{}
		return nil
	}
	return fmt.Errorf("unknown record kind %d", p[0])
}
