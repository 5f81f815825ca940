package httpfront

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/ndjsonimport"
)

// Content types of the EventStoreDB-style array body.
const (
	contentJSON   = "application/json"
	contentEvents = "application/vnd.eventstore.events+json"
	contentBinary = "application/octet-stream"
)

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
	body, err := readBody(w, r, int64(s.opts.MaxBodySize))
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	events, validated, err := decodeAppendBody(r.Header, body)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	res, err := s.store.Apply(r.Context(), engine.Command{
		Appends:       []engine.StreamAppend{{Stream: stream, Expected: expected, Events: events}},
		JSONValidated: validated,
	})
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	sr := res.Streams[0]
	first := sr.NextExpectedVersion - int64(len(events)) + 1
	h := w.Header()
	h["Location"] = []string{"/streams/" + url.PathEscape(stream) + "/" + strconv.FormatInt(first, 10)}
	writeAppendResponse(w, appendResponse{FirstPosition: res.FirstPosition, LastPosition: res.LastPosition,
		NextExpectedVersion: sr.NextExpectedVersion})
}

// writeAppendResponse writes the 201 reply of an append: the bytes
// writeJSON would write, without reflection (the reply of every append;
// TestAppendResponseMatchesEncoder compares the two).
func writeAppendResponse(w http.ResponseWriter, r appendResponse) {
	b := make([]byte, 0, 96)
	b = append(b, `{"firstPosition":`...)
	b = strconv.AppendUint(b, r.FirstPosition, 10)
	b = append(b, `,"lastPosition":`...)
	b = strconv.AppendUint(b, r.LastPosition, 10)
	b = append(b, `,"nextExpectedVersion":`...)
	b = strconv.AppendInt(b, r.NextExpectedVersion, 10)
	b = append(b, "}\n"...)
	h := w.Header()
	h["Content-Type"] = []string{contentJSON}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusCreated)
	w.Write(b)
}

// decodeAppendBody turns a request body into events, by its content type
// and headers. Every problem is an invalid_input or 415 error. validated
// says the JSON of every event was checked while decoding (the array
// style), so the store need not check it again.
func decodeAppendBody(h http.Header, body []byte) (events []engine.EventData, validated bool, err error) {
	ct, err := mediaType(h.Get("Content-Type"))
	if err != nil {
		return nil, false, newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "malformed Content-Type: "+err.Error())
	}
	if typ := h.Get("ES-EventType"); typ != "" {
		// One event: the body is its data.
		e := engine.EventData{Type: typ, Data: body}
		switch ct {
		case contentJSON:
			e.DataIsJSON = true
		case contentBinary, "":
		default:
			return nil, false, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
				fmt.Sprintf("Content-Type %q: with ES-EventType the body is the event's data: use %s or %s", ct, contentJSON, contentBinary))
		}
		if id := h.Get("ES-EventId"); id != "" {
			u, err := uuid.Parse(id)
			if err != nil {
				return nil, false, invalidInput("eventId", fmt.Sprintf("ES-EventId %q is not a UUID", id))
			}
			e.ID = u
		}
		return []engine.EventData{e}, false, nil
	}
	if ct != contentJSON && ct != contentEvents {
		return nil, false, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("Content-Type %q: send a JSON array of events as %s or %s, or one event's data with an ES-EventType header", ct, contentJSON, contentEvents))
	}
	events = make([]engine.EventData, 0, estimateEvents(body))
	var lastType string
	_, err = ndjsonimport.ParseArray(body, nil, func(i int, l *ndjsonimport.Line) error {
		if string(l.EventType) != lastType { // consecutive events mostly share a type
			lastType = string(l.EventType)
		}
		e := engine.EventData{ID: l.EventID, Type: lastType, Data: l.Data, Metadata: l.Metadata, DataIsJSON: true}
		e.MetadataIsJSON = len(e.Metadata) > 0
		events = append(events, e)
		return nil
	})
	if err != nil {
		return nil, false, arrayError(err)
	}
	if err := checkDistinctIDs(events); err != nil {
		return nil, false, err
	}
	return events, true, nil
}

// checkDistinctIDs refuses an array that gives one event id to two of
// its events: a request that contradicts itself (400, nothing written),
// not a conflict with what is stored (409 duplicate_event_id).
func checkDistinctIDs(events []engine.EventData) error {
	dup := func(i, j int) error {
		return invalidInput("eventId", fmt.Sprintf("event %d: eventId %s is also the id of event %d of this request; every event needs its own id",
			j, events[j].ID, i))
	}
	if len(events) <= 16 { // the usual small append: no map
		for j := 1; j < len(events); j++ {
			if events[j].ID == uuid.Nil {
				continue
			}
			for i := range j {
				if events[i].ID == events[j].ID {
					return dup(i, j)
				}
			}
		}
		return nil
	}
	seen := make(map[uuid.UUID]int, len(events))
	for j, e := range events {
		if e.ID == uuid.Nil {
			continue
		}
		if i, ok := seen[e.ID]; ok {
			return dup(i, j)
		}
		seen[e.ID] = j
	}
	return nil
}

// mediaType returns the media type of a Content-Type header value ("" for
// none). The usual bare values skip mime.ParseMediaType, which allocates a
// parameter map for every request.
func mediaType(v string) (string, error) {
	switch v {
	case "", contentJSON, contentEvents, contentBinary:
		return v, nil
	}
	ct, _, err := mime.ParseMediaType(v)
	return ct, err
}

// arrayError maps a ParseArray error to invalid_input, naming the field
// when an element is at fault.
func arrayError(err error) error {
	if errors.Is(err, ndjsonimport.ErrEmptyArray) {
		return invalidInput("body", err.Error())
	}
	var ee *ndjsonimport.ElementError
	if errors.As(err, &ee) {
		field := "body"
		var fe *ndjsonimport.FieldError
		if errors.As(err, &fe) {
			field = fe.Field
		}
		return invalidInput(field, err.Error())
	}
	return invalidInput("body", "the body must be a JSON array of events "+
		`[{"eventId":"<uuid>","eventType":"...","data":{...},"metadata":{...}}]: `+err.Error())
}

// estimateEvents guesses how many events a body holds, to size the slice
// once: one per "eventType" key is exact for ordinary bodies.
func estimateEvents(body []byte) int {
	n := bytes.Count(body, []byte(`"eventType"`))
	return max(n, 1)
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
