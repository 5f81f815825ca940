package sqlfront

import (
	"encoding/json"
	"testing"

	"github.com/tidwall/gjson"
)

// TestFieldSetMatchesGJSON: the one-pass scan finds the same values as
// walking the parsed document (last duplicate wins), for the fields asked.
func TestFieldSetMatchesGJSON(t *testing.T) {
	for _, doc := range fieldDocs {
		checkFieldSet(t, doc)
	}
}

var fieldDocs = []string{
	`{"a":1,"b":"x","c":true}`,
	` { "a" : 1.5e3 , "b" : "x\"y" ,"c":null } `,
	"{\n\t\"a\":[1,{\"b\":2}],\r\n\"b\":{\"a\":\"}]\\\"\",\"z\":[[]]},\"c\":false}",
	`{"x":"{\"a\":9}","a":-0.25,"b":"\u00e9t\u00e9","c":"ünïcode"}`,
	`{"a":1,"a":2,"b":"first","b":"last"}`,
	`{"a\"q":5,"b\\":6,"c.d":7,"a":"\\"}`,
	`{"a\u0062":8,"c":[1,2,3]}`,
	`{}`,
	`[]`,
	`"a"`,
	`12`,
	`{"a":{},"b":[],"c":""}`,
	`{"b":"\\\\","a":"x\\","c":"\\\""}`,
}

var fieldWanted = map[string]int{"a": 0, "b": 1, "c": 2, `a"q`: 3, `b\`: 4, "c.d": 5, "ab": 6}

// checkFieldSet compares the scan of doc with gjson's walk of it.
func checkFieldSet(t *testing.T, doc string) {
	t.Helper()
	got := map[int]string{}
	newFieldSet(fieldWanted).scan([]byte(doc), func(slot int, v gjson.Result) {
		got[slot] = v.Type.String() + ":" + v.Raw + ":" + v.String()
	})
	want := map[int]string{}
	if d := gjson.Parse(doc); d.IsObject() {
		d.ForEach(func(k, v gjson.Result) bool {
			if slot, ok := fieldWanted[k.Str]; ok {
				want[slot] = v.Type.String() + ":" + v.Raw + ":" + v.String()
			}
			return true
		})
	}
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", doc, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: slot %d = %q, want %q", doc, k, got[k], v)
		}
	}
}

// FuzzFieldSetMatchesGJSON: on any valid JSON the scan agrees with gjson.
func FuzzFieldSetMatchesGJSON(f *testing.F) {
	for _, doc := range fieldDocs {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if !json.Valid([]byte(doc)) {
			return
		}
		checkFieldSet(t, doc)
	})
}

// TestFieldSetTruncated: malformed input (never written, but a scan must
// not panic on it) yields at most the fields before the damage.
func TestFieldSetTruncated(t *testing.T) {
	doc := `{"a":1,"b":"text","c":[1,{"d":"}"}],"e":true}`
	fs := newFieldSet(map[string]int{"a": 0, "b": 1, "c": 2, "e": 3})
	for n := range len(doc) {
		fs.scan([]byte(doc[:n]), func(int, gjson.Result) {})
	}
}
