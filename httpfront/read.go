package httpfront

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"

	"github.com/eventsql/eventsql/engine"
)

const (
	defaultPageSize = 20
	maxPageSize     = 4096
)

// eventJSON is an event in responses. Data and metadata are JSON when the
// event was written as JSON, otherwise base64 text with dataEncoding set.
type eventJSON struct {
	Position         uint64            `json:"position"`
	Stream           string            `json:"stream"`
	Version          int64             `json:"version"`
	EventID          string            `json:"eventId"`
	EventType        string            `json:"eventType"`
	Created          string            `json:"created"`
	Data             gojson.RawMessage `json:"data"`
	DataEncoding     string            `json:"dataEncoding,omitempty"`
	Metadata         gojson.RawMessage `json:"metadata,omitempty"`
	MetadataEncoding string            `json:"metadataEncoding,omitempty"`
}

func toEventJSON(e *engine.RecordedEvent) eventJSON {
	j := eventJSON{Position: e.Position, Stream: e.Stream, Version: e.Version, EventID: e.ID.String(),
		EventType: e.Type, Created: e.CreatedAt.Format(time.RFC3339Nano)}
	j.Data, j.DataEncoding = payloadJSON(e.Data, e.DataIsJSON)
	if len(e.Metadata) > 0 {
		j.Metadata, j.MetadataEncoding = payloadJSON(e.Metadata, e.MetadataIsJSON)
	}
	return j
}

func payloadJSON(b []byte, isJSON bool) (gojson.RawMessage, string) {
	if isJSON {
		return b, ""
	}
	s, _ := gojson.Marshal(base64.StdEncoding.EncodeToString(b))
	return s, "base64"
}

type pageParams struct {
	from     int64
	hasFrom  bool
	count    int
	backward bool
}

func parsePage(q url.Values) (pageParams, error) {
	p := pageParams{count: defaultPageSize}
	if v := q.Get("from"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < -1 {
			return p, invalidInput("from", fmt.Sprintf("from=%q is not a version or position", v))
		}
		p.from, p.hasFrom = n, true
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return p, invalidInput("count", fmt.Sprintf("count=%q: want 1..%d", v, maxPageSize))
		}
		p.count = n
	}
	switch q.Get("direction") {
	case "", "forward":
	case "backward":
		p.backward = true
	default:
		return p, invalidInput("direction", fmt.Sprintf("direction=%q: want forward or backward", q.Get("direction")))
	}
	return p, nil
}

// readStream handles GET /streams/{stream} and GET /streams/$all.
func (s *Server) readStream(w http.ResponseWriter, r *http.Request) {
	s.readFeed(w, r, streamFeed(r.PathValue("stream")))
}

// readType handles GET /types/{type}.
func (s *Server) readType(w http.ResponseWriter, r *http.Request) {
	s.readFeed(w, r, feed{kind: feedType, name: r.PathValue("type")})
}

// readCategory handles GET /categories/{category}.
func (s *Server) readCategory(w http.ResponseWriter, r *http.Request) {
	s.readFeed(w, r, feed{kind: feedCategory, name: r.PathValue("category")})
}

// readFeed answers one page of f. A type or category without events is
// an empty page, not a 404: it is a query, and clients may follow it
// before its first event exists.
//
// With ES-LongPoll, a forward read that finds nothing (an empty page at
// the head, a version not written yet, a stream that does not exist yet)
// waits for the next commit and reads again, until the wait ends; the
// last try answers whatever there is then. A stream deleted while the
// read waits answers at once: 410 when hard-deleted, and 404 when
// soft-deleted (only a stream missing from the start waits to appear).
func (s *Server) readFeed(w http.ResponseWriter, r *http.Request, f feed) {
	p, err := parsePage(r.URL.Query())
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	wait, err := parseLongPoll(r.Header.Get("ES-LongPoll"), s.tail.opts.MaxLongPoll)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	from := p.from
	if !p.hasFrom && p.backward {
		from = -1
	}
	waiting := wait > 0 && !p.backward
	var waitCtx context.Context
	if waiting {
		ctx, cancel := s.tail.context(r.Context())
		defer cancel()
		ctx, cancelWait := context.WithTimeout(ctx, wait)
		defer cancelWait()
		waitCtx = ctx
	}
	found := false // the stream was there at an earlier try
	for {
		mark := s.store.CommitMark() // before the read: no commit is missed
		it, err := f.open(r.Context(), s.store, from, p.backward, p.count)
		if err != nil {
			if waiting && !found && errors.Is(err, engine.ErrStreamNotFound) {
				waiting = s.waitAfter(waitCtx, mark)
				continue
			}
			writeError(w, s.logger, r, err)
			return
		}
		found = true
		has := it.Next()
		if !has && it.Err() == nil && waiting {
			it.Close()
			waiting = s.waitAfter(waitCtx, mark)
			continue
		}
		s.writePage(w, r, f, p, it, has)
		it.Close()
		return
	}
}

// writePage streams a page of events as JSON, with a link to the next
// page. has is the result of the first it.Next().
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, f feed, p pageParams, it *engine.EventIterator, has bool) {
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	direction := "forward"
	if p.backward {
		direction = "backward"
	}
	fmt.Fprintf(bw, `{%q:%s,"direction":%q,"events":[`, f.pageKey(), quote(f.name), direction)
	n := 0
	var last int64
	for ok := has; ok; ok = it.Next() {
		e := it.Event()
		if n > 0 {
			bw.WriteByte(',')
		}
		b, err := gojson.Marshal(toEventJSON(e))
		if err != nil {
			s.logger.Error("encode event", "err", err)
			break
		}
		bw.Write(b)
		n++
		last = f.seq(e)
	}
	if err := it.Err(); err != nil {
		s.logger.Error("read failed mid-page", "path", r.URL.Path, "err", err)
	}
	next := "null"
	if n > 0 && n == p.count {
		from := last + 1
		// Versions start at 0, positions at 1 (and position 0 going
		// backward would mean "from the end").
		first := int64(1)
		if f.byVersion() {
			first = 0
		}
		if p.backward {
			from = last - 1
		}
		if from >= first {
			q := url.Values{"from": {strconv.FormatInt(from, 10)}, "count": {strconv.Itoa(p.count)}}
			if p.backward {
				q.Set("direction", "backward")
			}
			next = quote(f.path() + "?" + q.Encode())
		}
	}
	fmt.Fprintf(bw, `],"next":%s}`+"\n", next)
	bw.Flush()
}

func quote(s string) string {
	b, _ := gojson.Marshal(s)
	return string(b)
}

// getEvent handles GET /events/{id}.
func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeError(w, s.logger, r, invalidInput("eventId", fmt.Sprintf("%q is not a UUID", r.PathValue("id"))))
		return
	}
	e, err := s.store.GetEvent(r.Context(), id)
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEventJSON(e))
}

// getStreamEvent handles GET /streams/{stream}/{version}: one event of a
// stream, where the Location of an append points.
func (s *Server) getStreamEvent(w http.ResponseWriter, r *http.Request) {
	stream, v := r.PathValue("stream"), r.PathValue("version")
	version, err := strconv.ParseInt(v, 10, 64)
	if err != nil || version < 0 {
		writeError(w, s.logger, r, invalidInput("version", fmt.Sprintf("%q is not a stream version (0, 1, ...)", v)))
		return
	}
	it, err := s.store.ReadStream(r.Context(), stream, version, engine.ReadOptions{Limit: 1})
	if err != nil {
		writeError(w, s.logger, r, err)
		return
	}
	defer it.Close()
	// A version hidden by $maxCount, $maxAge or $tb reads as the next
	// visible one: not this event.
	if !it.Next() || it.Event().Version != version {
		if err := it.Err(); err != nil {
			writeError(w, s.logger, r, err)
			return
		}
		writeError(w, s.logger, r, newError(http.StatusNotFound, "event_not_found",
			fmt.Sprintf("stream %q has no event %d", stream, version)))
		return
	}
	writeJSON(w, http.StatusOK, toEventJSON(it.Event()))
}
