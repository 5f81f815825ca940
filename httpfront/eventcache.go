package httpfront

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/internal/uuidtext"
)

// Bounds of the shared encoding cache: at most eventCacheSlots events of
// up to maxCachedEvent bytes of JSON each (16 MiB), a few MiB in practice.
const (
	eventCacheSlots = 4096
	maxCachedEvent  = 4 << 10
)

// eventCache shares the JSON encoding of recent events between
// subscriptions. Subscribers that follow the head read the same events
// at about the same time, and encoding an event costs more than reading
// it, so with many subscribers each event is encoded about once instead
// of once per subscriber. A slot is chosen by position modulo the number
// of slots, so the cache needs no eviction and stays bounded; entries are
// never stale because the event at a position never changes.
type eventCache struct {
	slots []atomic.Pointer[cachedEvent]
}

type cachedEvent struct {
	position uint64
	json     []byte
}

func newEventCache(slots int) *eventCache {
	return &eventCache{slots: make([]atomic.Pointer[cachedEvent], slots)}
}

// encode returns e as one line of JSON in the shape reads return. The
// result is shared: do not modify it.
func (c *eventCache) encode(e *engine.RecordedEvent) []byte {
	slot := &c.slots[e.Position%uint64(len(c.slots))]
	if ce := slot.Load(); ce != nil && ce.position == e.Position {
		return ce.json
	}
	b := appendEventJSON(make([]byte, 0, 256+len(e.Data)+len(e.Metadata)), e)
	if len(b) <= maxCachedEvent {
		slot.Store(&cachedEvent{position: e.Position, json: b})
	}
	return b
}

// appendEventJSON appends e as JSON on one line: the fields of eventJSON
// in its order, without reflection (on a subscription, encoding is most
// of the cost of an event). JSON data and metadata are copied as stored
// except that CR and LF become spaces: SSE ends a line at either, and in
// valid JSON they can only be whitespace between tokens.
func appendEventJSON(b []byte, e *engine.RecordedEvent) []byte {
	b = append(b, `{"position":`...)
	b = strconv.AppendUint(b, e.Position, 10)
	b = append(b, `,"stream":`...)
	b = appendQuoted(b, e.Stream)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, e.Version, 10)
	b = append(b, `,"eventId":"`...)
	b = uuidtext.Append(b, e.ID)
	b = append(b, `","eventType":`...)
	b = appendQuoted(b, e.Type)
	b = append(b, `,"created":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","data":`...)
	b = appendPayload(b, e.Data, e.DataIsJSON)
	if !e.DataIsJSON {
		b = append(b, `,"dataEncoding":"base64"`...)
	}
	if len(e.Metadata) > 0 {
		b = append(b, `,"metadata":`...)
		b = appendPayload(b, e.Metadata, e.MetadataIsJSON)
		if !e.MetadataIsJSON {
			b = append(b, `,"metadataEncoding":"base64"`...)
		}
	}
	return append(b, '}')
}

func appendPayload(b, p []byte, isJSON bool) []byte {
	if !isJSON {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, p)
		return append(b, '"')
	}
	if len(p) == 0 {
		return append(b, "null"...)
	}
	start := len(b)
	b = append(b, p...)
	if bytes.IndexByte(p, '\n') >= 0 || bytes.IndexByte(p, '\r') >= 0 {
		for i := start; i < len(b); i++ {
			if b[i] == '\n' || b[i] == '\r' {
				b[i] = ' '
			}
		}
	}
	return b
}

// appendQuoted appends s as a JSON string. Names are valid UTF-8 (the
// engine checks), so only quotes, backslashes and control characters
// need escaping.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[last:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		last = i + 1
	}
	b = append(b, s[last:]...)
	return append(b, '"')
}
