package httpfront

import (
	"net/http"
	"slices"
	"strings"
)

// unmatchedPattern catches every request no route matches, so that it
// gets a JSON error like every other one (net/http's ServeMux answers
// plain text "404 page not found" and "Method Not Allowed").
const unmatchedPattern = "/"

// unmatched answers a request no route matches: 405 with Allow when the
// path has routes for other methods, else 404. It is only reached on
// errors, so finding the other methods by asking mux costs nothing on
// the routes clients use.
func (s *Server) unmatched(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != unmatchedPattern {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			writeError(w, s.logger, r, newError(http.StatusNotFound, "not_found", "no route for "+r.Method+" "+r.URL.Path))
			return
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, s.logger, r, newError(http.StatusMethodNotAllowed, "method_not_allowed",
			r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", ")))
	}
}
