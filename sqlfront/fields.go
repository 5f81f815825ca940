package sqlfront

import (
	"unsafe"

	"github.com/tidwall/gjson"
)

// fieldSet finds the values of some top-level fields of a JSON object in
// one pass over its bytes: wanted values are parsed (gjson), every other
// value is only skipped (no number or string decoding), which is what a
// typed by_type column needs from each event. When a field appears more
// than once the last value counts, as in MySQL's JSON type (and in the
// typed Parquet export).
type fieldSet struct {
	index map[string]int // field name -> caller's slot
	// names and slots list the fields when they are few: comparing a
	// key with a handful of names beats hashing it.
	names []string
	slots []int
}

// maxListedFields is the most fields looked up by comparison.
const maxListedFields = 8

func newFieldSet(fields map[string]int) fieldSet {
	f := fieldSet{index: fields}
	if len(fields) <= maxListedFields {
		for name, slot := range fields {
			f.names = append(f.names, name)
			f.slots = append(f.slots, slot)
		}
	}
	return f
}

func (f fieldSet) empty() bool { return len(f.index) == 0 }

// lookup returns the slot of a field name.
func (f fieldSet) lookup(key []byte) (int, bool) {
	if f.names == nil {
		slot, ok := f.index[string(key)] // no allocation for a map lookup
		return slot, ok
	}
	for i, n := range f.names {
		if n == string(key) {
			return f.slots[i], true
		}
	}
	return 0, false
}

// scan calls set for each wanted field of the object in data (written as
// JSON, so valid), in document order. The value aliases data: copy text
// that must outlive it. Data that is not an object has no fields.
func (f fieldSet) scan(data []byte, set func(slot int, v gjson.Result)) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] != '"' {
			return // '}' or malformed
		}
		kStart := i
		kEnd, escaped := stringEnd(data, i)
		if kEnd < 0 {
			return
		}
		key := data[kStart+1 : kEnd-1]
		i = skipSpace(data, kEnd)
		if i >= len(data) || data[i] != ':' {
			return
		}
		i = skipSpace(data, i+1)
		vEnd := valueEnd(data, i)
		if vEnd < 0 {
			return
		}
		var slot int
		var ok bool
		if escaped {
			slot, ok = f.index[gjson.ParseBytes(data[kStart:kEnd]).Str]
		} else {
			slot, ok = f.lookup(key)
		}
		if ok {
			raw := data[i:vEnd]
			set(slot, gjson.Parse(unsafe.String(unsafe.SliceData(raw), len(raw))))
		}
		i = skipSpace(data, vEnd)
		if i >= len(data) || data[i] != ',' {
			return
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] ('"')
// and whether it holds escapes; -1 when it does not end.
func stringEnd(b []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, escaped
		case '\\':
			escaped = true
			j++
		}
	}
	return -1, false
}

// valueEnd returns the index just past the JSON value starting at b[i];
// -1 when it does not end.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := stringEnd(b, j)
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
	// A number, true, false or null.
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}
