package engine

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits on names. They are part of the on-disk format (lengths are stored
// in one byte).
const (
	MaxStreamNameLen = 255
	MaxEventTypeLen  = 255
)

// ExpectedVersion is the optimistic-concurrency condition of an append:
// one of the constants below or an exact stream version (>= 0).
type ExpectedVersion int64

// The special expected versions use EventStoreDB's numbers.
const (
	// ExpectAny appends whatever the stream's state.
	ExpectAny ExpectedVersion = -2
	// ExpectNoStream requires that the stream has no events (or was
	// soft-deleted).
	ExpectNoStream ExpectedVersion = -1
	// ExpectStreamExists requires that the stream has at least one event
	// and is not deleted.
	ExpectStreamExists ExpectedVersion = -4
)

func (v ExpectedVersion) String() string {
	switch v {
	case ExpectAny:
		return "any"
	case ExpectNoStream:
		return "no_stream"
	case ExpectStreamExists:
		return "stream_exists"
	}
	return fmt.Sprintf("%d", int64(v))
}

func (v ExpectedVersion) validate() error {
	if v >= 0 || v == ExpectAny || v == ExpectNoStream || v == ExpectStreamExists {
		return nil
	}
	return invalid("expectedVersion", "%d is not a version, -1 (no stream), -2 (any) or -4 (stream exists)", int64(v))
}

// EventData is an event to append.
type EventData struct {
	// ID is the idempotency key. The zero UUID means "generate one".
	ID   uuid.UUID
	Type string
	// Data and Metadata are opaque bytes, validated as JSON when the
	// matching IsJSON flag is set. Metadata may be empty.
	Data           []byte
	Metadata       []byte
	DataIsJSON     bool
	MetadataIsJSON bool
}

// StreamAppend is the part of an append that targets one stream.
type StreamAppend struct {
	Stream   string
	Expected ExpectedVersion
	Events   []EventData
}

// RecordedEvent is an event as stored.
//
// Events returned by iterators alias the store's memory-mapped log ($all
// reads) or the iterator's read buffer (stream, type and category reads),
// which the next event overwrites: Data and Metadata stay valid until the
// iterator's next call to Next or Close. Use Clone to keep an event
// longer.
type RecordedEvent struct {
	Position       uint64 // global, gapless, starting at 1
	Stream         string
	Version        int64 // 0-based number of the event in its stream
	ID             uuid.UUID
	Type           string
	CreatedAt      time.Time // UTC, microsecond precision
	Data           []byte
	Metadata       []byte
	DataIsJSON     bool
	MetadataIsJSON bool
}

// Clone returns a copy that does not alias the log.
func (e *RecordedEvent) Clone() *RecordedEvent {
	c := *e
	c.Data = bytes.Clone(e.Data)
	c.Metadata = bytes.Clone(e.Metadata)
	return &c
}

// Category returns the category of a stream: the part before the first
// '-', or the whole name when it has none ("cart-42" -> "cart").
func Category(stream string) string {
	if i := strings.IndexByte(stream, '-'); i > 0 {
		return stream[:i]
	}
	return stream
}

// ValidateStreamName reports whether name can be written to by users.
func ValidateStreamName(name string) error {
	if err := validateName("stream", name, MaxStreamNameLen); err != nil {
		return err
	}
	if name[0] == '$' {
		return invalid("stream", "%q: names starting with '$' are reserved for the system", name)
	}
	return nil
}

// ValidateEventType reports whether typ is a valid event type name.
func ValidateEventType(typ string) error {
	return validateName("eventType", typ, MaxEventTypeLen)
}

func validateName(field, name string, maxLen int) error {
	switch {
	case name == "":
		return invalid(field, "must not be empty")
	case len(name) > maxLen:
		return invalid(field, "%d bytes is longer than the limit of %d bytes", len(name), maxLen)
	case !utf8.ValidString(name):
		return invalid(field, "%q is not valid UTF-8", name)
	case strings.IndexByte(name, 0) >= 0:
		return invalid(field, "%q contains a NUL byte", name)
	}
	return nil
}

// validateEvent checks one event to append; maxSize bounds data+metadata.
// checkJSON is false when the caller already validated the JSON.
func validateEvent(e *EventData, maxSize int, checkJSON bool) error {
	if err := ValidateEventType(e.Type); err != nil {
		return err
	}
	if size := len(e.Data) + len(e.Metadata); size > maxSize {
		return invalid("data", "event of type %q is %d bytes, over the limit of %d bytes", e.Type, size, maxSize)
	}
	if !checkJSON {
		return nil
	}
	if e.DataIsJSON && !validJSON(e.Data) {
		return invalid("data", "event of type %q is declared JSON but its data is not valid JSON", e.Type)
	}
	if e.MetadataIsJSON && len(e.Metadata) > 0 && !validJSON(e.Metadata) {
		return invalid("metadata", "event of type %q is declared JSON but its metadata is not valid JSON", e.Type)
	}
	return nil
}
