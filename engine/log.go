package engine

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync/atomic"
)

// eventLog is the append-only sequence of segments.
//
// Readers load the segment list atomically and read mapped bytes below
// the published head; the write side (reserve, stage, flush) belongs to
// the committer goroutine alone.
type eventLog struct {
	dir         string
	fs          FS
	logger      *slog.Logger
	segmentSize int64

	segs atomic.Pointer[[]*segment] // sorted by base offset

	// reads counts preads of random-access reads (frameReader, spans);
	// mappedReads those served from populated mappings (resident.go).
	reads       atomic.Uint64
	mappedReads atomic.Uint64
	// populate takes chunks that random reads found unpopulated, for the
	// store's warmer; a full channel drops requests.
	populate chan chunkRequest

	// Write side, committer goroutine only. The committer stages frames,
	// takes them for a group (takeFrames) and writes them (writeFrames);
	// the indexer recycles the buffers once indexed (recycle).
	active  *segment
	end     int64    // file offset in active just past the frames handed on
	full    [][]byte // chunks of frames staged for the current group, written at end
	staged  int      // bytes in full
	pending []byte   // the chunk being filled, after full
	free    chan []byte
}

// recovery describes what openLog found at the tail of the log.
type recovery struct {
	End           uint64 // global offset just past the last committed record
	DroppedBytes  int64  // torn or uncommitted bytes truncated
	DroppedReason string
}

// openLog opens (or creates) the log in dir. verifyFrom is a global offset
// known to be a durable frame boundary (the index checkpoint); the tail of
// the last segment from there on is verified and a torn tail truncated.
func openLog(ctx context.Context, dir string, fs FS, segmentSize int64, logger *slog.Logger, verifyFrom uint64) (*eventLog, recovery, error) {
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, recovery{}, fmt.Errorf("create log directory: %w", err)
	}
	entries, err := fs.ReadDir(dir)
	if err != nil {
		return nil, recovery{}, fmt.Errorf("list log directory: %w", err)
	}
	var bases []uint64
	for _, e := range entries {
		if base, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, base)
		}
	}
	slices.Sort(bases)
	if len(bases) > 0 {
		dropped, err := dropTornSegment(fs, dir, bases[len(bases)-1], logger)
		if err != nil {
			return nil, recovery{}, err
		}
		if dropped {
			bases = bases[:len(bases)-1]
		}
	}
	l := &eventLog{dir: dir, fs: fs, logger: logger, segmentSize: segmentSize, free: make(chan []byte, freeFrameBuffers),
		populate: make(chan chunkRequest, 256)}
	if len(bases) > 0 && bases[0] != 0 {
		return nil, recovery{}, &CorruptionError{File: filepath.Join(dir, segmentName(bases[0])), Offset: 0,
			Reason: fmt.Sprintf("the log starts at offset %d, not 0: earlier segments are missing", bases[0])}
	}
	if len(bases) == 0 {
		s, err := createSegment(fs, dir, segmentHeader{BaseOffset: 0, FirstPosition: 1}, segmentSize)
		if err != nil {
			return nil, recovery{}, err
		}
		l.publish([]*segment{s})
		l.active, l.end = s, segmentHeaderSize
		return l, recovery{End: segmentHeaderSize}, nil
	}
	segs := make([]*segment, 0, len(bases))
	closeAll := func() {
		for _, s := range segs {
			s.close()
		}
	}
	for i, base := range bases {
		path := filepath.Join(dir, segmentName(base))
		last := i == len(bases)-1
		flag, capacity := osOpenRead, int64(0)
		if last {
			flag, capacity = osOpenWrite, segmentSize
		}
		s, err := openSegment(fs, path, flag, capacity)
		if err != nil {
			closeAll()
			return nil, recovery{}, err
		}
		if i > 0 {
			prev := segs[i-1]
			if prev.endOffset() != base {
				closeAll()
				s.close()
				return nil, recovery{}, &CorruptionError{File: prev.path, Offset: prev.size.Load(),
					Reason: fmt.Sprintf("segment ends at log offset %d but the next segment starts at %d (missing or truncated data)", prev.endOffset(), base)}
			}
		}
		segs = append(segs, s)
		if err := ctx.Err(); err != nil {
			closeAll()
			return nil, recovery{}, err
		}
	}
	last := segs[len(segs)-1]
	rec, err := recoverTail(last, verifyFrom)
	if err != nil {
		closeAll()
		return nil, recovery{}, err
	}
	if rec.DroppedBytes > 0 {
		size := int64(rec.End - last.header.BaseOffset)
		if err := last.file.Truncate(size); err != nil {
			closeAll()
			return nil, recovery{}, fmt.Errorf("truncate torn tail of %s: %w", last.path, err)
		}
		if err := last.file.Sync(); err != nil {
			closeAll()
			return nil, recovery{}, fmt.Errorf("sync %s after truncating: %w", last.path, err)
		}
		last.size.Store(size)
		logger.Warn("truncated torn tail of the log",
			"file", last.path, "offset", size, "dropped_bytes", rec.DroppedBytes, "reason", rec.DroppedReason)
	}
	l.publish(segs)
	l.active, l.end = last, last.size.Load()
	return l, rec, nil
}

// dropTornSegment removes the last segment when a crash interrupted its
// creation: it is no longer than a header and its header is incomplete or
// invalid. Such a file never held a record (a segment's header is synced
// before anything is written after it).
func dropTornSegment(fs FS, dir string, base uint64, logger *slog.Logger) (bool, error) {
	path := filepath.Join(dir, segmentName(base))
	f, err := fs.OpenFile(path, osOpenRead, 0)
	if err != nil {
		return false, fmt.Errorf("open segment: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("stat segment: %w", err)
	}
	if st.Size() > segmentHeaderSize {
		return false, nil
	}
	hb := make([]byte, st.Size())
	if _, err := f.ReadAt(hb, 0); err != nil {
		return false, fmt.Errorf("read segment header %s: %w", path, err)
	}
	if _, err := decodeSegmentHeader(hb); err == nil {
		return false, nil // a valid, empty segment
	}
	if err := fs.Remove(path); err != nil {
		return false, fmt.Errorf("remove torn segment %s: %w", path, err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return false, fmt.Errorf("sync log directory: %w", err)
	}
	logger.Warn("removed a segment whose creation was interrupted", "file", path, "bytes", st.Size())
	return true, nil
}

// recoverTail scans the last segment from verifyFrom (or its start) and
// returns where its committed records end.
func recoverTail(s *segment, verifyFrom uint64) (recovery, error) {
	size := s.size.Load()
	start := int64(segmentHeaderSize)
	if verifyFrom > s.header.BaseOffset && int64(verifyFrom-s.header.BaseOffset) <= size {
		start = int64(verifyFrom - s.header.BaseOffset)
	}
	buf := s.bytes(0, size)
	off := start
	committedEnd := start
	var rec record
	for off < size {
		payload, n, status := checkFrame(buf[off:])
		if status != frameOK {
			if findCommittedFrameAfter(buf, off+1) >= 0 {
				return recovery{}, &CorruptionError{File: s.path, Offset: off,
					Reason: status.String() + " followed by valid records (damage inside the log, not a torn tail)"}
			}
			return recovery{
				End:           s.header.BaseOffset + uint64(committedEnd),
				DroppedBytes:  size - committedEnd,
				DroppedReason: fmt.Sprintf("%s at offset %d", status, off),
			}, nil
		}
		if err := decodeRecord(payload, &rec); err != nil {
			return recovery{}, &CorruptionError{File: s.path, Offset: off, Reason: err.Error()}
		}
		off += frameHeaderSize + int64(n)
		if rec.commit() {
			committedEnd = off
		}
	}
	if committedEnd < size {
		return recovery{
			End:           s.header.BaseOffset + uint64(committedEnd),
			DroppedBytes:  size - committedEnd,
			DroppedReason: "records of a command whose last record was never written",
		}, nil
	}
	return recovery{End: s.header.BaseOffset + uint64(size)}, nil
}

// findCommittedFrameAfter returns the first offset at or after from where
// a complete frame with a matching checksum holds a decodable record that
// ends a command, or -1. It is only used on damage, to tell a torn tail
// (no committed command after it, so nothing acknowledged is lost) from
// damage in the middle of the log. Frames of an unfinished command after
// the damage do not count: a crash can persist pages out of order, and
// such a command was never acknowledged.
func findCommittedFrameAfter(buf []byte, from int64) int64 {
	var rec record
	for off := from; off+frameHeaderSize < int64(len(buf)); off++ {
		payload, _, status := checkFrame(buf[off:])
		if status == frameOK && decodeRecord(payload, &rec) == nil && rec.commit() {
			return off
		}
	}
	return -1
}

func (l *eventLog) publish(segs []*segment) { l.segs.Store(&segs) }

func (l *eventLog) segments() []*segment { return *l.segs.Load() }

// segmentAt returns the segment holding global offset off.
func (l *eventLog) segmentAt(off uint64) *segment {
	segs := l.segments()
	i, found := slices.BinarySearchFunc(segs, off, func(s *segment, off uint64) int {
		return cmp.Compare(s.header.BaseOffset, off)
	})
	if !found {
		i--
	}
	if i < 0 {
		return nil
	}
	return segs[i]
}

// errRollNeeded is what reserve returns when a command does not fit the
// active segment: the committer must hand on the frames staged so far,
// make them durable and roll (see Store.commitGroup). It is
// returned before anything is staged, so the command can be applied again.
type errRollNeeded struct{ size int }

func (e *errRollNeeded) Error() string {
	return fmt.Sprintf("engine: a command of %d bytes needs a new log segment", e.size)
}

// reserve returns the global offset at which a command of n bytes of
// frames will be written. A command never spans segments: when it would
// not fit, reserve returns *errRollNeeded.
func (l *eventLog) reserve(n int) (uint64, error) {
	used := l.end + int64(l.staged+len(l.pending))
	// Roll when the command would make the segment too big, or when it
	// does not fit the active segment's mapping at all (a command larger
	// than a segment, into a segment still empty: the empty one is sealed).
	if used+int64(n) > l.segmentSize && used > segmentHeaderSize || used+int64(n) > int64(len(l.active.mmap)) {
		return 0, &errRollNeeded{size: n}
	}
	return l.active.header.BaseOffset + uint64(used), nil
}

// stage appends frames to the pending write and returns a buffer for
// the caller's next frames: when nothing was pending, frames becomes the
// pending write itself (no copy) and the caller gets the old one back.
func (l *eventLog) stage(frames []byte) []byte {
	if len(l.pending) == 0 {
		l.pending, frames = frames, l.pending
		return frames[:0]
	}
	l.pending = append(l.pending, frames...)
	return frames[:0]
}

// growPending returns the pending chunk with room for n more bytes, for
// the applier to append a command's frames to and hand back with
// setPending (not staging them is leaving pending as it was). When the
// chunk is too small a new one starts (a recycled buffer when one is
// large enough): the frames staged before are never copied, so a group
// of several bulk commands is several chunks, written one after the
// other.
func (l *eventLog) growPending(n int) []byte {
	if cap(l.pending)-len(l.pending) >= n {
		return l.pending
	}
	if len(l.pending) > 0 {
		l.full = append(l.full, l.pending)
		l.staged += len(l.pending)
	}
	l.pending = l.freeBuffer(n)
	return l.pending
}

// setPending stages frames appended to what growPending returned.
func (l *eventLog) setPending(b []byte) { l.pending = b }

// freeBuffer returns an empty buffer for at least n bytes: a recycled one
// when it is large enough, else a new one with a quarter more room (bulk
// commands come in similar sizes, so the next recycled ones fit).
func (l *eventLog) freeBuffer(n int) []byte {
	select {
	case b := <-l.free:
		if cap(b) >= n {
			return b
		}
	default:
	}
	if n == 0 {
		return nil
	}
	return make([]byte, 0, n+n/4)
}

// framesOut are staged frames handed on to be written at a file offset
// of a segment, in one or more chunks; end is the global log offset just
// past them.
type framesOut struct {
	seg  *segment
	off  int64
	bufs [][]byte
	size int // bytes in bufs
	end  uint64
}

// takeFrames hands on the frames staged since the last call. The buffers
// belong to the caller until it passes them to recycle.
func (l *eventLog) takeFrames() framesOut {
	f := framesOut{seg: l.active, off: l.end, bufs: l.full, size: l.staged + len(l.pending)}
	if len(l.pending) > 0 {
		f.bufs = append(f.bufs, l.pending)
		l.pending = l.freeBuffer(0)
	}
	l.full, l.staged = nil, 0
	l.end += int64(f.size)
	f.end = l.active.header.BaseOffset + uint64(l.end)
	return f
}

// freeFrameBuffers bounds the recycled frame buffers kept.
const freeFrameBuffers = 8

// recycle gives the buffers of handed-on frames back for later groups.
func (l *eventLog) recycle(f *framesOut) {
	for _, buf := range f.bufs {
		if cap(buf) == 0 || cap(buf) > 16<<20 {
			continue
		}
		select {
		case l.free <- buf[:0]:
		default:
		}
	}
	f.bufs = nil
}

// writeFrames writes handed-on frames (the committer, in order). On
// error the file is cut back to where they began, best effort.
func writeFrames(f framesOut) error {
	off := f.off
	for _, buf := range f.bufs {
		if _, err := f.seg.file.WriteAt(buf, off); err != nil {
			f.seg.file.Truncate(f.off)
			return fmt.Errorf("write %s: %w", f.seg.path, err)
		}
		off += int64(len(buf))
	}
	return nil
}

// roll seals the active segment and starts a new one, whose header says
// nextPosition. Every frame staged in the active segment must be written
// and durable (the caller syncs it first), so a segment is complete on
// disk before the next one exists.
func (l *eventLog) roll(nextPosition uint64, firstCommand int) error {
	old := l.active
	if n := l.staged + len(l.pending); n > 0 {
		return fmt.Errorf("engine: rolling the log with %d bytes staged", n)
	}
	old.size.Store(l.end)
	h := segmentHeader{BaseOffset: old.header.BaseOffset + uint64(l.end), FirstPosition: nextPosition}
	s, err := createSegment(l.fs, l.dir, h, max(l.segmentSize, int64(segmentHeaderSize+firstCommand)))
	if err != nil {
		return err
	}
	l.logger.Debug("log rolled to a new segment", "file", s.path, "first_position", nextPosition)
	segs := append(slices.Clone(l.segments()), s)
	l.publish(segs)
	l.active, l.end = s, segmentHeaderSize
	return nil
}

// markDurable records that the active segment s is synced up to end.
func (l *eventLog) markDurable(s *segment, end uint64) {
	rel := int64(end - s.header.BaseOffset)
	if rel > s.size.Load() {
		s.size.Store(rel)
	}
}

func (l *eventLog) close() error {
	var first error
	for _, s := range l.segments() {
		if err := s.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
