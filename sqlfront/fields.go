package sqlfront

import (
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/eventsql/eventsql/internal/jsonscan"
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
func (f fieldSet) lookup(key string) (int, bool) {
	if f.names == nil {
		slot, ok := f.index[key]
		return slot, ok
	}
	for i, n := range f.names {
		if n == key {
			return f.slots[i], true
		}
	}
	return 0, false
}

// scan calls set for each wanted field of the object in data (written as
// JSON, so valid), in document order. The value aliases data: copy text
// that must outlive it. Data that is not an object has no fields.
func (f fieldSet) scan(data []byte, set func(slot int, v gjson.Result)) {
	var obj jsonscan.Object
	if !obj.Reset(unsafe.String(unsafe.SliceData(data), len(data))) {
		return
	}
	var m jsonscan.Member
	for obj.Next(&m) {
		if slot, ok := f.lookup(m.Key); ok {
			set(slot, gjson.Parse(m.Val.Raw))
		}
	}
}
