package ndjsonimport

import "github.com/google/uuid"

// hexValue maps an ASCII hex digit to its value and anything else to 0xFF.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// uuidHexAt are the offsets of the 16 hex pairs in xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
var uuidHexAt = [16]byte{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// parseUUID parses an event id: the canonical 36-character form at a
// few ns (every line of an import has one), any other form uuid.Parse
// accepts through it.
func parseUUID(b []byte) (uuid.UUID, error) {
	if len(b) != 36 || b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
		return uuid.ParseBytes(b)
	}
	var id uuid.UUID
	bad := byte(0)
	for i, at := range uuidHexAt {
		hi, lo := hexValue[b[at]], hexValue[b[at+1]]
		bad |= hi | lo
		id[i] = hi<<4 | lo
	}
	if bad&0xF0 != 0 {
		return uuid.ParseBytes(b) // for its error
	}
	return id, nil
}
