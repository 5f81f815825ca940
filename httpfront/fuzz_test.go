package httpfront

import (
	"encoding/json"
	"net/http"
	"testing"
)

// FuzzDecodeAppendBody: no body, content type or header makes the decoder
// panic, and everything it accepts has an event type and valid UUIDs.
func FuzzDecodeAppendBody(f *testing.F) {
	f.Add("application/json", "", "", []byte(`[{"eventId":"2b3c4d5e-0000-4000-8000-000000000001","eventType":"E","data":{"a":1},"metadata":{}}]`))
	f.Add("application/vnd.eventstore.events+json", "", "", []byte(`[{"eventType":"E","data":null}]`))
	f.Add("application/json", "E", "2b3c4d5e-0000-4000-8000-000000000001", []byte(`{"x":[1,2]}`))
	f.Add("application/octet-stream", "Blob", "", []byte{0, 1, 2})
	f.Add("text/plain; charset=utf-8", "", "", []byte(`[`))
	f.Add("application/json; charset=utf-8", "", "", []byte(`[{"eventType":"","data":1}]`))
	f.Fuzz(func(t *testing.T, contentType, eventType, eventID string, body []byte) {
		h := http.Header{}
		h.Set("Content-Type", contentType)
		if eventType != "" {
			h.Set("ES-EventType", eventType)
		}
		if eventID != "" {
			h.Set("ES-EventId", eventID)
		}
		events, validated, err := decodeAppendBody(h, body)
		if err != nil {
			if e := toAPIError(err); e.Status != 400 && e.Status != 415 {
				t.Fatalf("status %d for a bad body", e.Status)
			}
			return
		}
		if len(events) == 0 {
			t.Fatal("accepted a body with no events")
		}
		ids := map[[16]byte]bool{}
		for _, e := range events {
			if e.ID != [16]byte{} {
				if ids[e.ID] {
					t.Fatalf("accepted the event id %s twice", e.ID)
				}
				ids[e.ID] = true
			}
			if e.Type == "" {
				t.Fatal("accepted an event without a type")
			}
			// What the decoder vouches for must hold: the store trusts it.
			if validated && (e.DataIsJSON && !json.Valid(e.Data) || e.MetadataIsJSON && !json.Valid(e.Metadata)) {
				t.Fatalf("declared validated JSON that is not: data %q metadata %q", e.Data, e.Metadata)
			}
		}
	})
}
