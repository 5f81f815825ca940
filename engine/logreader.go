package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LogReader reads a store's log without opening the store: no lock, no
// index, no recovery, nothing written. It is what exports a store that a
// running server holds (Open would fail with ErrLocked).
//
// It works because segments are append-only and CRC-framed: at open it
// maps the segments as they are and finds the end of the last complete
// command (the last record with the commit flag) in the last one. Reads
// stop there, so a LogReader is a snapshot of the log at open; records a
// writer appends afterwards are not seen. A command written by a running
// server but not yet fsynced is visible (it is in the page cache): it
// would only be lost if the machine, not the process, crashed.
//
// $all reads hide events of deleted streams and events hidden by stream
// metadata ($maxCount, $maxAge, $tb) like Store.ReadAll; to know them the
// open scans the log's record headers once (metadata and delete records
// are rare, so this is a walk over frame lengths) and, only when some
// exist, the events of those streams a second time.
type LogReader struct {
	dir   string
	id    string
	log   *eventLog
	last  uint64 // last event position in the snapshot
	count uint64 // events in the snapshot (including hidden ones)
	// restricted holds the final state of streams with metadata or deletes.
	restricted map[string]streamState
}

// OpenLogReader opens the log of the store in dir read-only.
func OpenLogReader(ctx context.Context, dir string) (*LogReader, error) {
	id, err := readStoreID(dir)
	if err != nil {
		return nil, err
	}
	logDir := filepath.Join(dir, "log")
	entries, err := os.ReadDir(logDir)
	if err != nil {
		return nil, fmt.Errorf("list log directory: %w", err)
	}
	var bases []uint64
	for _, e := range entries {
		if base, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, base)
		}
	}
	slices.Sort(bases)
	r := &LogReader{dir: dir, id: id, log: &eventLog{dir: logDir}}
	var segs []*segment
	fail := func(err error) (*LogReader, error) {
		for _, s := range segs {
			s.close()
		}
		return nil, err
	}
	for i, base := range bases {
		s, err := openSegment(OSFS{}, filepath.Join(logDir, segmentName(base)), osOpenRead, 0)
		if err != nil {
			var ce *CorruptionError
			if i == len(bases)-1 && i > 0 && asCorruption(err, &ce) {
				break // a segment being created right now: its header is not written yet
			}
			return fail(err)
		}
		if i > 0 && segs[i-1].endOffset() != base {
			s.close()
			return fail(&CorruptionError{File: segs[i-1].path, Offset: segs[i-1].size.Load(),
				Reason: fmt.Sprintf("segment ends at log offset %d but the next segment starts at %d", segs[i-1].endOffset(), base)})
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		return fail(fmt.Errorf("%s is not an event store: no log segments in %s", dir, logDir))
	}
	if segs[0].header.BaseOffset != 0 {
		return fail(&CorruptionError{File: segs[0].path, Reason: "the log does not start at offset 0: earlier segments are missing"})
	}
	last := segs[len(segs)-1]
	rec, err := committedEnd(last)
	if err != nil {
		return fail(err)
	}
	last.size.Store(int64(rec - last.header.BaseOffset))
	r.log.publish(segs)
	if err := r.loadRestrictions(ctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func asCorruption(err error, target **CorruptionError) bool {
	ce, ok := err.(*CorruptionError)
	if ok {
		*target = ce
	}
	return ok
}

// committedEnd returns the global offset just past the last record with
// the commit flag in s (a snapshot of its current size). Unlike recovery
// it never truncates: a torn or half-written tail, a zero-filled window
// or a tail mark is simply not read.
//
// A running server cuts the zero-filled window off its active segment
// when it rolls to the next one, possibly between the stat that sized
// the mapping and this walk; bytes past the new end then fault. The walk
// only gets there at the end of the frames, so a fault ends it.
func committedEnd(s *segment) (end uint64, err error) {
	committed := int64(segmentHeaderSize)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); !ok { // a memory fault (debug.SetPanicOnFault)
				panic(r)
			}
			end, err = s.header.BaseOffset+uint64(committed), nil
		}
	}()
	size := s.size.Load()
	buf := s.bytes(0, size)
	var rec record
	for off := int64(segmentHeaderSize); off < size; {
		payload, n, status := checkFrame(buf[off:])
		if status != frameOK {
			break
		}
		if err := decodeRecord(payload, &rec); err != nil {
			return 0, &CorruptionError{File: s.path, Offset: off, Reason: err.Error()}
		}
		off += frameHeaderSize + int64(n)
		if rec.commit() {
			committed = off
		}
	}
	return s.header.BaseOffset + uint64(committed), nil
}

func readStoreID(dir string) (string, error) {
	path := filepath.Join(dir, "STORE")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s is not an event store: %w", dir, err)
	}
	var m storeMeta
	if err := json.Unmarshal(b, &m); err != nil || m.StoreID == "" {
		return "", fmt.Errorf("read %s: not a valid store file", path)
	}
	if !supportedStoreFormat(m.Format) {
		return "", fmt.Errorf("%s: store format %d is not supported by this version (want %d)", path, m.Format, storeFormat)
	}
	return m.StoreID, nil
}

// loadRestrictions finds the streams with metadata or deletes and
// replays their records to get their final state, and counts events.
func (r *LogReader) loadRestrictions(ctx context.Context) error {
	segs := r.log.segments()
	type found struct {
		count, last uint64
		names       []string
	}
	per := make([]found, len(segs))
	if err := r.walk(ctx, func(seg int, p []byte) error {
		f := &per[seg]
		switch recordKind(p[0]) {
		case kindEvent:
			f.count++
			if len(p) >= 12 {
				f.last = leUint64(p[4:])
			}
		case kindMetadata, kindDelete:
			var rec record
			if err := decodeRecord(p, &rec); err != nil {
				return err
			}
			f.names = append(f.names, string(rec.Stream))
		}
		return nil
	}); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, f := range per {
		r.count += f.count
		if f.count > 0 {
			r.last = f.last
		}
		for _, n := range f.names {
			names[n] = true
		}
	}
	if len(names) == 0 {
		return nil
	}
	states := make(map[string]streamState, len(names))
	sc := r.log.scan(0, r.end())
	for {
		rec, _, ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if !names[string(rec.Stream)] {
			continue
		}
		s, ok := states[string(rec.Stream)]
		if !ok {
			s = newStreamState()
		}
		switch rec.Kind {
		case kindEvent:
			s.applyEvent(rec.Position, rec.Version, rec.CreatedAt)
		case kindMetadata:
			s.applyMetadata(rec.Meta, rec.CreatedAt)
		case kindDelete:
			s.applyDelete(rec.hard(), rec.CreatedAt)
		}
		states[string(rec.Stream)] = s
	}
	r.restricted = map[string]streamState{}
	for name, s := range states {
		if s.restricted() {
			r.restricted[name] = s
		}
	}
	return nil
}

// walk calls fn with every record payload (checksums verified) and the
// index of its segment. Segments are walked concurrently (one goroutine
// per core; a segment's records in order): the walk runs before any read
// can start, and on one core it took 2 s for 10 million events, mostly
// first touches of the mapped pages.
func (r *LogReader) walk(ctx context.Context, fn func(seg int, payload []byte) error) error {
	segs := r.log.segments()
	errs := make([]error, len(segs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(segs), runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(segs) || ctx.Err() != nil {
					return
				}
				errs[i] = walkSegment(segs[i], func(p []byte) error { return fn(i, p) })
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

func walkSegment(s *segment, fn func(payload []byte) error) error {
	size := s.size.Load()
	buf := s.bytes(0, size)
	for off := int64(segmentHeaderSize); off < size; {
		payload, n, status := checkFrame(buf[off:])
		if status != frameOK {
			return &CorruptionError{File: s.path, Offset: off, Reason: status.String()}
		}
		if err := fn(payload); err != nil {
			return &CorruptionError{File: s.path, Offset: off, Reason: err.Error()}
		}
		off += frameHeaderSize + int64(n)
	}
	return nil
}

func leUint64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func (r *LogReader) end() uint64 {
	segs := r.log.segments()
	return segs[len(segs)-1].endOffset()
}

// ID returns the store id (DIR/STORE).
func (r *LogReader) ID() string { return r.id }

// Dir returns the store directory.
func (r *LogReader) Dir() string { return r.dir }

// Head returns the last event position in the snapshot (0 when empty).
func (r *LogReader) Head() uint64 { return r.last }

// ReadAll reads the snapshot's events forward from position from, like
// Store.ReadAll. Byte slices of the events alias the mapped log: they stay
// valid until the LogReader is closed.
func (r *LogReader) ReadAll(ctx context.Context, from uint64, opts ReadOptions) (*EventIterator, error) {
	if opts.Direction == Backward {
		return nil, invalid("direction", "backward reads of $all are not supported")
	}
	start := uint64(0)
	for _, s := range r.log.segments() {
		if s.header.FirstPosition <= from {
			start = s.header.BaseOffset
		}
	}
	src := &scanSource{sc: r.log.scan(start, r.end()), from: from}
	var filter func(*record) bool
	if len(r.restricted) > 0 {
		now := time.Now()
		filter = func(rec *record) bool {
			s, ok := r.restricted[string(rec.Stream)]
			return !ok || s.visible(rec.Version, rec.CreatedAt, now)
		}
	}
	return &EventIterator{ctx: ctx, src: src, filter: filter, limit: opts.Limit, types: make(map[string]string)}, nil
}

// Close unmaps the log. Iterators must be closed first.
func (r *LogReader) Close() error {
	var first error
	for _, s := range r.log.segments() {
		if err := s.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
