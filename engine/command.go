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

	// Independent makes each of Appends its own atomic append, decided in
	// order inside the one command (the bulk-import path): a part that is
	// rejected — invalid input, a wrong expected version, an event id used
	// elsewhere, a hard-deleted stream — writes nothing and gets its error
	// in its StreamResult.Err, and the other parts are written; a part
	// that repeats events already written (an idempotent retry) is
	// Replayed. Parts see the events of the parts before them. The
	// command as a whole fails only for what no part causes: a closed or
	// failed store, or Appends over MaxAppendSize.
	Independent bool
	// JSONValidated says the caller has checked that every Data and
	// Metadata declared JSON is one valid JSON value (a JSON decoder
	// produced them), so the store does not check again. Set it only when
	// that holds: invalid JSON stored as JSON breaks readers.
	JSONValidated bool
	// ResultBuf, when it has room for len(Appends) entries, holds
	// Result.Streams of an Independent command instead of a new slice (a
	// bulk writer passes the one of a batch it is done with: 10k results
	// are 640 KB). It is storage, not part of what the command means.
	ResultBuf []StreamResult

	// partErrs holds, for an Independent command, the parts prepare
	// rejected (nil when none was).
	partErrs []error
	// frameBytes is the size of the frames of every event of the
	// command, set by prepare: an upper bound of what apply stages.
	frameBytes int
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
	// Replayed is set, in an Independent command, for a part that repeated
	// events already written: nothing was written and the positions are
	// the original ones.
	Replayed bool
	// Err is set, in an Independent command, for a part that was rejected
	// (nothing of it was written; the positions are 0).
	Err error
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
	if c.Independent {
		return c.prepareEach(opts)
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
			if err := validateEvent(e, opts.MaxEventSize, !c.JSONValidated); err != nil {
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
	c.frameBytes = size
	return nil
}

// prepareEach is prepare for an Independent command: a part with invalid
// input is marked rejected instead of failing the command. Ids repeated
// across parts are decided by apply (a later part sees the earlier ones).
func (c *Command) prepareEach(opts *Options) error {
	c.partErrs = nil
	size := 0
	prevStream := ""
	for i := range c.Appends {
		a := &c.Appends[i]
		var err error
		if a.Stream != prevStream || i == 0 {
			err = ValidateStreamName(a.Stream)
			if err == nil {
				prevStream = a.Stream
			}
		}
		if err == nil {
			err = a.Expected.validate()
		}
		if err == nil && len(a.Events) == 0 {
			err = invalid("events", "append to stream %q has no events", a.Stream)
		}
		for j := range a.Events {
			e := &a.Events[j]
			if err == nil {
				err = validateEvent(e, opts.MaxEventSize, !c.JSONValidated)
			}
			if e.ID == uuid.Nil {
				e.ID = uuid.New()
			}
			size += frameHeaderSize + eventRecordSize(a.Stream, e.Type, e.Data, e.Metadata)
		}
		if err != nil {
			if c.partErrs == nil {
				c.partErrs = make([]error, len(c.Appends))
			}
			c.partErrs[i] = err
		}
	}
	if size > opts.MaxAppendSize {
		return invalid("events", "append of %d bytes is over the limit of %d bytes; split it", size, opts.MaxAppendSize)
	}
	c.frameBytes = size
	return nil
}
