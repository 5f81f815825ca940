package typeinfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/eventsql/eventsql/engine"
)

// Store is what inference reads.
type Store interface {
	ID() string
	Head() uint64
	ReadType(ctx context.Context, eventType string, from uint64, opts engine.ReadOptions) (*engine.EventIterator, error)
}

// Registry keeps the inferred schema of every event type up to date.
// It is safe for concurrent use.
type Registry struct {
	store  Store
	path   string // where the state is saved; "" = memory only
	logger *slog.Logger

	mu    sync.Mutex
	types map[string]*typeEntry
	dirty bool
}

type typeEntry struct {
	mu    sync.Mutex // held while catching up
	state typeState
}

// NewRegistry returns a registry over store that loads and saves its
// state in path (a cache: when missing or unreadable, schemas are
// re-inferred from the log).
func NewRegistry(store Store, path string, logger *slog.Logger) *Registry {
	r := &Registry{store: store, path: path, logger: logger, types: map[string]*typeEntry{}}
	if path != "" {
		if err := r.load(); err != nil && !errors.Is(err, fs.ErrNotExist) {
			logger.Warn("type inference cache unreadable; re-inferring from the log", "path", path, "err", err)
			r.types = map[string]*typeEntry{}
		}
	}
	return r
}

// Schema returns eventType's schema, first scanning the events appended
// since the last call.
func (r *Registry) Schema(ctx context.Context, eventType string) (Schema, error) {
	r.mu.Lock()
	e, ok := r.types[eventType]
	if !ok {
		e = &typeEntry{}
		r.types[eventType] = e
	}
	r.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	head := r.store.Head()
	if e.state.Through >= head {
		return e.state.schema(eventType), nil
	}
	it, err := r.store.ReadType(ctx, eventType, e.state.Through+1, engine.ReadOptions{})
	if err != nil {
		return Schema{}, fmt.Errorf("infer schema of %q: %w", eventType, err)
	}
	defer it.Close()
	st := e.state // work on a copy: a failed scan leaves the state as it was
	st.Fields = append([]fieldState(nil), st.Fields...)
	st.index = nil
	for it.Next() {
		ev := it.Event()
		if ev.Position > head {
			break
		}
		st.observe(ev.Data, ev.DataIsJSON)
	}
	if err := it.Err(); err != nil {
		return Schema{}, fmt.Errorf("infer schema of %q: %w", eventType, err)
	}
	st.Through = head
	e.state = st
	r.mu.Lock()
	r.dirty = true
	r.mu.Unlock()
	return st.schema(eventType), nil
}

// savedState is the file format of the cache.
type savedState struct {
	Version int                   `json:"version"`
	StoreID string                `json:"storeId"`
	Types   map[string]*typeState `json:"types"`
}

// Save writes the state to the registry's path (atomically) if it
// changed since the last save.
func (r *Registry) Save() error {
	if r.path == "" {
		return nil
	}
	r.mu.Lock()
	if !r.dirty {
		r.mu.Unlock()
		return nil
	}
	entries := make(map[string]*typeEntry, len(r.types))
	for k, v := range r.types {
		entries[k] = v
	}
	r.dirty = false
	r.mu.Unlock()

	out := savedState{Version: 1, StoreID: r.store.ID(), Types: make(map[string]*typeState, len(entries))}
	for name, e := range entries {
		e.mu.Lock()
		st := e.state
		st.Fields = append([]fieldState(nil), st.Fields...)
		e.mu.Unlock()
		out.Types[name] = &st
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode type inference cache: %w", err)
	}
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("save type inference cache: %w", err)
	}
	if err := os.Rename(tmp, r.path); err != nil {
		return fmt.Errorf("save type inference cache: %w", err)
	}
	return nil
}

func (r *Registry) load() error {
	b, err := os.ReadFile(r.path)
	if err != nil {
		return err
	}
	var in savedState
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Base(r.path), err)
	}
	if in.Version != 1 {
		return fmt.Errorf("%s: unknown version %d", filepath.Base(r.path), in.Version)
	}
	if in.StoreID != r.store.ID() {
		return fmt.Errorf("%s belongs to store %s, not %s", filepath.Base(r.path), in.StoreID, r.store.ID())
	}
	head := r.store.Head()
	for name, st := range in.Types {
		if st == nil {
			continue
		}
		if st.Through > head {
			return fmt.Errorf("%s is ahead of the log (type %q through %d, head %d)", filepath.Base(r.path), name, st.Through, head)
		}
		r.types[name] = &typeEntry{state: *st}
	}
	return nil
}
