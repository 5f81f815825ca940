package httpfront

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Cross-origin requests (CORS), off unless Options.CORSOrigins names the
// origins allowed (serve --cors-origin): a web page served from one of
// them may then call the API with fetch or follow it with EventSource.
// Every answer to an allowed origin carries Access-Control-Allow-Origin
// (the origin itself, also when any origin is allowed: credentials, here
// HTTP Basic, are refused by browsers with "*"), -Allow-Credentials and
// -Expose-Headers; a preflight (OPTIONS with Access-Control-Request-
// Method), which carries no credentials, is answered before
// authentication. Answers to other origins carry nothing of it, so the
// browser keeps their pages out.

const (
	corsAllowMethods = "GET, HEAD, POST, DELETE"
	// corsAllowHeaders are the request headers the API reads.
	corsAllowHeaders = "Authorization, Content-Type, ES-EventId, ES-EventType, ES-ExpectedVersion, ES-HardDelete, ES-LongPoll, Last-Event-ID"
	// corsExposeHeaders are the response headers scripts may read
	// (Content-Type and the like are always readable).
	corsExposeHeaders = "Location, ES-CurrentVersion, Allow, WWW-Authenticate"
	corsMaxAge        = "600"
)

// corsPolicy is the set of origins allowed; nil allows none (CORS off).
type corsPolicy struct {
	any     bool
	origins map[string]bool
}

// ParseCORSOrigins checks --cors-origin values: "*" (any origin) or
// origins such as "https://app.example.com" or "http://localhost:3000"
// (scheme, host and port, no path). A value may list several, separated
// by commas.
func ParseCORSOrigins(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, o := range strings.Split(v, ",") {
			o = strings.TrimSpace(o)
			if o == "" {
				continue
			}
			if o != "*" {
				u, err := url.Parse(o)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
					u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
					return nil, fmt.Errorf("CORS origin %q: want * or scheme://host[:port], e.g. https://app.example.com", o)
				}
				o = strings.ToLower(o)
			}
			out = append(out, o)
		}
	}
	return out, nil
}

func newCORSPolicy(origins []string) *corsPolicy {
	if len(origins) == 0 {
		return nil
	}
	p := &corsPolicy{origins: map[string]bool{}}
	for _, o := range origins {
		if o == "*" {
			p.any = true
		}
		p.origins[strings.ToLower(o)] = true
	}
	return p
}

func (p *corsPolicy) allows(origin string) bool {
	return p.any || p.origins[strings.ToLower(origin)]
}

// cors wraps next with the policy (next itself when CORS is off).
func (s *Server) cors(next http.Handler) http.Handler {
	p := newCORSPolicy(s.opts.CORSOrigins)
	if p == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != ""
		if origin == "" || !p.allows(origin) {
			if preflight {
				writeError(w, s.logger, r, newError(http.StatusForbidden, "forbidden",
					fmt.Sprintf("origin %q may not call this API (allowed origins are set with --cors-origin)", origin)))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if preflight {
			r.Pattern = "OPTIONS (CORS preflight)" // the route in metrics
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		next.ServeHTTP(w, r)
	})
}
