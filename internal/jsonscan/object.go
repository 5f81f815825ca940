// Package jsonscan walks the top-level members of a JSON object in one
// pass, without decoding values: the typed columns of by_type tables (SQL)
// and datasets (Parquet export) need a few fields of every event's data,
// and building a document or parsing every number (gjson's ForEach) cost
// about three times as much. Event data was validated when appended, so
// the scanner trusts it; on text that is not valid JSON it stops early and
// never reads out of bounds. FuzzObjectMatchesGJSON checks it against
// gjson on valid documents.
package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"strings"

	"github.com/tidwall/gjson"
)

// Object walks the top-level members of a JSON object: for each it gives
// the key, the value's kind and its text as written. The zero value is
// ready for Reset.
type Object struct {
	s string
	i int
}

// Member is one member of an object. Key, Val.Raw and Val.Str alias the
// document unless they hold escapes.
type Member struct {
	Key string // unescaped
	// Val is the value as a gjson.Result with what type inference reads:
	// Type (Null, False, True, Number, String, or JSON for an object or an
	// array), Raw (as written, strings with their quotes) and, for
	// strings, Str (unescaped). Num is not set: gjson.Parse(Val.Raw)
	// gives the full result.
	Val gjson.Result
	// Start is where Raw is in the document; Escaped is set for strings
	// with backslash escapes.
	Start   int
	Escaped bool
}

// Unquote returns the text of a JSON string literal (quotes included);
// escaped says it holds backslash escapes (then it allocates).
func Unquote(raw string, escaped bool) string {
	if escaped {
		return gjson.Parse(raw).Str // rare: allocates
	}
	return raw[1 : len(raw)-1]
}

// Reset starts walking doc and reports whether it is an object.
func (sc *Object) Reset(doc string) bool {
	sc.s = doc
	sc.i = skipSpace(doc, 0)
	if sc.i < len(doc) && doc[sc.i] == '{' {
		sc.i++
		return true
	}
	sc.i = len(doc)
	return false
}

// Next reads the next member into m; false at the end of the object.
func (sc *Object) Next(m *Member) bool {
	s := sc.s
	i := skipSpace(s, sc.i)
	if i < len(s) && s[i] == ',' {
		i = skipSpace(s, i+1)
	}
	if i >= len(s) || s[i] != '"' {
		sc.i = len(s)
		return false
	}
	end, esc := scanString(s, i)
	if end < 0 {
		sc.i = len(s)
		return false
	}
	m.Key = Unquote(s[i:end], esc)
	i = skipSpace(s, end)
	if i >= len(s) || s[i] != ':' {
		sc.i = len(s)
		return false
	}
	i = skipSpace(s, i+1)
	if i >= len(s) {
		sc.i = len(s)
		return false
	}
	m.Escaped = false
	m.Val.Str = ""
	switch c := s[i]; c {
	case '"':
		m.Val.Type = gjson.String
		end, m.Escaped = scanString(s, i)
	case '{', '[':
		m.Val.Type = gjson.JSON
		end = skipNested(s, i)
	case 't':
		m.Val.Type, end = gjson.True, literal(s, i, "true")
	case 'f':
		m.Val.Type, end = gjson.False, literal(s, i, "false")
	case 'n':
		m.Val.Type, end = gjson.Null, literal(s, i, "null")
	default:
		m.Val.Type = gjson.Number
		end = i
		for end < len(s) && isNumberByte(s[end]) {
			end++
		}
		if end == i {
			end = -1
		}
	}
	if end < 0 {
		sc.i = len(s)
		return false
	}
	m.Val.Raw, m.Start = s[i:end], i
	if m.Val.Type == gjson.String {
		m.Val.Str = Unquote(m.Val.Raw, m.Escaped)
	}
	sc.i = end
	return true
}

func skipSpace(s string, i int) int {
	if i < len(s) && s[i] > ' ' {
		return i // the usual case: no space at all
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	return i
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// literal returns the end of lit at s[i:], or -1.
func literal(s string, i int, lit string) int {
	if strings.HasPrefix(s[i:], lit) {
		return i + len(lit)
	}
	return -1
}

// scanString returns the end (after the closing quote) of the string
// starting at s[i] == '"' and whether it has escapes; -1 if unterminated.
func scanString(s string, i int) (int, bool) {
	j := i + 1
	// Most keys and values are short: look at them 8 bytes at a time, and
	// only search longer ones with IndexByte.
	for end := min(len(s)-8, j+32); j <= end; j += 8 {
		if m := quoteOrBackslash(binary.LittleEndian.Uint64([]byte(s[j : j+8]))); m != 0 {
			j += bits.TrailingZeros64(m) / 8
			if s[j] == '"' {
				return j + 1, false
			}
			return scanEscaped(s, j)
		}
	}
	q := strings.IndexByte(s[j:], '"')
	if q < 0 {
		return -1, false
	}
	if strings.IndexByte(s[j:j+q], '\\') < 0 {
		return j + q + 1, false
	}
	return scanEscaped(s, j)
}

// quoteOrBackslash returns a word whose high bit is set in (at least) the
// lowest byte of w that is '"' or '\\', and is 0 when there is none.
// (Bytes above the first match may be flagged wrongly: only the lowest
// flag counts.)
func quoteOrBackslash(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((q-ones)&^q | (b-ones)&^b) & highs
}

// scanEscaped is scanString from s[j], inside a string with escapes.
func scanEscaped(s string, j int) (int, bool) {
	for ; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return -1, true
}

// skipNested returns the end of the object or array starting at s[i], or -1.
func skipNested(s string, i int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '"':
			end, _ := scanString(s, j)
			if end < 0 {
				return -1
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}
