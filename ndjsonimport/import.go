// Package ndjsonimport is the bulk-import path shared by POST /import
// (httpfront) and `eventsql import --data`: it reads newline-delimited
// JSON events from a stream, one event per line,
//
//	{"stream":"cart-1","eventType":"ItemAdded","eventId":"<uuid>","data":{...},"metadata":{...}}
//
// and writes them to the store in large batches, in file order.
//
// Why it is shaped this way: a bulk import is bound by CPU (decoding JSON
// and indexing), not by the disk, and the machine may have two cores. So
// the input is never buffered whole — a bounded line reader feeds a
// decoder that validates each line once (the store is told so and does
// not validate again) — and each batch is submitted to the store without
// waiting for the one before, so decoding the next batch overlaps with
// the store applying, fsyncing and indexing the previous ones. Batches are
// Independent commands: a bad line is rejected on its own and the rest of
// its batch is written, without retries that would reorder a stream's
// events.
//
// An import is not atomic as a whole: each batch is. What was written
// before a failure stays written, and the summary says how much. A
// retry of the same input with event ids writes nothing twice: lines
// whose events are already written count as duplicates.
package ndjsonimport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/eventsql/eventsql/engine"
)

// Store is what an import needs from the engine.
type Store interface {
	Submit(ctx context.Context, cmd engine.Command) (*engine.Pending, error)
	// Limits are the store's largest event and append: lines and
	// batches are sized to fit.
	Limits() (maxEventSize, maxAppendSize int)
}

// Defaults of Options.
const (
	DefaultBatchBytes  = 4 << 20
	DefaultBatchEvents = 10_000
	lineOverhead       = 64 << 10 // room for the names, the id and the JSON around data
	DefaultMaxErrors   = 1000
	DefaultInFlight    = 2
)

// Options tune an import; zero values take the defaults.
type Options struct {
	// BatchBytes and BatchEvents bound one batch (one store command):
	// data and metadata bytes, and events. A single larger event gets a
	// batch of its own.
	BatchBytes  int
	BatchEvents int
	// MaxLineSize bounds a line; a longer one is rejected (and skipped).
	// The default is the store's largest event plus 64 KiB.
	MaxLineSize int
	// MaxErrors bounds Summary.Errors; Rejected still counts every line.
	MaxErrors int
	// InFlight is how many batches may be submitted and not yet durable.
	InFlight int
	// InputSize is the size of the input in bytes when known (a file's
	// size, a request's Content-Length), else 0. After the first batch
	// the import tells a store that takes hints (ExpectEvents) about how
	// many events will follow, from the lines' average size.
	InputSize int64
}

// expecter is a store that prepares for a bulk write (engine.Store).
type expecter interface{ ExpectEvents(n int) }

func (o Options) withDefaults(st Store) Options {
	maxEvent, maxAppend := st.Limits()
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	// A batch may end with one more event than BatchBytes, and frames
	// add headers: keep every batch under the store's append limit.
	o.BatchBytes = max(1, min(o.BatchBytes, (maxAppend-maxEvent)/2))
	if o.BatchEvents <= 0 {
		o.BatchEvents = DefaultBatchEvents
	}
	if o.MaxLineSize <= 0 {
		o.MaxLineSize = maxEvent + lineOverhead
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = DefaultMaxErrors
	}
	if o.InFlight <= 0 {
		o.InFlight = DefaultInFlight
	}
	return o
}

// LineError is a rejected line. Code is the HTTP API's error code:
// invalid_input, duplicate_event_id, stream_deleted (docs/http.md).
type LineError struct {
	Line    int64  `json:"line"` // 1-based
	Code    string `json:"error"`
	Message string `json:"message"`
}

// Summary is the outcome of an import, also when it stopped early.
type Summary struct {
	// Written counts the events written by this import.
	Written int64 `json:"written"`
	// Duplicates counts lines whose event was already written (same id,
	// same stream): an idempotent retry writes nothing new.
	Duplicates int64 `json:"duplicates"`
	// Rejected counts lines not written; Errors lists the first of them.
	Rejected int64 `json:"rejected"`
	// FirstPosition and LastPosition span the events written (nil when
	// none were). Other writers' events may lie between them.
	FirstPosition *uint64     `json:"firstPosition"`
	LastPosition  *uint64     `json:"lastPosition"`
	Errors        []LineError `json:"errors"`
	// ErrorsTruncated is set when more lines were rejected than listed.
	ErrorsTruncated bool `json:"errorsTruncated"`
	// Lines and Bytes count the input read (blank lines included).
	Lines int64 `json:"lines"`
	Bytes int64 `json:"bytes"`
}

// ErrRead wraps a failure to read the input (a client that went away, a
// broken request body, a file read error).
var ErrRead = errors.New("reading the import input")

// Import reads NDJSON events from r and writes them to st until r ends,
// ctx is done or the store fails. The summary counts what happened
// before an error too.
func Import(ctx context.Context, r io.Reader, st Store, opts Options) (Summary, error) {
	opts = opts.withDefaults(st)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	im := &importer{opts: opts, st: st, ctx: ctx, sum: Summary{Errors: []LineError{}}}
	im.free = make(chan *batch, opts.InFlight+1)
	for range opts.InFlight + 1 {
		im.free <- newBatch(opts)
	}
	queued := make(chan submitted, opts.InFlight)
	collected := make(chan error, 1)
	go func() { collected <- im.collect(queued, cancel) }()

	readErr := im.read(r, queued)
	close(queued)
	storeErr := <-collected
	sum := im.sum
	sum.Lines, sum.Bytes = im.lines, im.bytes
	switch {
	case storeErr != nil:
		return sum, storeErr
	case readErr != nil:
		return sum, readErr
	}
	return sum, nil
}

type importer struct {
	opts Options
	st   Store
	ctx  context.Context
	free chan *batch // batches to fill

	// Reader side.
	lines, bytes int64
	hinted       bool // the store was told how many events to expect
	scratch      []byte
	types        map[string]string // interned event types
	lastStream   string
	names        []byte // the block stream names are carved out of (never overwritten)

	// Collector side.
	sum Summary
}

// submitted is a batch handed to the store.
type submitted struct {
	b *batch
	p *engine.Pending
}

// batch is one store command being built: one single-event part per line,
// data and metadata copied into an arena.
type batch struct {
	parts  []engine.StreamAppend
	events []engine.EventData
	lines  []int64 // line of each part
	arena  []byte
	errs   []LineError // lines the decoder rejected
	// results is the storage of the store's results for the batch,
	// reused from one use of the batch to the next.
	results []engine.StreamResult
}

func newBatch(opts Options) *batch {
	return &batch{
		parts:  make([]engine.StreamAppend, 0, opts.BatchEvents),
		events: make([]engine.EventData, 0, opts.BatchEvents),
		lines:  make([]int64, 0, opts.BatchEvents),
		arena:  make([]byte, 0, opts.BatchBytes),
	}
}

func (b *batch) reset() {
	clear(b.events) // drop references into old arenas
	b.parts, b.events, b.lines, b.arena, b.errs = b.parts[:0], b.events[:0], b.lines[:0], b.arena[:0], b.errs[:0]
}

func (b *batch) empty() bool { return len(b.events) == 0 && len(b.errs) == 0 }

// read splits r into lines, decodes them into batches and submits each
// full batch. It returns the first read or submit error, or ctx's.
func (im *importer) read(r io.Reader, queued chan<- submitted) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var long []byte // a line longer than br's buffer
	tooLong := false
	b := <-im.free
	for {
		chunk, err := br.ReadSlice('\n')
		im.bytes += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) {
			if !tooLong && len(long)+len(chunk) > im.opts.MaxLineSize {
				tooLong, long = true, long[:0]
			}
			if !tooLong {
				long = append(long, chunk...)
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if ierr := im.submit(b, queued); ierr != nil {
				return ierr
			}
			return fmt.Errorf("%w: line %d: %w", ErrRead, im.lines+1, err)
		}
		line := chunk
		if len(long) > 0 || tooLong {
			long = append(long, chunk...)
			line = long
		}
		if len(line) > 0 {
			im.lines++
			if im.lines == 1 {
				line = trimBOM(line)
			}
			var addErr error
			if b, addErr = im.add(b, line, tooLong, queued); addErr != nil {
				return addErr
			}
			long, tooLong = long[:0], false
		}
		if errors.Is(err, io.EOF) {
			return im.submit(b, queued)
		}
	}
}

func trimBOM(line []byte) []byte {
	if len(line) >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
		return line[3:]
	}
	return line
}

// add decodes line im.lines into b, first submitting b when the event
// does not fit, and returns the batch to fill next.
func (im *importer) add(b *batch, line []byte, tooLong bool, queued chan<- submitted) (*batch, error) {
	if tooLong || len(line) > im.opts.MaxLineSize && len(bytes.TrimRight(line, "\r\n")) > im.opts.MaxLineSize {
		b.errs = append(b.errs, LineError{Line: im.lines, Code: "invalid_input",
			Message: fmt.Sprintf("the line is over the limit of %d bytes", im.opts.MaxLineSize)})
		return b, nil
	}
	if line = trimSpace(line); len(line) == 0 {
		return b, nil // blank lines are skipped
	}
	var l Line
	var err error
	if im.scratch, err = ParseLine(line, &l, im.scratch); err != nil {
		b.errs = append(b.errs, LineError{Line: im.lines, Code: "invalid_input", Message: err.Error()})
		return b, nil
	}
	size := len(l.Data) + len(l.Metadata)
	if len(b.events) > 0 && len(b.arena)+size > cap(b.arena) {
		if err := im.submit(b, queued); err != nil {
			return b, err
		}
		b = <-im.free
	}
	if len(b.arena)+size > cap(b.arena) {
		b.arena = make([]byte, 0, size) // one event larger than a batch
	}
	start := len(b.arena)
	b.arena = append(b.arena, l.Data...)
	b.arena = append(b.arena, l.Metadata...)
	mid := start + len(l.Data)
	e := engine.EventData{ID: l.EventID, Type: im.internType(l.EventType),
		Data: b.arena[start:mid:mid], DataIsJSON: true}
	if len(l.Metadata) > 0 {
		e.Metadata, e.MetadataIsJSON = b.arena[mid:len(b.arena):len(b.arena)], true
	}
	b.events = append(b.events, e)
	b.parts = append(b.parts, engine.StreamAppend{Stream: im.stream(l.Stream), Expected: engine.ExpectAny})
	b.lines = append(b.lines, im.lines)
	if len(b.events) >= im.opts.BatchEvents || len(b.arena) >= im.opts.BatchBytes {
		if err := im.submit(b, queued); err != nil {
			return b, err
		}
		b = <-im.free
	}
	return b, nil
}

// stream returns the stream name as a string, reusing the previous
// line's when it is the same (files grouped by stream are common).
// Names are carved out of shared blocks rather than allocated one by one
// (an allocation per line otherwise); a block is freed by the garbage
// collector once no name in it is used. The store keeps copies of the
// names it caches for long.
func (im *importer) stream(name []byte) string {
	if string(name) == im.lastStream {
		return im.lastStream
	}
	if len(name) == 0 || len(name) > maxBlockName {
		im.lastStream = string(name)
		return im.lastStream
	}
	if len(im.names)+len(name) > cap(im.names) {
		im.names = make([]byte, 0, nameBlockSize)
	}
	start := len(im.names)
	im.names = append(im.names, name...)
	im.lastStream = unsafe.String(&im.names[start], len(name))
	return im.lastStream
}

// Stream names up to maxBlockName bytes are carved out of blocks of
// nameBlockSize bytes.
const (
	nameBlockSize = 16 << 10
	maxBlockName  = 256
)

func (im *importer) internType(name []byte) string {
	if s, ok := im.types[string(name)]; ok {
		return s
	}
	if im.types == nil || len(im.types) >= 4096 {
		im.types = make(map[string]string)
	}
	s := string(name)
	im.types[s] = s
	return s
}

// submit hands b to the store, or straight to the collector when it
// holds only rejected lines. An error stops the import.
func (im *importer) submit(b *batch, queued chan<- submitted) error {
	if err := im.ctx.Err(); err != nil {
		im.free <- b
		return err
	}
	if b.empty() {
		im.free <- b
		return nil
	}
	var p *engine.Pending
	if len(b.parts) > 0 {
		for i := range b.parts {
			b.parts[i].Events = b.events[i : i+1 : i+1]
		}
		var err error
		p, err = im.st.Submit(im.ctx, engine.Command{Appends: b.parts, Independent: true, JSONValidated: true, ResultBuf: b.results})
		if err != nil {
			im.free <- b
			if ctxErr := im.ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return fmt.Errorf("write batch ending at line %d: %w", b.lines[len(b.lines)-1], err)
		}
	}
	queued <- submitted{b: b, p: p}
	im.hint()
	return nil
}

// hint tells the store, once, about how many events the rest of the
// input holds, estimated from the lines read so far.
func (im *importer) hint() {
	if im.hinted || im.opts.InputSize <= 0 || im.lines == 0 {
		return
	}
	im.hinted = true
	x, ok := im.st.(expecter)
	if !ok {
		return
	}
	if rest := im.opts.InputSize - im.bytes; rest > 0 {
		x.ExpectEvents(int(min(rest/max(im.bytes/im.lines, 1), 1<<40)))
	}
}

// collect waits for the submitted batches in order and accounts for
// them. After a failed batch it cancels the import but keeps draining.
func (im *importer) collect(queued <-chan submitted, cancel func()) error {
	var first error
	for s := range queued {
		var res engine.Result
		var err error
		if s.p != nil {
			res, err = s.p.Wait()
		}
		if err != nil {
			if first == nil {
				first = fmt.Errorf("write batch ending at line %d: %w", s.b.lines[len(s.b.lines)-1], err)
				cancel()
			}
		} else {
			im.account(s.b, res)
			s.b.results = res.Streams[:0]
		}
		s.b.reset()
		im.free <- s.b
	}
	return first
}

// account adds a batch's outcome to the summary, rejections in line order.
func (im *importer) account(b *batch, res engine.Result) {
	j := 0
	for i, sr := range res.Streams {
		line := b.lines[i]
		for ; j < len(b.errs) && b.errs[j].Line < line; j++ {
			im.reject(b.errs[j])
		}
		switch {
		case sr.Err != nil:
			im.reject(LineError{Line: line, Code: code(sr.Err), Message: sr.Err.Error()})
		case sr.Replayed:
			im.sum.Duplicates++
		default:
			im.sum.Written++
			if im.sum.FirstPosition == nil {
				first := sr.FirstPosition
				im.sum.FirstPosition = &first
			}
		}
	}
	for ; j < len(b.errs); j++ {
		im.reject(b.errs[j])
	}
	if res.LastPosition > 0 {
		last := res.LastPosition
		im.sum.LastPosition = &last
	}
}

func (im *importer) reject(e LineError) {
	im.sum.Rejected++
	if len(im.sum.Errors) < im.opts.MaxErrors {
		im.sum.Errors = append(im.sum.Errors, e)
	} else {
		im.sum.ErrorsTruncated = true
	}
}

// code maps a part's rejection to the HTTP API's error code.
func code(err error) string {
	switch {
	case errors.Is(err, engine.ErrInvalidInput):
		return "invalid_input"
	case errors.Is(err, engine.ErrDuplicateEventID):
		return "duplicate_event_id"
	case errors.Is(err, engine.ErrStreamDeleted):
		return "stream_deleted"
	case errors.Is(err, engine.ErrWrongExpectedVersion):
		return "wrong_expected_version"
	}
	return "rejected"
}
