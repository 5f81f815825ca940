package httpfront

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/eventsql/eventsql/engine"
)

// maxMetadataBody bounds a metadata request body: the engine keeps at most
// 64 KiB of custom properties.
const maxMetadataBody = 128 << 10

// getMetadata handles GET /streams/{stream}/metadata: the stream's
// metadata in EventStoreDB's shape, $-keys and custom properties side by
// side: {"$maxCount":10,"$maxAge":3600,"$tb":5,"owner":"team-a"}.
func (s *Server) getMetadata(w http.ResponseWriter, r *http.Request) {
	stream := r.PathValue("stream")
	info, err := s.store.StreamInfo(r.Context(), stream)
	if errors.Is(err, engine.ErrStreamNotFound) {
		// EventStoreDB answers an empty object for a stream without metadata.
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	if info.Deleted == "hard" {
		writeError(w, s.logger, r, &engine.StreamError{Stream: stream, Err: engine.ErrStreamDeleted})
		return
	}
	b, err := encodeMetadata(info.Metadata)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

// setMetadata handles POST /streams/{stream}/metadata. The body replaces
// the metadata whole; {} clears it.
func (s *Server) setMetadata(w http.ResponseWriter, r *http.Request) {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	body, err := readBody(w, r, maxMetadataBody)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	meta, err := decodeMetadata(body)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	if err := s.store.SetStreamMetadata(r.Context(), r.PathValue("stream"), meta); err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	b, err := encodeMetadata(meta)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

// deleteStream handles DELETE /streams/{stream}: a soft delete, or a
// tombstone with ES-HardDelete: true. ES-ExpectedVersion applies.
func (s *Server) deleteStream(w http.ResponseWriter, r *http.Request) {
	expected, err := parseExpectedVersion(r.Header.Get("ES-ExpectedVersion"))
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	hard := false
	if v := r.Header.Get("ES-HardDelete"); v != "" {
		hard, err = strconv.ParseBool(v)
		if err != nil {
			writeError(w, s.logger, r, invalidInput("ES-HardDelete", fmt.Sprintf("ES-HardDelete %q: want true or false", v)))
			return
		}
	}
	if err := s.store.DeleteStream(r.Context(), r.PathValue("stream"), expected, hard); err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func checkJSONContentType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, _, _ := strings.Cut(ct, ";")
	switch strings.TrimSpace(strings.ToLower(mt)) {
	case contentJSON, "application/vnd.eventstore.streammetadata+json":
		return nil
	}
	return newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
		fmt.Sprintf("content type %q: metadata is application/json", ct))
}

// decodeMetadata parses an EventStoreDB metadata object. $maxCount,
// $maxAge (seconds) and $tb are understood; other $-keys are refused
// rather than silently ignored; every other key is a custom property.
func decodeMetadata(body []byte) (engine.StreamMetadata, error) {
	var meta engine.StreamMetadata
	var fields map[string]gojson.RawMessage
	dec := gojson.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return meta, invalidInput("metadata", "metadata must be a JSON object")
	}
	if dec.More() {
		return meta, invalidInput("metadata", "metadata must be one JSON object")
	}
	custom := map[string]gojson.RawMessage{}
	for k, v := range fields {
		if !strings.HasPrefix(k, "$") {
			custom[k] = v
			continue
		}
		var dst *int64
		least := int64(0)
		switch k {
		case "$maxCount":
			// 0 is how the store says "unset": refused rather than
			// silently dropped (EventStoreDB's minimum is 1 too).
			dst, least = &meta.MaxCount, 1
		case "$tb":
			dst = &meta.TruncateBefore
		case "$maxAge":
			var secs int64
			if err := decodeCount(k, v, &secs, 1); err != nil {
				return meta, err
			}
			if secs > int64(1<<63-1)/int64(time.Second) {
				return meta, invalidInput(k, fmt.Sprintf("%s of %d seconds is too large", k, secs))
			}
			meta.MaxAge = time.Duration(secs) * time.Second
			continue
		default:
			return meta, invalidInput(k, fmt.Sprintf("%s is not supported (known: $maxCount, $maxAge, $tb)", k))
		}
		if err := decodeCount(k, v, dst, least); err != nil {
			return meta, err
		}
	}
	if len(custom) > 0 {
		b, err := gojson.Marshal(custom)
		if err != nil {
			return meta, fmt.Errorf("encode custom metadata: %w", err)
		}
		meta.Custom = b
	}
	return meta, nil
}

// decodeCount decodes an integer of at least least (0 or 1); null means
// unset (0).
func decodeCount(key string, v gojson.RawMessage, dst *int64, least int64) error {
	if string(v) == "null" {
		*dst = 0
		return nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < least {
		want := "a non-negative integer"
		if least > 0 {
			want = fmt.Sprintf("an integer >= %d (null unsets it)", least)
		}
		return invalidInput(key, fmt.Sprintf("%s must be %s, got %s", key, want, v))
	}
	*dst = n
	return nil
}

// encodeMetadata renders metadata as one object with sorted keys.
func encodeMetadata(meta engine.StreamMetadata) ([]byte, error) {
	fields := map[string]gojson.RawMessage{}
	if len(meta.Custom) > 0 {
		if err := gojson.Unmarshal(meta.Custom, &fields); err != nil {
			return nil, fmt.Errorf("decode stored custom metadata: %w", err)
		}
	}
	if meta.MaxCount > 0 {
		fields["$maxCount"] = gojson.RawMessage(strconv.FormatInt(meta.MaxCount, 10))
	}
	if meta.MaxAge > 0 {
		fields["$maxAge"] = gojson.RawMessage(strconv.FormatInt(int64(meta.MaxAge/time.Second), 10))
	}
	if meta.TruncateBefore > 0 {
		fields["$tb"] = gojson.RawMessage(strconv.FormatInt(meta.TruncateBefore, 10))
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(quote(k))
		buf.WriteByte(':')
		buf.Write(fields[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
