package engine

import (
	"encoding/json"
	"testing"
)

func FuzzValidJSONMatchesStd(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `1`, `"a"`, `{"a":[1,2,{"b":null}]}`, `{"a":`, `{"a" 1}`, "\"\xff\"", `01`, `1e5`,
		`-`, `[1,]`, `{"a":1,}`, `  true  `, `nul`, `"\u00e9"`, `"\ud800"`, "{\"a\":\"b\"}x", ``, `{"a":1}{"b":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}
