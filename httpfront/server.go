// Package httpfront is eventsql's HTTP API. For now it serves the health
// endpoints; writes, reads, bulk import, live tail, stats and metrics
// follow (see docs/http.md once they land).
package httpfront

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/eventsql/eventsql/engine"
)

// Store is what the HTTP front needs from the engine.
type Store interface {
	Head() uint64
	Stats() engine.Stats
}

// Server is the HTTP front.
type Server struct {
	store  Store
	logger *slog.Logger
	http   *http.Server
	ready  func() bool
}

// New returns a server for store. ready reports whether the node can serve
// traffic (the store is open); /health/ready answers 503 otherwise.
func New(store Store, logger *slog.Logger, ready func() bool) *Server {
	s := &Server{store: store, logger: logger, ready: ready}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health/live", s.live)
	mux.HandleFunc("GET /health/ready", s.readyz)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s
}

// Handler returns the server's routes (for tests with httptest).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Serve serves on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests and waits for running ones.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "live"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "head": s.store.Head()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
