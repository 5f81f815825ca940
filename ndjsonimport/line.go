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
	f, end, err := scanEventObject(line, 0)
	if err != nil {
		return scratch, err
	}
	if end != len(line) { // something after the object
		return scratch, syntaxError(line)
	}
	if l.Stream, scratch, err = stringField(line, f.stream, "stream", scratch); err != nil {
		return scratch, err
	}
	return f.decode(line, l, scratch)
}

// eventFields are the spans of an event object's known fields.
type eventFields struct {
	stream, typ, id, data, metadata span
}

// scanEventObject validates the JSON object starting at b[i] == '{' and
// finds its event fields. It returns the index just past the object.
func scanEventObject(b []byte, i int) (eventFields, int, error) {
	var f eventFields
	obj := b[i:]
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return f, i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return f, i, syntaxError(obj)
		}
		ke, esc, ok := scanStringEsc(b, i)
		if !ok {
			return f, i, syntaxError(obj)
		}
		key := b[i+1 : ke-1]
		if esc {
			var k string
			if err := gojson.Unmarshal(b[i:ke], &k); err != nil {
				return f, i, fmt.Errorf("field name %s: %w", b[i:ke], err)
			}
			key = []byte(k)
		}
		if i = skipSpace(b, ke); i >= len(b) || b[i] != ':' {
			return f, i, syntaxError(obj)
		}
		vs := skipSpace(b, i+1)
		var ve int
		if vs < len(b) && b[vs] == '"' {
			ve, esc, ok = scanStringEsc(b, vs)
		} else {
			ve, ok = scanValue(b, vs, 1)
			esc = false
		}
		if !ok {
			return f, i, syntaxError(obj)
		}
		v := span{vs, ve, esc}
		switch string(key) {
		case "stream":
			f.stream = v
		case "eventType":
			f.typ = v
		case "eventId":
			f.id = v
		case "data":
			f.data = v
		case "metadata":
			f.metadata = v
		}
		if i = skipSpace(b, ve); i >= len(b) {
			return f, i, syntaxError(obj)
		}
		if b[i] == '}' {
			return f, i + 1, nil
		}
		if b[i] != ',' {
			return f, i, syntaxError(obj)
		}
		i = skipSpace(b, i+1)
	}
}

// decode fills l's event type, id, data and metadata from the spans in b
// (the stream is the caller's business).
func (f eventFields) decode(b []byte, l *Line, scratch []byte) ([]byte, error) {
	var err error
	if l.EventType, scratch, err = stringField(b, f.typ, "eventType", scratch); err != nil {
		return scratch, err
	}
	if f.id.set() && !bytes.Equal(b[f.id.start:f.id.end], null) {
		var raw []byte
		if raw, scratch, err = stringField(b, f.id, "eventId", scratch); err != nil {
			return scratch, err
		}
		if l.EventID, err = parseUUID(raw); err != nil {
			return scratch, &FieldError{Field: "eventId", Err: fmt.Errorf("eventId %q is not a UUID", raw)}
		}
	}
	l.Data = null
	if f.data.set() {
		l.Data = b[f.data.start:f.data.end]
	}
	if f.metadata.set() && !bytes.Equal(b[f.metadata.start:f.metadata.end], null) {
		l.Metadata = b[f.metadata.start:f.metadata.end]
	}
	return scratch, nil
}

// FieldError is a problem with one field of an event object.
type FieldError struct {
	Field string // "stream", "eventType", "eventId"
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// span is a value's byte range in the line; end == 0 means absent. esc
// is set for a string with escapes.
type span struct {
	start, end int
	esc        bool
}

func (s span) set() bool { return s.end > 0 }

// stringField returns a required, non-empty JSON string field, unescaped
// into scratch when it holds escapes.
func stringField(line []byte, s span, name string, scratch []byte) ([]byte, []byte, error) {
	if !s.set() {
		return nil, scratch, &FieldError{Field: name, Err: fmt.Errorf("missing %q", name)}
	}
	v := line[s.start:s.end]
	if v[0] != '"' {
		return nil, scratch, &FieldError{Field: name, Err: fmt.Errorf("%q must be a string, not a JSON %s", name, kind(v[0]))}
	}
	raw := v[1 : len(v)-1]
	if s.esc {
		var str string
		if err := gojson.Unmarshal(v, &str); err != nil {
			return nil, scratch, &FieldError{Field: name, Err: fmt.Errorf("%q: %w", name, err)}
		}
		start := len(scratch)
		scratch = append(scratch, str...)
		raw = scratch[start:len(scratch):len(scratch)]
	}
	if len(raw) == 0 {
		return nil, scratch, &FieldError{Field: name, Err: fmt.Errorf("%q must not be empty", name)}
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

// skipSpace returns the index of the first non-white-space byte at or
// after i. JSON's white space is all at or below ' ', so one comparison
// answers for any other byte (most calls find none).
func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
