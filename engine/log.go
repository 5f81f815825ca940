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
	version     uint16 // of new segments

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
	alloc   int64    // size of the active segment's file (zero-filled past end, tail.go)
	zeros   []byte   // tailWindow zero bytes, once needed
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
//
// New segments get format version (2; 1 only in tests of old stores).
func openLog(ctx context.Context, dir string, fs FS, segmentSize int64, version uint16, logger *slog.Logger, verifyFrom uint64) (*eventLog, recovery, error) {
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
	l := &eventLog{dir: dir, fs: fs, logger: logger, segmentSize: segmentSize, version: version, free: make(chan []byte, freeFrameBuffers),
		populate: make(chan chunkRequest, 256)}
	if len(bases) > 0 && bases[0] != 0 {
		return nil, recovery{}, &CorruptionError{File: filepath.Join(dir, segmentName(bases[0])), Offset: 0,
			Reason: fmt.Sprintf("the log starts at offset %d, not 0: earlier segments are missing", bases[0])}
	}
	if len(bases) == 0 {
		s, err := createSegment(fs, dir, segmentHeader{Version: version, BaseOffset: 0, FirstPosition: 1}, segmentSize)
		if err != nil {
			return nil, recovery{}, err
		}
		l.publish([]*segment{s})
		l.active, l.end, l.alloc = s, segmentHeaderSize, segmentHeaderSize
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
	rec, st, err := recoverTail(last, verifyFrom)
	if err != nil {
		closeAll()
		return nil, recovery{}, err
	}
	fileSize := last.size.Load()
	size := int64(rec.End - last.header.BaseOffset)
	if rec.DroppedBytes > 0 {
		if err := last.file.Truncate(size); err != nil {
			closeAll()
			return nil, recovery{}, fmt.Errorf("truncate torn tail of %s: %w", last.path, err)
		}
		fileSize = size
		logger.Warn("truncated torn tail of the log",
			"file", last.path, "offset", size, "dropped_bytes", rec.DroppedBytes, "reason", rec.DroppedReason)
	}
	// Make what recovery kept durable before anything is written after it:
	// after a SIGKILL it may still be only in the page cache, and a tail
	// mark recording it as durable must never precede it on disk.
	if err := last.file.Sync(); err != nil {
		closeAll()
		return nil, recovery{}, fmt.Errorf("sync %s: %w", last.path, err)
	}
	last.size.Store(size)
	l.publish(segs)
	l.active, l.end, l.alloc = last, size, fileSize
	if st.Durable > 0 || fileSize > size {
		logger.Debug("log tail", "file", last.path, "end", size, "zero_filled", fileSize-size, "tail_mark_durable", st.Durable)
	}
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
// returns where its committed records end (examineTail says how the rest
// is judged). Nothing is changed on disk.
func recoverTail(s *segment, verifyFrom uint64) (recovery, tailState, error) {
	size := s.size.Load()
	start := int64(segmentHeaderSize)
	if verifyFrom > s.header.BaseOffset && int64(verifyFrom-s.header.BaseOffset) <= size {
		start = int64(verifyFrom - s.header.BaseOffset)
	}
	st, err := examineTail(s.path, s.header, s.bytes(0, size), start)
	if err != nil {
		return recovery{}, st, err
	}
	if st.Damaged {
		return recovery{}, st, &CorruptionError{File: s.path, Offset: st.damageOffset(size), Reason: st.Reason}
	}
	rec := recovery{End: s.header.BaseOffset + uint64(st.Committed)}
	if st.Garbage > 0 {
		rec.DroppedBytes, rec.DroppedReason = st.Garbage, st.Reason
	}
	return rec, st, nil
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
	if k := len(f.bufs) - 1; k >= 0 && cap(f.bufs[k])-len(f.bufs[k]) < tailMarkSize {
		// Room for the tail mark, which goes out in the same write (see
		// write). Buffers are reused, so this rarely copies.
		b := f.bufs[k]
		f.bufs[k] = append(make([]byte, 0, len(b)+len(b)/4+tailMarkSize), b...)
	}
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

// write writes handed-on frames (the committer, in order). In a version
// 2 segment a tail mark recording durable (the global log offset already
// fsynced) follows them in the same write when the last buffer has room
// for it, and a group that reaches past the zero-filled window extends
// it (tail.go). On error the file is cut back to where the frames began,
// best effort.
func (l *eventLog) write(f framesOut, durable uint64) error {
	if f.size == 0 {
		return nil
	}
	seg := f.seg
	v2 := seg.header.Version >= 2
	var mark []byte
	if v2 {
		mark = appendTailMark(make([]byte, 0, tailMarkSize), f.end, durable)
	}
	off := f.off
	for i, buf := range f.bufs {
		if i == len(f.bufs)-1 && mark != nil && cap(buf)-len(buf) >= tailMarkSize {
			buf = append(buf, mark...) // into spare room: the caller's slice keeps its length
			mark = nil
		}
		if _, err := seg.file.WriteAt(buf, off); err != nil {
			return l.cutBack(f, fmt.Errorf("write %s: %w", seg.path, err))
		}
		off += int64(len(buf))
	}
	if mark != nil {
		if _, err := seg.file.WriteAt(mark, off); err != nil {
			return l.cutBack(f, fmt.Errorf("write %s: %w", seg.path, err))
		}
	}
	end := f.off + int64(f.size)
	if !v2 {
		l.alloc = max(l.alloc, end)
		return nil
	}
	used := end + tailMarkSize
	if used <= l.alloc {
		return nil
	}
	// Past the zero-filled window: zero-fill the next one. The fsync that
	// makes these frames durable makes the window durable too; later
	// groups overwrite it without changing the file's size.
	limit := max(int64(len(seg.mmap)), used)
	want := min(limit, (used+tailWindow+4095)/4096*4096)
	if f.size >= tailSkipZeroFill || want <= used {
		l.alloc = used
		return nil
	}
	if l.zeros == nil {
		l.zeros = make([]byte, tailWindow)
	}
	for at := used; at < want; {
		n := min(want-at, int64(len(l.zeros)))
		if _, err := seg.file.WriteAt(l.zeros[:n], at); err != nil {
			return l.cutBack(f, fmt.Errorf("zero-fill %s: %w", seg.path, err))
		}
		at += n
	}
	l.alloc = want
	return nil
}

// cutBack truncates the active segment to where failed frames began,
// best effort (the store has failed: this only tidies up).
func (l *eventLog) cutBack(f framesOut, err error) error {
	if f.seg.file.Truncate(f.off) == nil {
		l.alloc = f.off
	}
	return err
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
	if l.alloc != l.end {
		// Sealed segments end with their last frame: cut the zero-filled
		// window and tail mark, durably, before the next segment exists.
		if err := old.file.Truncate(l.end); err != nil {
			return fmt.Errorf("truncate %s to seal it: %w", old.path, err)
		}
		if err := old.file.Sync(); err != nil {
			return fmt.Errorf("sync %s after sealing it: %w", old.path, err)
		}
		l.alloc = l.end
	}
	h := segmentHeader{Version: l.version, BaseOffset: old.header.BaseOffset + uint64(l.end), FirstPosition: nextPosition}
	s, err := createSegment(l.fs, l.dir, h, max(l.segmentSize, int64(segmentHeaderSize+firstCommand)))
	if err != nil {
		return err
	}
	l.logger.Debug("log rolled to a new segment", "file", s.path, "first_position", nextPosition)
	segs := append(slices.Clone(l.segments()), s)
	l.publish(segs)
	l.active, l.end, l.alloc = s, segmentHeaderSize, segmentHeaderSize
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
