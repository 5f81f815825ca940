package engine

import (
	"encoding/binary"
)

// Index keys. The index is a Pebble database in DIR/index; every entry is
// derived from the log and can be rebuilt from it. Names never contain a
// NUL byte (validated), so name+0x00 ends a name unambiguously and keeps
// "cart-1" and "cart-10" apart. Integers are big endian so keys sort
// numerically.
//
//	0x01 "checkpoint"                     -> checkpoint (how far the log is indexed)
//	'S' stream                            -> stream state
//	's' stream 0x00 first-version(8)      -> posting block: consecutive versions
//	'e' type 0x00 first-position(8)       -> posting block of the type
//	'c' category 0x00 first-position(8)   -> posting block of the category
//	'E' type                              -> type summary (count, first/last position)
//	'C' category                          -> category summary
//	'i' event-id(16)                      -> position(8) log-offset(8)
//	'p' position(8)                       -> log-offset(8) created-at(8); sparse, at least every 128 events
//	't' created-at(8) position(8)         -> (empty); sparse like 'p'
//	'R' stream                            -> (empty): the stream has retention metadata or is deleted
const (
	prefixCheckpoint   = 0x01
	prefixStreamState  = 'S'
	prefixStreamPost   = 's'
	prefixTypePost     = 'e'
	prefixCategoryPost = 'c'
	prefixTypeInfo     = 'E'
	prefixCategoryInfo = 'C'
	prefixEventID      = 'i'
	prefixPosition     = 'p'
	prefixTime         = 't'
	prefixRestricted   = 'R'
)

// positionIndexEvery bounds how many records a read from an arbitrary
// position scans before reaching it. The position entries sit at the
// positions p with p % positionIndexEvery == 1 (1, 129, 257, ...), so the
// entry for a position is found with a point read (offsetAtOrBefore).
const positionIndexEvery = 128

var checkpointKey = []byte{prefixCheckpoint, 'c', 'h', 'e', 'c', 'k', 'p', 'o', 'i', 'n', 't'}

func nameKey(prefix byte, name string) []byte {
	k := make([]byte, 0, 1+len(name))
	k = append(k, prefix)
	return append(k, name...)
}

// postingKey is prefix name 0x00 seq(8).
func postingKey(dst []byte, prefix byte, name string, seq uint64) []byte {
	dst = append(dst, prefix)
	dst = append(dst, name...)
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// postingPrefix is prefix name 0x00: the common prefix of a name's blocks.
func postingPrefix(prefix byte, name string) []byte {
	k := make([]byte, 0, 2+len(name))
	k = append(k, prefix)
	k = append(k, name...)
	return append(k, 0)
}

// postingSeq returns the trailing 8-byte number of a posting key.
func postingSeq(key []byte) uint64 { return binary.BigEndian.Uint64(key[len(key)-8:]) }

func eventIDKey(dst []byte, id [16]byte) []byte {
	dst = append(dst, prefixEventID)
	return append(dst, id[:]...)
}

func positionKey(dst []byte, pos uint64) []byte {
	dst = append(dst, prefixPosition)
	return binary.BigEndian.AppendUint64(dst, pos)
}

func timeKey(dst []byte, micros int64, pos uint64) []byte {
	dst = append(dst, prefixTime)
	dst = binary.BigEndian.AppendUint64(dst, uint64(micros))
	return binary.BigEndian.AppendUint64(dst, pos)
}

// prefixUpperBound returns the smallest key greater than every key with
// the given prefix.
func prefixUpperBound(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
