package httpfront

import (
	"fmt"
	"mime"
	"net/http"

	"github.com/eventsql/eventsql/ndjsonimport"
)

// Content types of POST /import; none at all is NDJSON too.
var importContentTypes = map[string]bool{
	"application/x-ndjson": true,
	"application/ndjson":   true,
	"application/jsonl":    true,
	"":                     true,
}

// importReply is the body of a POST /import answer: the summary, plus
// the error that stopped the import early, if one did.
type importReply struct {
	*apiError
	ndjsonimport.Summary
}

// importNDJSON handles POST /import: NDJSON events, one per line with its
// stream, streamed into the store in large batches (ndjsonimport). The
// body is never read whole and has no size limit; lines do. Rejected
// lines are listed with their numbers and the rest is written. 200 with
// the summary; when the store fails mid-import, its error status with the
// summary of what was written before.
func (s *Server) importNDJSON(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		var err error
		if ct, _, err = mime.ParseMediaType(ct); err != nil {
			writeError(w, s.logger, r, newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "malformed Content-Type: "+err.Error()))
			return
		}
	}
	if !importContentTypes[ct] {
		writeError(w, s.logger, r, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("Content-Type %q: send one JSON event per line as application/x-ndjson (or application/ndjson, application/jsonl)", ct)))
		return
	}
	// The Store interface is kept as it is for the other routes; the
	// engine also implements what an import needs.
	st, ok := s.store.(ndjsonimport.Store)
	if !ok {
		writeError(w, s.logger, r, newError(http.StatusNotImplemented, "not_implemented", "this store does not support bulk import"))
		return
	}
	sum, err := ndjsonimport.Import(r.Context(), r.Body, st, ndjsonimport.Options{InputSize: max(r.ContentLength, 0)})
	if err == nil {
		writeJSON(w, http.StatusOK, sum)
		return
	}
	if r.Context().Err() != nil {
		s.logger.Warn("import stopped: the client went away", "written", sum.Written, "lines", sum.Lines, "err", err)
		return
	}
	e := toAPIError(err)
	if e.Status >= 500 {
		s.logger.Error("import failed", "written", sum.Written, "lines", sum.Lines, "err", err)
	}
	writeJSON(w, e.Status, importReply{apiError: e, Summary: sum})
}
