package sqlfront

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// queryDigest is a query's text with its literals taken out: the key
// under which plan templates are kept (plan_templates.go), and the
// literals, in order. Two queries with the same digest differ only in
// the values of their literals.
//
// It reads a deliberately small part of SQL, the part point queries are
// written in: words, `quoted` names, 'strings' without escapes, unsigned
// decimal integers, the operators = <> != < <= > >=, commas, dots and
// `*`, and one trailing `;`. Anything else (parentheses and so function
// calls and IN lists, signs and arithmetic beyond `*`, comments,
// variables, escapes, double quotes, other number forms) makes the query
// undigestable: it is parsed and analyzed as usual. So is a string
// literal after a word other than AND, OR and BETWEEN, a quoted name or
// another string: there the word or the neighbour changes what the
// string is (_latin1'é', N'x', X'78', DATE 'x', BINARY 'x', an alias,
// 'a' 'b' as one string). So are statements
// other than SELECT, and words whose expressions keep state made from a
// literal (LIKE's compiled pattern) or that change what a SELECT does
// (INTO, FOR UPDATE, UNION).
type queryDigest struct {
	key  string
	lits []digestLiteral
}

// digestLiteral is one literal of a digested query.
type digestLiteral struct {
	str   bool   // a string; else an integer
	text  string // the string's value, or the integer's digits
	class byte   // integers: the Go type GMS gives the literal (intClass)
}

// maxDigestLiterals bounds the literals of a digestible query.
const maxDigestLiterals = 16

// maxDigestQuery bounds the length of a digestible query: digests are
// kept as template keys, and the queries templates are for are short.
const maxDigestQuery = 4096

// refusedWords are words that make a query undigestable.
var refusedWords = map[string]bool{
	"LIKE": true, "RLIKE": true, "REGEXP": true, "SOUNDS": true, "ESCAPE": true,
	"INTO": true, "FOR": true, "LOCK": true, "UNION": true, "INTERVAL": true,
	"PROCEDURE": true, "OUTFILE": true, "DUMPFILE": true,
}

// wordsBeforeString are the words a string literal may follow (else it
// follows an operator or a comma).
var wordsBeforeString = map[string]bool{"AND": true, "OR": true, "BETWEEN": true}

// digestQuery digests q; false when q is not a query it reads.
func digestQuery(q string) (queryDigest, bool) {
	if len(q) > maxDigestQuery {
		return queryDigest{}, false
	}
	var (
		key  strings.Builder
		lits []digestLiteral
	)
	key.Grow(len(q))
	first := true
	// prev is the previous token: a word (upper case), "'" after a
	// string, "`" after a quoted name, "" after anything else.
	prev := ""
	sep := func() {
		if key.Len() > 0 {
			key.WriteByte(' ')
		}
	}
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case isWordStart(c):
			j := i + 1
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			w := q[i:j]
			if first {
				if !strings.EqualFold(w, "SELECT") {
					return queryDigest{}, false
				}
				first = false
			}
			if refusedWords[strings.ToUpper(w)] {
				return queryDigest{}, false
			}
			sep()
			key.WriteString(w)
			prev = strings.ToUpper(w)
			i = j
			continue
		case c == '`':
			j := strings.IndexByte(q[i+1:], '`')
			if j < 0 {
				return queryDigest{}, false
			}
			end := i + 1 + j + 1
			if end < len(q) && q[end] == '`' { // `` inside a name
				return queryDigest{}, false
			}
			sep()
			key.WriteString(q[i:end])
			prev = "`"
			i = end
			continue
		case c == '\'':
			j := strings.IndexByte(q[i+1:], '\'')
			if j < 0 {
				return queryDigest{}, false
			}
			s := q[i+1 : i+1+j]
			end := i + 1 + j + 1
			if strings.IndexByte(s, '\\') >= 0 || (end < len(q) && q[end] == '\'') || !utf8.ValidString(s) {
				return queryDigest{}, false // escapes, '' inside, not UTF-8
			}
			if prev != "" && !wordsBeforeString[prev] {
				// A word makes the string something else: a charset
				// introducer (_latin1'é' is not 'é'), N'', X'', B'',
				// DATE '', BINARY '', an alias; a string after a string
				// is one string.
				return queryDigest{}, false
			}
			if len(lits) == maxDigestLiterals {
				return queryDigest{}, false
			}
			lits = append(lits, digestLiteral{str: true, text: s})
			sep()
			key.WriteString("?s")
			prev = "'"
			i = end
			continue
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j < len(q) && (isWordByte(q[j]) || q[j] == '.') {
				return queryDigest{}, false // 1e5, 1.5, 0x1f, 1abc
			}
			class := intClass(q[i:j])
			if class == 0 || len(lits) == maxDigestLiterals {
				return queryDigest{}, false
			}
			lits = append(lits, digestLiteral{text: q[i:j], class: class})
			sep()
			key.WriteString("?i")
			key.WriteByte(class)
			i = j
		case c == '<' || c == '>' || c == '!':
			j := i + 1
			if j < len(q) && (q[j] == '=' || (c == '<' && q[j] == '>')) {
				j++
			}
			if c == '!' && j == i+1 {
				return queryDigest{}, false // ! alone is NOT
			}
			sep()
			key.WriteString(q[i:j])
			i = j
		case c == '=' || c == ',' || c == '.' || c == '*':
			sep()
			key.WriteByte(c)
			i++
		case c == ';':
			if strings.TrimRight(q[i+1:], " \t\r\n") != "" {
				return queryDigest{}, false // more than one statement
			}
			i = len(q)
		default:
			return queryDigest{}, false
		}
		prev = ""
	}
	if first {
		return queryDigest{}, false
	}
	return queryDigest{key: key.String(), lits: lits}, true
}

func isWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

func isWordByte(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' }

// intClass is the Go type GMS's parser gives an unsigned decimal integer
// literal (the smallest of int8, uint8, int16, uint16, int32, uint32,
// int64, uint64 that holds it, as planbuilder's convertInt): 'b', 'B',
// 'h', 'H', 'i', 'I', 'l', 'L'; 0 when it holds none (GMS makes a
// DECIMAL of it).
func intClass(digits string) byte {
	u, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0
	}
	switch {
	case u <= 127:
		return 'b'
	case u <= 255:
		return 'B'
	case u <= 32767:
		return 'h'
	case u <= 65535:
		return 'H'
	case u <= 1<<31-1:
		return 'i'
	case u <= 1<<32-1:
		return 'I'
	case u <= 1<<63-1:
		return 'l'
	}
	return 'L'
}

// intValue is digits as the Go value of its class.
func intValue(digits string, class byte) (any, bool) {
	u, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || intClass(digits) != class {
		return nil, false
	}
	switch class {
	case 'b':
		return int8(u), true
	case 'B':
		return uint8(u), true
	case 'h':
		return int16(u), true
	case 'H':
		return uint16(u), true
	case 'i':
		return int32(u), true
	case 'I':
		return uint32(u), true
	case 'l':
		return int64(u), true
	}
	return u, true
}
