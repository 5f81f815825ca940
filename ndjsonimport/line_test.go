package ndjsonimport

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/eventsql/eventsql/bench/importbench/gen"
)

func TestParseLine(t *testing.T) {
	const id = "2b3c4d5e-0000-4000-8000-000000000001"
	tests := []struct {
		name                    string
		line                    string
		stream, typ, data, meta string
		id                      string
		err                     string // substring; "" for success
	}{
		{name: "full", line: `{"stream":"cart-1","eventType":"ItemAdded","eventId":"` + id + `","data":{"sku":"A","n":[1,2,{"x":"}"}]},"metadata":{"by":"u1"}}`,
			stream: "cart-1", typ: "ItemAdded", id: id, data: `{"sku":"A","n":[1,2,{"x":"}"}]}`, meta: `{"by":"u1"}`},
		{name: "minimal", line: `{"stream":"s","eventType":"T"}`, stream: "s", typ: "T", data: "null"},
		{name: "spaces and order", line: " \t{ \"data\" : [ 1 , 2 ] , \"eventType\" : \"T\" , \"stream\" : \"s\" }\r",
			stream: "s", typ: "T", data: "[ 1 , 2 ]"},
		{name: "scalar data, null metadata and id", line: `{"stream":"s","eventType":"T","data":"text","metadata":null,"eventId":null}`,
			stream: "s", typ: "T", data: `"text"`},
		{name: "number data", line: `{"stream":"s","eventType":"T","data":-1.5e3}`, stream: "s", typ: "T", data: `-1.5e3`},
		{name: "escaped names", line: `{"stream":"cart-\u00e9\"q","eventType":"A\\B","data":1}`, stream: "cart-é\"q", typ: `A\B`, data: "1"},
		{name: "escaped key", line: `{"str\u0065am":"s","eventType":"T"}`, stream: "s", typ: "T", data: "null"},
		{name: "unknown fields ignored", line: `{"stream":"s","eventType":"T","position":7,"x":{"stream":"no"}}`, stream: "s", typ: "T", data: "null"},
		{name: "last repeat wins", line: `{"stream":"a","stream":"b","eventType":"T"}`, stream: "b", typ: "T", data: "null"},
		{name: "braced uuid", line: `{"stream":"s","eventType":"T","eventId":"{` + id + `}"}`, stream: "s", typ: "T", id: id, data: "null"},
		{name: "not JSON", line: `{"stream":"s",`, err: "invalid JSON"},
		{name: "trailing garbage", line: `{"stream":"s","eventType":"T"} x`, err: "invalid JSON"},
		{name: "two values", line: `{"stream":"s","eventType":"T"}{}`, err: "invalid JSON"},
		{name: "array", line: `[{"stream":"s"}]`, err: "not an object"},
		{name: "string", line: `"x"`, err: "not an object"},
		{name: "no stream", line: `{"eventType":"T","data":{}}`, err: `missing "stream"`},
		{name: "no type", line: `{"stream":"s","data":{}}`, err: `missing "eventType"`},
		{name: "empty type", line: `{"stream":"s","eventType":""}`, err: `must not be empty`},
		{name: "stream not a string", line: `{"stream":42,"eventType":"T"}`, err: `"stream" must be a string`},
		{name: "bad uuid", line: `{"stream":"s","eventType":"T","eventId":"nope"}`, err: "not a UUID"},
		{name: "uuid not a string", line: `{"stream":"s","eventType":"T","eventId":5}`, err: `"eventId" must be a string`},
		{name: "invalid data", line: `{"stream":"s","eventType":"T","data":{"a":01}}`, err: "invalid JSON"},
		{name: "control char in string", line: "{\"stream\":\"s\x01\",\"eventType\":\"T\"}", err: "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Line
			_, err := ParseLine([]byte(tt.line), &l, nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantID := uuid.Nil
			if tt.id != "" {
				wantID = uuid.MustParse(tt.id)
			}
			if string(l.Stream) != tt.stream || string(l.EventType) != tt.typ || string(l.Data) != tt.data ||
				string(l.Metadata) != tt.meta || l.EventID != wantID {
				t.Fatalf("got stream=%q type=%q data=%q meta=%q id=%v", l.Stream, l.EventType, l.Data, l.Metadata, l.EventID)
			}
		})
	}
}

// FuzzParseLine: no line makes the decoder panic, and whatever it
// accepts has a stream, an event type, and data and metadata that
// encoding/json accepts as JSON.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"stream":"cart-1","eventType":"ItemAdded","eventId":"2b3c4d5e-0000-4000-8000-000000000001","data":{"sku":"A"},"metadata":{"by":"u1"}}`))
	f.Add([]byte(`{"stream":"s","eventType":"T","data":[1,"]",{"a":null}],"metadata":null}`))
	f.Add([]byte(`{"str\u0065am":"a\"b","eventType":"T","data":"x"}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"stream":"s"`))
	f.Add([]byte(" {\"stream\" : \"s\" , \"eventType\":\"T\"}\r"))
	f.Fuzz(func(t *testing.T, line []byte) {
		var l Line
		if _, err := ParseLine(line, &l, nil); err != nil {
			return
		}
		if len(l.Stream) == 0 || len(l.EventType) == 0 {
			t.Fatalf("accepted %q without a stream or type", line)
		}
		if !json.Valid(l.Data) {
			t.Fatalf("accepted %q with invalid data %q", line, l.Data)
		}
		if l.Metadata != nil && !json.Valid(l.Metadata) {
			t.Fatalf("accepted %q with invalid metadata %q", line, l.Metadata)
		}
		// The names decode as encoding/json decodes them (escapes too;
		// encoding/json replaces invalid UTF-8, which the store refuses
		// in names anyway).
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(line, &fields); err != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", line, err)
		}
		for name, got := range map[string][]byte{"stream": l.Stream, "eventType": l.EventType} {
			var want string
			if !utf8.Valid(got) {
				continue
			}
			if err := json.Unmarshal(fields[name], &want); err != nil || want != string(got) {
				t.Fatalf("%q: %s = %q, encoding/json says %q (%v)", line, name, got, want, err)
			}
		}
	})
}

// BenchmarkParseLine decodes a generated ~330-byte line (bench/importbench/gen).
func BenchmarkParseLine(b *testing.B) {
	line := gen.Line(12345, gen.Options{})
	b.SetBytes(int64(len(line)))
	var l Line
	var scratch []byte
	for b.Loop() {
		var err error
		if scratch, err = ParseLine(line, &l, scratch); err != nil {
			b.Fatal(err)
		}
	}
}
