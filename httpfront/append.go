package httpfront

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"

	"github.com/eventsql/eventsql/engine"
)

// Content types of the EventStoreDB-style array body.
const (
	contentJSON   = "application/json"
	contentEvents = "application/vnd.eventstore.events+json"
	contentBinary = "application/octet-stream"
)

// eventBody is one element of the array body.
type eventBody struct {
	EventID   string            `json:"eventId"`
	EventType string            `json:"eventType"`
	Data      gojson.RawMessage `json:"data"`
	Metadata  gojson.RawMessage `json:"metadata"`
}

type appendResponse struct {
	FirstPosition       uint64 `json:"firstPosition"`
	LastPosition        uint64 `json:"lastPosition"`
	NextExpectedVersion int64  `json:"nextExpectedVersion"`
}

// appendToStream handles POST /streams/{stream} in both EventStoreDB
// styles: a JSON array of events, or one event's data with ES-EventType.
func (s *Server) appendToStream(w http.ResponseWriter, r *http.Request) {
	stream := r.PathValue("stream")
	expected, err := parseExpectedVersion(r.Header.Get("ES-ExpectedVersion"))
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.opts.MaxBodySize)))
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	events, err := decodeAppendBody(r.Header, body)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	res, err := s.store.Append(r.Context(), stream, expected, events...)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	sr := res.Streams[0]
	first := sr.NextExpectedVersion - int64(len(events)) + 1
	w.Header().Set("Location", "/streams/"+url.PathEscape(stream)+"/"+strconv.FormatInt(first, 10))
	writeJSON(w, http.StatusCreated, appendResponse{FirstPosition: res.FirstPosition, LastPosition: res.LastPosition,
		NextExpectedVersion: sr.NextExpectedVersion})
}

// decodeAppendBody turns a request body into events, by its content type
// and headers. Every problem is an invalid_input or 415 error.
func decodeAppendBody(h http.Header, body []byte) ([]engine.EventData, error) {
	ct, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if h.Get("Content-Type") == "" {
		ct, err = "", nil
	}
	if err != nil {
		return nil, newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "malformed Content-Type: "+err.Error())
	}
	if typ := h.Get("ES-EventType"); typ != "" {
		// One event: the body is its data.
		e := engine.EventData{Type: typ, Data: body}
		switch ct {
		case contentJSON:
			e.DataIsJSON = true
		case contentBinary, "":
		default:
			return nil, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
				fmt.Sprintf("Content-Type %q: with ES-EventType the body is the event's data: use %s or %s", ct, contentJSON, contentBinary))
		}
		if id := h.Get("ES-EventId"); id != "" {
			u, err := uuid.Parse(id)
			if err != nil {
				return nil, invalidInput("eventId", fmt.Sprintf("ES-EventId %q is not a UUID", id))
			}
			e.ID = u
		}
		return []engine.EventData{e}, nil
	}
	if ct != contentJSON && ct != contentEvents {
		return nil, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("Content-Type %q: send a JSON array of events as %s or %s, or one event's data with an ES-EventType header", ct, contentJSON, contentEvents))
	}
	var raw []eventBody
	if err := gojson.Unmarshal(body, &raw); err != nil {
		return nil, invalidInput("body", "the body must be a JSON array of events "+
			`[{"eventId":"<uuid>","eventType":"...","data":{...},"metadata":{...}}]: `+err.Error())
	}
	if len(raw) == 0 {
		return nil, invalidInput("body", "the array of events is empty")
	}
	events := make([]engine.EventData, len(raw))
	for i, b := range raw {
		if b.EventType == "" {
			return nil, invalidInput("eventType", fmt.Sprintf("event %d has no eventType", i))
		}
		e := engine.EventData{Type: b.EventType, Data: trimNull(b.Data), Metadata: trimNull(b.Metadata)}
		e.DataIsJSON = len(e.Data) > 0
		e.MetadataIsJSON = len(e.Metadata) > 0
		if e.Data == nil {
			e.Data = []byte("null")
			e.DataIsJSON = true
		}
		if b.EventID != "" {
			u, err := uuid.Parse(b.EventID)
			if err != nil {
				return nil, invalidInput("eventId", fmt.Sprintf("event %d: eventId %q is not a UUID", i, b.EventID))
			}
			e.ID = u
		}
		events[i] = e
	}
	return events, nil
}

// trimNull maps an absent or null JSON value to nil.
func trimNull(m gojson.RawMessage) []byte {
	if len(m) == 0 || bytes.Equal(bytes.TrimSpace(m), []byte("null")) {
		return nil
	}
	return m
}

func invalidInput(field, msg string) *apiError {
	e := newError(http.StatusBadRequest, "invalid_input", msg)
	e.Field = field
	return e
}

// parseExpectedVersion reads ES-ExpectedVersion: -2 any (default), -1 no
// stream, -4 stream exists, or a version.
func parseExpectedVersion(v string) (engine.ExpectedVersion, error) {
	if v == "" {
		return engine.ExpectAny, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || (n < 0 && n != -1 && n != -2 && n != -4) {
		return 0, invalidInput("expectedVersion", fmt.Sprintf("ES-ExpectedVersion %q: want -2 (any), -1 (no stream), -4 (stream exists) or a version >= 0", v))
	}
	return engine.ExpectedVersion(n), nil
}
