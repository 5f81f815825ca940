package typeinfer

import (
	"reflect"
	"testing"

	"github.com/tidwall/gjson"
)

// TestInferrerAgreesWithTypeState feeds the same documents to an Inferrer
// (field by field, with a save/restore in the middle) and to the
// Registry's typeState, and checks the schemas and change reports.
func TestInferrerAgreesWithTypeState(t *testing.T) {
	docs := []string{
		`{"a":1,"b":"x","n":null}`,
		`{"a":2,"c":true}`,
		`{"a":2.5,"d":"2026-01-02T03:04:05Z"}`,
		`{"b":"2026-01-02T03:04:05Z","n":null}`,
		`{"c":"no","d":"2026-01-02T03:04:05.5+01:00","n":3}`,
		`[1,2]`,
	}
	wantChanged := []bool{true, true, true, false, true, false}
	var ts typeState
	in, _ := NewInferrer(nil)
	for i, d := range docs {
		if i == 3 {
			var err error
			if in, err = NewInferrer(in.Saved()); err != nil {
				t.Fatal(err)
			}
		}
		ts.observe([]byte(d), true)
		changed := false
		doc := gjson.Parse(d)
		if doc.IsObject() {
			doc.ForEach(func(k, v gjson.Result) bool {
				_, c := in.Field(k.Str, v)
				changed = changed || c
				return true
			})
		}
		if changed != wantChanged[i] {
			t.Errorf("doc %d: changed %v, want %v", i, changed, wantChanged[i])
		}
	}
	if got, want := in.Fields(), ts.schema("T").Fields; !reflect.DeepEqual(got, want) {
		t.Fatalf("fields %+v, want %+v", got, want)
	}
}

func TestNewInferrerRejectsBadState(t *testing.T) {
	for _, saved := range [][]SavedField{
		{{Name: "a", Seen: []string{"bogus"}}},
		{{Name: "a", Seen: []string{"int"}}, {Name: "a", Seen: []string{"int"}}},
	} {
		if _, err := NewInferrer(saved); err == nil {
			t.Errorf("%+v accepted", saved)
		}
	}
}
