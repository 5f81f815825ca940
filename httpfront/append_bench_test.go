package httpfront

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
)

// BenchmarkDecodeAppendBody decodes a 100-event array body of ~200-byte
// events, the shape of the HTTP append benchmark (bench/httpbench).
func BenchmarkDecodeAppendBody(b *testing.B) {
	var body bytes.Buffer
	body.WriteByte('[')
	for i := range 100 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"eventId":"2b3c4d5e-0000-4000-8000-%012d","eventType":"ItemAdded","data":{"sku":"SKU-%06d","qty":%d,"price":%d.99,"note":"a short note about the item"},"metadata":{"user":"u-%d","source":"web"}}`,
			i, i, i%7+1, i%100, i%50)
	}
	body.WriteByte(']')
	h := http.Header{}
	h.Set("Content-Type", contentJSON)
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		events, _, err := decodeAppendBody(h, body.Bytes())
		if err != nil || len(events) != 100 {
			b.Fatal(err, len(events))
		}
	}
}
