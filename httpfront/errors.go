package httpfront

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/ndjsonimport"
)

// apiError is the JSON body of every error response:
// {"error":"<code>","message":"..."} plus fields some codes add.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Message string `json:"message"`
	// Field names the invalid input, for invalid_input.
	Field string `json:"field,omitempty"`
	// CurrentVersion is set for wrong_expected_version.
	CurrentVersion *int64 `json:"currentVersion,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func newError(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message}
}

// toAPIError maps engine errors to HTTP: the one place that decides
// statuses and codes.
func toAPIError(err error) *apiError {
	var (
		api   *apiError
		input *engine.InputError
		wev   *engine.WrongExpectedVersionError
		dup   *engine.DuplicateEventIDError
		maxb  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &api):
		return api
	case errors.Is(err, ndjsonimport.ErrRead):
		return newError(http.StatusBadRequest, "invalid_input", err.Error())
	case errors.As(err, &maxb):
		return newError(http.StatusRequestEntityTooLarge, "body_too_large",
			"request body is over the limit of "+strconv.FormatInt(maxb.Limit, 10)+" bytes")
	case errors.As(err, &input):
		e := newError(http.StatusBadRequest, "invalid_input", err.Error())
		e.Field = input.Field
		return e
	case errors.As(err, &wev):
		e := newError(http.StatusConflict, "wrong_expected_version", err.Error())
		cur := wev.Current
		e.CurrentVersion = &cur
		return e
	case errors.As(err, &dup):
		return newError(http.StatusConflict, "duplicate_event_id", err.Error())
	case errors.Is(err, engine.ErrStreamDeleted):
		return newError(http.StatusGone, "stream_deleted", err.Error())
	case errors.Is(err, engine.ErrStreamNotFound):
		return newError(http.StatusNotFound, "stream_not_found", err.Error())
	case errors.Is(err, engine.ErrEventNotFound):
		return newError(http.StatusNotFound, "event_not_found", err.Error())
	case errors.Is(err, engine.ErrClosed), errors.Is(err, engine.ErrStoreFailed):
		return newError(http.StatusServiceUnavailable, "unavailable", err.Error())
	}
	return newError(http.StatusInternalServerError, "internal", "internal error; see the server log")
}

// writeError sends err as a JSON error response.
func writeError(w http.ResponseWriter, logger *slog.Logger, r *http.Request, err error) {
	e := toAPIError(err)
	if e.Status >= 500 {
		logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.CurrentVersion != nil {
		w.Header().Set("ES-CurrentVersion", strconv.FormatInt(*e.CurrentVersion, 10))
	}
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
