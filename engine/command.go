package engine

import (
	"time"

	"github.com/google/uuid"
)

// Command is one write to the store: an append to one or more streams, a
// stream metadata change or a delete. Everything a command's outcome
// depends on is in the command or in the store's state: Time is stamped
// by whoever issues it (the leader, in a cluster) and event ids are
// filled in before it is applied. Two stores applying the same commands
// in the same order end byte-identical.
type Command struct {
	Time time.Time
	// Exactly one of the following is set.
	Appends  []StreamAppend
	Metadata *MetadataChange
	Delete   *StreamDelete
}

// MetadataChange replaces a stream's metadata.
type MetadataChange struct {
	Stream   string
	Metadata StreamMetadata
}

// StreamDelete deletes a stream. A soft delete hides its events and lets
// the name be written again (versions continue); a hard delete is a
// tombstone: the name can never be used again.
type StreamDelete struct {
	Stream   string
	Expected ExpectedVersion
	Hard     bool
}

// Result is the outcome of a command.
type Result struct {
	// FirstPosition and LastPosition span the events appended (0 when none
	// were, for metadata changes and deletes).
	FirstPosition uint64
	LastPosition  uint64
	// Streams has one entry per StreamAppend, in order.
	Streams []StreamResult
	// Idempotent is true when the append was an exact retry of an earlier
	// one: nothing was written and the original positions are returned.
	Idempotent bool
}

// StreamResult is the outcome of one StreamAppend.
type StreamResult struct {
	Stream        string
	FirstPosition uint64
	LastPosition  uint64
	// NextExpectedVersion is the version of the last event appended: pass
	// it as the expected version of the next append.
	NextExpectedVersion int64
}

// prepare validates the command and fills in missing event ids. It runs in
// the caller's goroutine, before the command reaches the single-threaded
// apply step, so the expensive checks (JSON validation) run in parallel.
func (c *Command) prepare(opts *Options) error {
	n := 0
	if len(c.Appends) > 0 {
		n++
	}
	if c.Metadata != nil {
		n++
	}
	if c.Delete != nil {
		n++
	}
	if n != 1 {
		return invalid("command", "must hold exactly one of appends, a metadata change or a delete")
	}
	switch {
	case c.Metadata != nil:
		if err := ValidateStreamName(c.Metadata.Stream); err != nil {
			return err
		}
		return c.Metadata.Metadata.validate()
	case c.Delete != nil:
		if err := ValidateStreamName(c.Delete.Stream); err != nil {
			return err
		}
		return c.Delete.Expected.validate()
	}
	size := 0
	seen := make(map[uuid.UUID]struct{})
	for i := range c.Appends {
		a := &c.Appends[i]
		if err := ValidateStreamName(a.Stream); err != nil {
			return err
		}
		if err := a.Expected.validate(); err != nil {
			return err
		}
		if len(a.Events) == 0 {
			return invalid("events", "append to stream %q has no events", a.Stream)
		}
		for j := range a.Events {
			e := &a.Events[j]
			if err := validateEvent(e, opts.MaxEventSize); err != nil {
				return err
			}
			if e.ID == uuid.Nil {
				e.ID = uuid.New()
			} else {
				if _, dup := seen[e.ID]; dup {
					return &DuplicateEventIDError{ID: e.ID, Version: -1}
				}
				seen[e.ID] = struct{}{}
			}
			size += frameHeaderSize + eventRecordSize(a.Stream, e.Type, e.Data, e.Metadata)
		}
	}
	if size > opts.MaxAppendSize {
		return invalid("events", "append of %d bytes is over the limit of %d bytes; split it", size, opts.MaxAppendSize)
	}
	return nil
}
