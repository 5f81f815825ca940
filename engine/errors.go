package engine

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Sentinel errors callers branch on with errors.Is. Most are wrapped with
// detail (the stream name, the limit) by the typed errors below.
var (
	// ErrInvalidInput is the category of every error caused by a bad
	// argument: bad names, oversize events, invalid JSON, bad expected
	// versions. Nothing is written when it is returned.
	ErrInvalidInput = errors.New("invalid input")
	// ErrWrongExpectedVersion is matched by *WrongExpectedVersionError.
	ErrWrongExpectedVersion = errors.New("wrong expected version")
	// ErrStreamNotFound is returned by reads of a stream that has no
	// events or was soft-deleted.
	ErrStreamNotFound = errors.New("stream not found")
	// ErrStreamDeleted is returned by reads of and appends to a stream that
	// was hard-deleted (tombstoned). The name can never be used again.
	ErrStreamDeleted = errors.New("stream is hard-deleted")
	// ErrEventNotFound is returned by a lookup of an unknown event id.
	ErrEventNotFound = errors.New("event not found")
	// ErrDuplicateEventID is matched by *DuplicateEventIDError.
	ErrDuplicateEventID = errors.New("event id already used")
	// ErrCorrupt is matched by *CorruptionError.
	ErrCorrupt = errors.New("corrupt log")
	// ErrClosed is returned by operations on a closed store.
	ErrClosed = errors.New("store is closed")
	// ErrStoreFailed is returned by appends after a write or fsync failure:
	// the store stops accepting writes (its state on disk is no longer
	// known) until it is reopened. The original error is wrapped too.
	ErrStoreFailed = errors.New("store failed after an I/O error; reopen it")
	// ErrLocked is returned by Open when another process holds the store.
	ErrLocked = errors.New("data directory is locked by another process")
)

// InputError describes a rejected argument. It matches ErrInvalidInput.
type InputError struct {
	Field   string // what was wrong: "stream", "eventType", "data", ...
	Message string
}

func (e *InputError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Message) }

// Is reports whether target is ErrInvalidInput.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

func invalid(field, format string, args ...any) error {
	return &InputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// WrongExpectedVersionError is returned when an append's expected version
// does not match the stream. Nothing of the append is written.
type WrongExpectedVersionError struct {
	Stream   string
	Expected ExpectedVersion
	// Current is the stream's current version: -1 when the stream has no
	// events (or was soft-deleted and not written since).
	Current int64
}

func (e *WrongExpectedVersionError) Error() string {
	return fmt.Sprintf("wrong expected version for stream %q: expected %s, current version is %d",
		e.Stream, e.Expected, e.Current)
}

// Is reports whether target is ErrWrongExpectedVersion.
func (e *WrongExpectedVersionError) Is(target error) bool { return target == ErrWrongExpectedVersion }

// DuplicateEventIDError is returned when an event id is already used by an
// event that is not an exact earlier copy of this append (an idempotent
// retry succeeds instead).
type DuplicateEventIDError struct {
	ID uuid.UUID
	// Stream and Version locate the existing event; both are empty when the
	// id is repeated inside the same append.
	Stream  string
	Version int64
}

func (e *DuplicateEventIDError) Error() string {
	if e.Stream == "" {
		return fmt.Sprintf("event id %s appears twice in the same append", e.ID)
	}
	return fmt.Sprintf("event id %s is already used by event %d of stream %q", e.ID, e.Version, e.Stream)
}

// Is reports whether target is ErrDuplicateEventID.
func (e *DuplicateEventIDError) Is(target error) bool { return target == ErrDuplicateEventID }

// StreamError wraps ErrStreamNotFound or ErrStreamDeleted with the stream name.
type StreamError struct {
	Stream string
	Err    error
}

func (e *StreamError) Error() string { return fmt.Sprintf("stream %q: %v", e.Stream, e.Err) }
func (e *StreamError) Unwrap() error { return e.Err }

// CorruptionError reports a damaged record in the log that is not a torn
// tail: the file and byte offset say where. It matches ErrCorrupt.
type CorruptionError struct {
	File   string
	Offset int64
	Reason string
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("corrupt log: %s at offset %d: %s", e.File, e.Offset, e.Reason)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }
