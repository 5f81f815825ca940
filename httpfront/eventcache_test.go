package httpfront

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"

	"github.com/eventsql/eventsql/engine"
)

// checkSameAsReads checks that appendEventJSON gives one line of JSON
// equal in value to what reads return for e.
func checkSameAsReads(t *testing.T, e *engine.RecordedEvent) {
	t.Helper()
	got := appendEventJSON(nil, e)
	want, err := gojson.Marshal(toEventJSON(e))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(got) || bytes.ContainsAny(got, "\r\n") {
		t.Fatalf("not one line of JSON: %q", got)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("appendEventJSON = %s\nreads give      %s", got, want)
	}
}

func TestAppendEventJSONMatchesReads(t *testing.T) {
	created := time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)
	id := uuid.MustParse("6f1c1c3e-1b1a-4c1a-9a1a-000000000001")
	for _, tt := range []struct {
		name         string
		stream, typ  string
		data, meta   []byte
		dataJ, metaJ bool
	}{
		{"plain", "cart-1", "ItemAdded", []byte(`{"sku":"A"}`), nil, true, false},
		{"metadata", "cart-1", "ItemAdded", []byte(`{"sku":"A"}`), []byte(`{"by":"u1"}`), true, true},
		{"binary data and metadata", "blob-1", "Blob", []byte{0, 1, 2, 255}, []byte("m\n"), false, false},
		{"JSON with newlines", "s", "T", []byte("{\"a\":\r\n [1,\n 2],\t\"b\": \"x\"}\n"), []byte("[\n]"), true, true},
		{"null data", "s", "T", []byte("null"), nil, true, false},
		{"scalar data", "s", "T", []byte(`"text"`), nil, true, false},
		{"names to escape", "a\"b\\c\x01\x1f\t\n\r-1", "T<>&\u2028é😀\x7f", []byte(`1`), nil, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkSameAsReads(t, &engine.RecordedEvent{Position: 42, Stream: tt.stream, Version: 7, ID: id, Type: tt.typ, CreatedAt: created,
				Data: tt.data, DataIsJSON: tt.dataJ, Metadata: tt.meta, MetadataIsJSON: tt.metaJ})
		})
	}
}

func FuzzAppendEventJSON(f *testing.F) {
	f.Add("cart-1", "E", []byte(`{"a":1}`), true, []byte(nil), false)
	f.Add("a\"\\\x01", "\u2028", []byte("\x00\xff"), false, []byte("[1,\r\n2]"), true)
	f.Fuzz(func(t *testing.T, stream, typ string, data []byte, dataJSON bool, meta []byte, metaJSON bool) {
		// What the engine accepts: UTF-8 names without NUL, valid JSON
		// where declared.
		for _, name := range []string{stream, typ} {
			if name == "" || !utf8.ValidString(name) || bytes.IndexByte([]byte(name), 0) >= 0 {
				return
			}
		}
		if (dataJSON && !json.Valid(data)) || (metaJSON && len(meta) > 0 && !json.Valid(meta)) {
			return
		}
		checkSameAsReads(t, &engine.RecordedEvent{Position: 1, Stream: stream, Type: typ, CreatedAt: time.Unix(1, 5).UTC(),
			Data: data, DataIsJSON: dataJSON, Metadata: meta, MetadataIsJSON: metaJSON})
	})
}

func TestEventCacheIsNeverStale(t *testing.T) {
	c := newEventCache(4)
	e := &engine.RecordedEvent{Position: 3, Stream: "a-1", Type: "E", Data: []byte(`1`), DataIsJSON: true}
	first := c.encode(e)
	if again := c.encode(e); &again[0] != &first[0] {
		t.Fatal("the second encoding of a position was not shared")
	}
	other := &engine.RecordedEvent{Position: 7, Stream: "b-1", Type: "F", Data: []byte(`2`), DataIsJSON: true} // same slot
	if got := c.encode(other); !bytes.Contains(got, []byte(`"b-1"`)) {
		t.Fatalf("slot reuse returned the old event: %s", got)
	}
	if got := c.encode(e); !bytes.Contains(got, []byte(`"a-1"`)) {
		t.Fatalf("= %s", got)
	}
}
