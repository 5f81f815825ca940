// Package typeinfer infers a typed schema for each event type from the
// JSON data written: one column per top-level field of the data object,
// typed by every value seen so far. It is shared by the SQL tables
// (by_type.<EventType>) and the Parquet export, so both agree.
//
// Rules (docs/sql.md):
//   - integers only → Int (BIGINT); numbers with a fraction or exponent,
//     or a mix with integers → Float (DOUBLE);
//   - true/false → Bool;
//   - strings that all parse as RFC 3339 times → Datetime; other strings
//     (or a mix with times) → String;
//   - objects and arrays → JSON; a field whose kinds mix in any other way
//     (a number here, a string there) → JSON;
//   - null never changes the kind; a field only ever null is JSON;
//   - a field missing from an event is NULL in that event's row.
//
// Inference is incremental: a Registry remembers per type the position up
// to which it has looked and scans only newer events.
package typeinfer

import (
	"time"

	"github.com/tidwall/gjson"
)

// Kind is the inferred type of a field.
type Kind uint8

// Kinds, in the order of the bits in an observation mask.
const (
	KindJSON Kind = iota
	KindInt
	KindFloat
	KindBool
	KindString
	KindDatetime
)

func (k Kind) String() string {
	return [...]string{"json", "int", "float", "bool", "string", "datetime"}[k]
}

// seen is a bit set of the value kinds observed for one field.
type seen uint8

const (
	seenInt seen = 1 << iota
	seenFloat
	seenBool
	seenString   // a string that is not an RFC 3339 time
	seenDatetime // a string that is an RFC 3339 time
	seenJSON     // object or array
	seenNull
)

// kind resolves the observations into a column kind.
func (s seen) kind() Kind {
	s &^= seenNull
	switch s {
	case seenInt:
		return KindInt
	case seenFloat, seenInt | seenFloat:
		return KindFloat
	case seenBool:
		return KindBool
	case seenString, seenString | seenDatetime:
		return KindString
	case seenDatetime:
		return KindDatetime
	}
	return KindJSON
}

// Field is one inferred column.
type Field struct {
	// Name is the JSON key as written.
	Name string
	Kind Kind
	// MaxLen is the longest string value seen (for String fields).
	MaxLen int
}

// Schema is the inferred schema of one event type.
type Schema struct {
	EventType string
	// Fields are in order of first appearance.
	Fields []Field
	// Through is the last position looked at.
	Through uint64
	// Events is how many events of the type were looked at.
	Events uint64
}

// fieldState accumulates observations for one field.
type fieldState struct {
	Name   string `json:"name"`
	Seen   seen   `json:"seen"`
	MaxLen int    `json:"maxLen,omitempty"`
}

// typeState accumulates observations for one event type.
type typeState struct {
	Fields  []fieldState `json:"fields"`
	Through uint64       `json:"through"`
	Events  uint64       `json:"events"`
	index   map[string]int
}

func (t *typeState) schema(eventType string) Schema {
	s := Schema{EventType: eventType, Through: t.Through, Events: t.Events, Fields: make([]Field, len(t.Fields))}
	for i, f := range t.Fields {
		s.Fields[i] = Field{Name: f.Name, Kind: f.Seen.kind(), MaxLen: f.MaxLen}
	}
	return s
}

// observe folds one event's data into the state. Data that is not a JSON
// object contributes no fields.
func (t *typeState) observe(data []byte, isJSON bool) {
	t.Events++
	if !isJSON {
		return
	}
	doc := gjson.ParseBytes(data)
	if !doc.IsObject() {
		return
	}
	if t.index == nil {
		t.index = make(map[string]int, len(t.Fields))
		for i, f := range t.Fields {
			t.index[f.Name] = i
		}
	}
	doc.ForEach(func(key, value gjson.Result) bool {
		i, ok := t.index[key.Str]
		if !ok {
			i = len(t.Fields)
			t.Fields = append(t.Fields, fieldState{Name: key.Str})
			t.index[key.Str] = i
		}
		f := &t.Fields[i]
		s, n := classify(&value)
		f.Seen |= s
		if n > f.MaxLen {
			f.MaxLen = n
		}
		return true
	})
}

// classify returns the kind bit of a value and, for strings, its length.
func classify(v *gjson.Result) (seen, int) {
	switch v.Type {
	case gjson.Null:
		return seenNull, 0
	case gjson.True, gjson.False:
		return seenBool, 0
	case gjson.Number:
		if isInteger(v.Raw) {
			return seenInt, 0
		}
		return seenFloat, 0
	case gjson.String:
		if IsDatetime(v.Str) {
			return seenDatetime, len(v.Str)
		}
		return seenString, len(v.Str)
	}
	return seenJSON, 0
}

// isInteger reports whether a JSON number has no fraction or exponent and
// fits in an int64.
func isInteger(raw string) bool {
	digits := raw
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 19 {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	if len(digits) == 19 {
		// Compare with 9223372036854775807 (or ...808 for negatives).
		limit := "9223372036854775807"
		if raw[0] == '-' {
			limit = "9223372036854775808"
		}
		return digits <= limit
	}
	return true
}

// IsDatetime reports whether s is an RFC 3339 time ("2026-11-23T10:00:00Z",
// with optional fraction and offset).
func IsDatetime(s string) bool {
	if len(s) < 20 || len(s) > 35 || s[4] != '-' || s[10] != 'T' {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}
