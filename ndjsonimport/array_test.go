package ndjsonimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseArray(t *testing.T) {
	const id = "2b3c4d5e-0000-4000-8000-000000000001"
	type ev struct{ typ, id, data, meta string }
	tests := []struct {
		name  string
		body  string
		want  []ev
		err   string // substring; "" for success
		field string // FieldError.Field when err names one
		index int    // ElementError.Index when err names one
	}{
		{name: "two events", body: `[{"eventId":"` + id + `","eventType":"ItemAdded","data":{"sku":"A"},"metadata":{"by":"u1"}},
			{"eventType":"ItemAdded","data":{"sku":"B"}}]`,
			want: []ev{{"ItemAdded", id, `{"sku":"A"}`, `{"by":"u1"}`}, {"ItemAdded", "", `{"sku":"B"}`, ""}}},
		{name: "spaces", body: " [ { \"eventType\" : \"T\" , \"data\" : [ 1 ] } ] \n", want: []ev{{"T", "", "[ 1 ]", ""}}},
		{name: "no data, null metadata, stream ignored", body: `[{"eventType":"T","metadata":null,"stream":"x"}]`, want: []ev{{"T", "", "null", ""}}},
		{name: "empty", body: `[ ]`, err: "empty"},
		{name: "not an array", body: `{"eventType":"E"}`, err: "not an array"},
		{name: "malformed", body: `[{"eventType":`, err: "invalid JSON"},
		{name: "empty body", body: ``, err: "invalid JSON"},
		{name: "trailing comma", body: `[{"eventType":"T"},]`, err: "invalid JSON"},
		{name: "after the array", body: `[{"eventType":"T"}] x`, err: "invalid JSON"},
		{name: "second element bad JSON", body: `[{"eventType":"T"},{"eventType":"T","data":01}]`, err: "invalid JSON"},
		{name: "element not an object", body: `[{"eventType":"T"},3]`, err: "event 1: a JSON number, not an object", index: 1},
		{name: "no type", body: `[{"eventType":"T"},{"data":{}}]`, err: `event 1: missing "eventType"`, field: "eventType", index: 1},
		{name: "bad uuid", body: `[{"eventId":"nope","eventType":"E"}]`, err: "not a UUID", field: "eventId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []ev
			_, err := ParseArray([]byte(tt.body), nil, func(i int, l *Line) error {
				if i != len(got) {
					t.Fatalf("element index %d, want %d", i, len(got))
				}
				e := ev{string(l.EventType), "", string(l.Data), string(l.Metadata)}
				if l.EventID != [16]byte{} {
					e.id = l.EventID.String()
				}
				got = append(got, e)
				return nil
			})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				var fe *FieldError
				if tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field) {
					t.Fatalf("err = %v, want a FieldError for %q", err, tt.field)
				}
				var ee *ElementError
				if errors.As(err, &ee) && ee.Index != tt.index {
					t.Fatalf("element %d, want %d", ee.Index, tt.index)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("event %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// FuzzParseArrayMatchesStd: ParseArray accepts a body only if it is
// valid JSON, and then finds the same elements, types and data that
// encoding/json finds. The HTTP append path tells the store the data is
// valid JSON on the strength of this.
func FuzzParseArrayMatchesStd(f *testing.F) {
	f.Add([]byte(`[{"eventId":"2b3c4d5e-0000-4000-8000-000000000001","eventType":"A","data":{"k":[1,"]"]},"metadata":{"by":"u"}}]`))
	f.Add([]byte(`[{"eventType":"A"},{"eventType":"B","data":"x","metadata":null}]`))
	f.Add([]byte(`[{"eventType":"A\u0042","data":1e5}, {"eventType":"C","data":{"a":{}}}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"eventType":"A"},]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		type elem struct {
			EventType string          `json:"eventType"`
			Data      json.RawMessage `json:"data"`
			Metadata  json.RawMessage `json:"metadata"`
		}
		var n int
		_, err := ParseArray(body, nil, func(i int, l *Line) error {
			n++
			if !json.Valid(l.Data) || l.Metadata != nil && !json.Valid(l.Metadata) {
				t.Fatalf("element %d: invalid data %q or metadata %q", i, l.Data, l.Metadata)
			}
			return nil
		})
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var std []elem
		if err := json.Unmarshal(body, &std); err != nil {
			// encoding/json is case-insensitive about keys and so may see
			// other fields; it must still agree that the body is an array.
			if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
				t.Fatalf("accepted %q which is not an array: %v", body, err)
			}
			return
		}
		if len(std) != n {
			t.Fatalf("%q: %d elements, encoding/json sees %d", body, n, len(std))
		}
		i := 0
		_, _ = ParseArray(body, nil, func(_ int, l *Line) error {
			if std[i].EventType != string(l.EventType) && !caseFolded(body) {
				t.Fatalf("%q: element %d type %q, encoding/json %q", body, i, l.EventType, std[i].EventType)
			}
			i++
			return nil
		})
	})
}

// caseFolded reports whether body may hold keys that encoding/json's
// case-insensitive matching reads differently (e.g. "EVENTTYPE").
func caseFolded(body []byte) bool {
	lower := bytes.ToLower(body)
	return bytes.Count(lower, []byte(`eventtype`)) != bytes.Count(body, []byte(`eventType`)) ||
		bytes.Contains(body, []byte(`\u`)) || bytes.Count(body, []byte(`"eventType"`)) > 1
}
