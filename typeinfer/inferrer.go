package typeinfer

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// Inferrer infers one event type's schema from values fed to it in log
// order, with the same rules as the Registry. The Parquet export uses it
// while it writes: it parses each event once, feeds every top-level
// field to Field, and starts a new file when a field is new or its kind
// changes. Its state can be saved (Saved) and restored (NewInferrer), so
// a later run continues where an earlier one stopped.
type Inferrer struct {
	t typeState
}

// SavedField is the saved state of one field: its name and the kinds of
// values seen ("int", "float", "bool", "string", "datetime", "json",
// "null").
type SavedField struct {
	Name   string   `json:"name"`
	Seen   []string `json:"seen"`
	MaxLen int      `json:"maxLen,omitempty"`
}

var seenNames = [...]string{"int", "float", "bool", "string", "datetime", "json", "null"}

// NewInferrer returns an inferrer that continues from saved (nil: none).
func NewInferrer(saved []SavedField) (*Inferrer, error) {
	in := &Inferrer{t: typeState{index: make(map[string]int, len(saved))}}
	for _, f := range saved {
		var s seen
		for _, name := range f.Seen {
			i := indexOf(name)
			if i < 0 {
				return nil, fmt.Errorf("field %q: unknown kind %q", f.Name, name)
			}
			s |= 1 << i
		}
		if _, dup := in.t.index[f.Name]; dup {
			return nil, fmt.Errorf("field %q listed twice", f.Name)
		}
		in.t.index[f.Name] = len(in.t.Fields)
		in.t.Fields = append(in.t.Fields, fieldState{Name: f.Name, Seen: s, MaxLen: f.MaxLen})
	}
	return in, nil
}

func indexOf(name string) int {
	for i, n := range seenNames {
		if n == name {
			return i
		}
	}
	return -1
}

// Field records one top-level value (key may alias a buffer the caller
// reuses: it is copied when kept) of an event's data and returns the
// field's index (fields are numbered in order of first appearance) and
// whether the field is new or its kind changed.
func (in *Inferrer) Field(key string, v gjson.Result) (i int, changed bool) {
	return in.FieldAt(-1, key, &v)
}

// FieldAt is Field with a guess of the field's index (the key's position
// in the document: most events of a type list their keys in the same
// order), which saves a map lookup when right. Of v it reads Type, Raw
// and, for strings, Str (the export builds such results itself without
// parsing numbers), and it takes v by pointer (a gjson.Result is 80
// bytes: copying it was a third of the call's cost in the export).
func (in *Inferrer) FieldAt(guess int, key string, v *gjson.Result) (i int, changed bool) {
	ok := false
	if guess >= 0 && guess < len(in.t.Fields) && in.t.Fields[guess].Name == key {
		i, ok = guess, true
	} else {
		i, ok = in.t.index[key]
	}
	if !ok {
		key = strings.Clone(key) // the caller's key may alias a reused buffer
		i = len(in.t.Fields)
		in.t.Fields = append(in.t.Fields, fieldState{Name: key})
		in.t.index[key] = i
		changed = true
	}
	f := &in.t.Fields[i]
	s, n := classify(v)
	if f.Seen|s != f.Seen {
		before := f.Seen.kind()
		f.Seen |= s
		changed = changed || f.Seen.kind() != before
	}
	if n > f.MaxLen {
		f.MaxLen = n
	}
	return i, changed
}

// Fields returns the current schema's fields.
func (in *Inferrer) Fields() []Field {
	out := make([]Field, len(in.t.Fields))
	for i, f := range in.t.Fields {
		out[i] = Field{Name: f.Name, Kind: f.Seen.kind(), MaxLen: f.MaxLen}
	}
	return out
}

// Saved returns the state to pass to NewInferrer later.
func (in *Inferrer) Saved() []SavedField {
	out := make([]SavedField, len(in.t.Fields))
	for i, f := range in.t.Fields {
		sf := SavedField{Name: f.Name, MaxLen: f.MaxLen, Seen: []string{}}
		for b, name := range seenNames {
			if f.Seen&(1<<b) != 0 {
				sf.Seen = append(sf.Seen, name)
			}
		}
		out[i] = sf
	}
	return out
}
