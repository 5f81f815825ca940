package jsonscan

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// members lists what the scanner finds in doc, one line per member.
func members(doc string) (string, bool) {
	var sc Object
	if !sc.Reset(doc) {
		return "", false
	}
	var b strings.Builder
	var m Member
	for sc.Next(&m) {
		r := m.Val
		fmt.Fprintf(&b, "%q %v %q %q\n", m.Key, r.Type, r.Raw, r.Str)
	}
	return b.String(), true
}

// gjsonMembers lists what gjson's ForEach finds (the reference).
func gjsonMembers(doc string) (string, bool) {
	d := gjson.Parse(doc)
	if !d.IsObject() {
		return "", false
	}
	var b strings.Builder
	d.ForEach(func(k, v gjson.Result) bool {
		fmt.Fprintf(&b, "%q %v %q %q\n", k.Str, v.Type, v.Raw, v.Str)
		return true
	})
	return b.String(), true
}

func TestObject(t *testing.T) {
	for _, doc := range []string{
		`{}`,
		` { "a" : 1 , "b":-2.5e+3,"c":true,"d":false,"e":null } `,
		`{"s":"plain","t":"with \"quotes\" and \\ and \u00e9","k\"ey":"v","k\\":1}`,
		`{"o":{"x":[1,{"y":"}]"}],"z":"{"},"a":[[],{}],"after":"x"}`,
		`{"a":1,"a":2}`,
		"{\n\t\"nl\":\r\n\"x\"\n}",
		`{"emoji":"😀","nul":"\u0000"}`,
		`[1,2]`, `"str"`, `12`, `null`, ``, `   `,
	} {
		got, gotObj := members(doc)
		want, wantObj := gjsonMembers(doc)
		if got != want || gotObj != wantObj {
			t.Errorf("%s:\ngot  (%v)\n%s\nwant (%v)\n%s", doc, gotObj, got, wantObj, want)
		}
	}
}

// TestObjectInvalid: text that is not valid JSON (never exported
// as JSON: the log validates it) must not make the scanner read out of
// bounds or loop; it just stops.
func TestObjectInvalid(t *testing.T) {
	for _, doc := range []string{`{`, `{"a`, `{"a"`, `{"a":`, `{"a":"x`, `{"a":{"b":1`, `{"a":tru`, `{"a":-}`, `{"a":1 "b":2}`, `{"a\`, `{"a":"\`, `{:1}`} {
		var sc Object
		sc.Reset(doc)
		var m Member
		for n := 0; sc.Next(&m); n++ {
			if n > len(doc) {
				t.Fatalf("%s: does not stop", doc)
			}
		}
	}
}

// FuzzObjectMatchesGJSON: on every valid JSON document the
// scanner finds the members gjson's ForEach finds, with the same kinds, texts and strings.
func FuzzObjectMatchesGJSON(f *testing.F) {
	f.Add(`{"a":1,"b":"x\"y","c":[1,{"d":"]"}],"e":null,"f":true,"g":-1.5E-3}`)
	f.Add(`{"k\u00e9y":"v\n","":{}}`)
	f.Add(`[{"a":1}]`)
	f.Fuzz(func(t *testing.T, doc string) {
		if !json.Valid([]byte(doc)) {
			members(doc) // must not panic
			return
		}
		got, gotObj := members(doc)
		want, wantObj := gjsonMembers(doc)
		if got != want || gotObj != wantObj {
			t.Fatalf("%s:\ngot  (%v)\n%s\nwant (%v)\n%s", doc, gotObj, got, wantObj, want)
		}
	})
}
