package engine

import (
	"encoding/binary"
	"errors"
)

// posting locates one event: its position and the log offset of its frame.
type posting struct {
	Pos uint64
	Off uint64
}

// maxPostingsPerBlock bounds a posting block so a read that needs one
// entry decodes at most this many.
const maxPostingsPerBlock = 512

// A posting block value is
//
//	count uvarint | pos0 uvarint | off0 uvarint | (pos delta uvarint, off delta uvarint) * (count-1)
//
// Positions and offsets strictly increase inside a block, so deltas are
// small: about 2-4 bytes per event.
func appendPostingBlock(dst []byte, ps []posting) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ps)))
	var prev posting
	for i, p := range ps {
		if i == 0 {
			dst = binary.AppendUvarint(dst, p.Pos)
			dst = binary.AppendUvarint(dst, p.Off)
		} else {
			dst = binary.AppendUvarint(dst, p.Pos-prev.Pos)
			dst = binary.AppendUvarint(dst, p.Off-prev.Off)
		}
		prev = p
	}
	return dst
}

var errBadPostingBlock = errors.New("engine: malformed posting block in the index")

// decodePostingBlock appends the block's postings to dst.
func decodePostingBlock(dst []posting, b []byte) ([]posting, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > maxPostingsPerBlock {
		return dst, errBadPostingBlock
	}
	b = b[k:]
	var prev posting
	for i := uint64(0); i < n; i++ {
		a, k1 := binary.Uvarint(b)
		if k1 <= 0 {
			return dst, errBadPostingBlock
		}
		c, k2 := binary.Uvarint(b[k1:])
		if k2 <= 0 {
			return dst, errBadPostingBlock
		}
		b = b[k1+k2:]
		p := posting{Pos: a, Off: c}
		if i > 0 {
			p = posting{Pos: prev.Pos + a, Off: prev.Off + c}
		}
		dst = append(dst, p)
		prev = p
	}
	return dst, nil
}
