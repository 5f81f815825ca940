// Package benchgen holds the byte-level helpers the benchmark event
// generators share: a seeded hash to derive fields from, UUID text, and
// the escaping of MariaDB's LOAD DATA format.
package benchgen

// Mix is splitmix64's finalizer: a bijection on uint64 that spreads
// consecutive inputs over the whole range.
func Mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

const hex = "0123456789abcdef"

// PutUUID writes id's canonical text (36 bytes, lower-case hex with
// dashes) into dst[:36].
func PutUUID(dst []byte, id [16]byte) {
	_ = dst[35]
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j] = hex[c>>4]
		dst[j+1] = hex[c&0x0f]
		j += 2
	}
}

// AppendUUID appends id's canonical text.
func AppendUUID(dst []byte, id [16]byte) []byte {
	var buf [36]byte
	PutUUID(buf[:], id)
	return append(dst, buf[:]...)
}

// AppendTSVEscaped appends s escaped for LOAD DATA's default format
// (FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n').
func AppendTSVEscaped[S string | []byte](b []byte, s S) []byte {
	for i := range len(s) {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '\t':
			b = append(b, `\t`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case 0:
			b = append(b, `\0`...)
		default:
			b = append(b, c)
		}
	}
	return b
}
