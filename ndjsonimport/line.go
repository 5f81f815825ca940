package ndjsonimport

import (
	"bytes"
	"errors"
	"fmt"

	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"
)

// Line is one decoded NDJSON line:
//
//	{"stream":"cart-1","eventType":"ItemAdded","eventId":"<uuid>","data":<JSON>,"metadata":<JSON>}
//
// Stream, EventType, Data and Metadata alias the decoded line (or a
// scratch buffer for escaped names) and are valid until the next call.
type Line struct {
	Stream    []byte
	EventType []byte
	// EventID is the zero UUID when the line has none (or null).
	EventID uuid.UUID
	// Data is the raw JSON value of "data": "null" when absent.
	Data []byte
	// Metadata is the raw JSON value of "metadata": empty when absent or
	// null.
	Metadata []byte
}

var null = []byte("null")

// ParseLine decodes one line (without its newline; surrounding white space
// is allowed). The line is validated as JSON while its fields are found
// (scan.go), so Data and Metadata are valid JSON values when it succeeds.
// Field names are case-sensitive; unknown fields are ignored; when a
// field repeats, the last one wins. Names are not validated beyond being
// JSON strings: the store checks them. scratch holds unescaped names and
// is returned grown.
func ParseLine(line []byte, l *Line, scratch []byte) ([]byte, error) {
	*l = Line{}
	line = trimSpace(line)
	if len(line) == 0 {
		return scratch, errors.New("empty line")
	}
	if line[0] != '{' {
		if !validJSON(line) {
			return scratch, syntaxError(line)
		}
		return scratch, fmt.Errorf("the line is a JSON %s, not an object", kind(line[0]))
	}
	scratch = scratch[:0]
	var stream, typ, id span
	i := skipSpace(line, 1)
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for {
			if i >= len(line) || line[i] != '"' {
				return scratch, syntaxError(line)
			}
			ke, ok := scanString(line, i)
			if !ok {
				return scratch, syntaxError(line)
			}
			key := line[i+1 : ke-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				var k string
				if err := gojson.Unmarshal(line[i:ke], &k); err != nil {
					return scratch, fmt.Errorf("field name %s: %w", line[i:ke], err)
				}
				key = []byte(k)
			}
			if i = skipSpace(line, ke); i >= len(line) || line[i] != ':' {
				return scratch, syntaxError(line)
			}
			vs := skipSpace(line, i+1)
			ve, ok := scanValue(line, vs, 1)
			if !ok {
				return scratch, syntaxError(line)
			}
			v := span{vs, ve}
			switch string(key) {
			case "stream":
				stream = v
			case "eventType":
				typ = v
			case "eventId":
				id = v
			case "data":
				l.Data = line[vs:ve]
			case "metadata":
				l.Metadata = line[vs:ve]
			}
			if i = skipSpace(line, ve); i >= len(line) {
				return scratch, syntaxError(line)
			}
			if line[i] == '}' {
				i++
				break
			}
			if line[i] != ',' {
				return scratch, syntaxError(line)
			}
			i = skipSpace(line, i+1)
		}
	}
	if i != len(line) { // something after the object
		return scratch, syntaxError(line)
	}
	var err error
	if l.Stream, scratch, err = stringField(line, stream, "stream", scratch); err != nil {
		return scratch, err
	}
	if l.EventType, scratch, err = stringField(line, typ, "eventType", scratch); err != nil {
		return scratch, err
	}
	if id.set() && !bytes.Equal(line[id.start:id.end], null) {
		var raw []byte
		if raw, scratch, err = stringField(line, id, "eventId", scratch); err != nil {
			return scratch, err
		}
		if l.EventID, err = uuid.ParseBytes(raw); err != nil {
			return scratch, fmt.Errorf("eventId %q is not a UUID", raw)
		}
	}
	if l.Data == nil {
		l.Data = null
	}
	if bytes.Equal(l.Metadata, null) {
		l.Metadata = nil
	}
	return scratch, nil
}

// span is a value's byte range in the line; end == 0 means absent.
type span struct{ start, end int }

func (s span) set() bool { return s.end > 0 }

// stringField returns a required, non-empty JSON string field, unescaped
// into scratch when it holds escapes.
func stringField(line []byte, s span, name string, scratch []byte) ([]byte, []byte, error) {
	if !s.set() {
		return nil, scratch, fmt.Errorf("missing %q", name)
	}
	v := line[s.start:s.end]
	if v[0] != '"' {
		return nil, scratch, fmt.Errorf("%q must be a string, not a JSON %s", name, kind(v[0]))
	}
	raw := v[1 : len(v)-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		var str string
		if err := gojson.Unmarshal(v, &str); err != nil {
			return nil, scratch, fmt.Errorf("%q: %w", name, err)
		}
		start := len(scratch)
		scratch = append(scratch, str...)
		raw = scratch[start:len(scratch):len(scratch)]
	}
	if len(raw) == 0 {
		return nil, scratch, fmt.Errorf("%q must not be empty", name)
	}
	return raw, scratch, nil
}

func syntaxError(line []byte) error {
	var v any
	if err := gojson.Unmarshal(line, &v); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return errors.New("invalid JSON")
}

func kind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// trimSpace trims JSON white space from both ends of b.
func trimSpace(b []byte) []byte {
	i := skipSpace(b, 0)
	j := len(b)
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t' || b[j-1] == '\n' || b[j-1] == '\r') {
		j--
	}
	return b[i:j]
}

// skipSpace returns the index of the first non-white-space byte at or after i.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
