package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// segmentPaths returns the segment files of the store in dir, in log order.
func segmentPaths(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		if _, ok := parseSegmentName(e.Name()); ok {
			paths = append(paths, filepath.Join(dir, "log", e.Name()))
		}
	}
	slices.Sort(paths) // names are zero-padded offsets
	if len(paths) == 0 {
		t.Fatalf("no segment in %s", dir)
	}
	return paths
}

// frameInfo describes one frame of a segment file.
type frameInfo struct {
	Off, Len int64 // file offset of the frame, and its size with the header
	Kind     recordKind
	Pos      uint64
	ID       uuid.UUID
	Commit   bool
}

// segmentFrames decodes the frames of a segment file up to the first one
// that does not check out.
func segmentFrames(t testing.TB, path string) []frameInfo {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeSegmentHeader(b); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var frames []frameInfo
	var r record
	for off := int64(segmentHeaderSize); off < int64(len(b)); {
		payload, n, status := checkFrame(b[off:])
		if status != frameOK || decodeRecord(payload, &r) != nil {
			break
		}
		frames = append(frames, frameInfo{Off: off, Len: frameHeaderSize + int64(n), Kind: r.Kind, Pos: r.Position, ID: r.ID, Commit: r.commit()})
		off += frameHeaderSize + int64(n)
	}
	return frames
}

func mustSize(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// patchFile overwrites bytes of a file at off (extending it if needed).
func patchFile(t testing.TB, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// flipByte inverts one byte of a file.
func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	b := readAt(t, path, off, 1)
	patchFile(t, path, off, []byte{^b[0]})
}

func readAt(t testing.TB, path string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

// setFrameLength overwrites the length field of the frame at off.
func setFrameLength(t testing.TB, path string, off int64, length uint32) {
	t.Helper()
	patchFile(t, path, off, binary.LittleEndian.AppendUint32(nil, length))
}

func truncateFile(t testing.TB, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies a closed store (or any tree of regular files).
func copyDir(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		out, err := os.Create(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, src); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// crashClose closes s the way a crash would leave its directory: the log
// keeps what was written, and the index loses what it had not flushed
// (it has no write-ahead log of its own), so its checkpoint stays where
// the last flush left it.
func crashClose(s *Store) {
	s.fail(errors.New("simulated crash"))
	s.Close()
}

// logTemplate is a closed store with events in several 4 KiB segments.
// Its last segment ends with three commands written after the index
// checkpoint (the store was crash-closed after them):
//
//	T1: one event          at position N-4
//	T2: three events       at positions N-3..N-1, in two streams
//	T3: one event          at position N
type logTemplate struct {
	version  uint16 // segment format (formatOptions)
	dir      string
	events   []ackedEvent // all of them, by position
	segments []string     // file names
	last     []frameInfo  // frames of the last segment
	t1, t3   frameInfo
	t2       []frameInfo
}

func (l *logTemplate) n() uint64 { return uint64(len(l.events)) }

// formatOptions are testOptions writing segments of format version
// (1: as stores before format 2 did, growing with each write; 2: with a
// zero-filled tail and tail marks).
func formatOptions(version uint16) Options {
	o := testOptions()
	o.segmentVersion = version
	return o
}

// forEachFormat runs f as a subtest per segment format.
func forEachFormat(t *testing.T, f func(t *testing.T, version uint16)) {
	for _, v := range []uint16{1, 2} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) { f(t, v) })
	}
}

// opts are the options to open copies of the template with.
func (l *logTemplate) opts() Options { return formatOptions(l.version) }

// end is the file offset just past the last frame of the last segment.
func (l *logTemplate) end() int64 { return l.t3.Off + l.t3.Len }

// tailOf examines the tail of a segment file as recovery would (the last
// segment) or reads do.
func tailOf(t testing.TB, path string) tailState {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := decodeSegmentHeader(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	st, err := examineTail(path, h, b, segmentHeaderSize)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st
}

// checkCleanEnd checks that the segment's records end at end and that
// nothing but a clean tail (version 2: zeros and a tail mark) follows.
func checkCleanEnd(t testing.TB, path string, end int64) {
	t.Helper()
	st := tailOf(t, path)
	if st.Committed != end || st.Garbage != 0 || st.Damaged {
		t.Fatalf("%s: records end at %d with %d bytes of garbage after (%s), want a clean end at %d",
			filepath.Base(path), st.Committed, st.Garbage, st.Reason, end)
	}
	if h, _ := decodeSegmentHeader(readAt(t, path, 0, segmentHeaderSize)); h.Version == 1 && mustSize(t, path) != end {
		t.Fatalf("%s: version 1 segment is %d bytes, want %d", filepath.Base(path), mustSize(t, path), end)
	}
}

func buildLogTemplate(t testing.TB, version uint16) *logTemplate {
	t.Helper()
	ctx := context.Background()
	tpl := &logTemplate{version: version, dir: t.TempDir()}
	opts := tpl.opts()
	opts.SegmentSize = 4096
	s := openTestStore(t, tpl.dir, opts)
	tpl.events = appendSome(t, s, "w", 31, 60)
	// Fill up until the log rolls, so the tail fits in the new segment.
	for segs := len(segmentPaths(t, tpl.dir)); len(segmentPaths(t, tpl.dir)) == segs; {
		tpl.events = append(tpl.events, appendSome(t, s, fmt.Sprintf("f%d", len(tpl.events)), 1, 60)...)
	}
	if err := s.Close(); err != nil { // checkpoint at the end of the log
		t.Fatal(err)
	}
	s = openTestStore(t, tpl.dir, opts)
	for _, parts := range [][]StreamAppend{
		cmdParts("t1", []string{"tail-1"}, 1, 20),
		cmdParts("t2", []string{"tail-1", "tail-2"}, 3, 20),
		cmdParts("t3", []string{"tail-2"}, 1, 20),
	} {
		res, err := s.AppendMulti(ctx, parts)
		if err != nil {
			t.Fatal(err)
		}
		tpl.events = append(tpl.events, ackedOf(parts, res)...)
	}
	crashClose(s)

	paths := segmentPaths(t, tpl.dir)
	for _, p := range paths {
		tpl.segments = append(tpl.segments, filepath.Base(p))
	}
	tpl.last = segmentFrames(t, paths[len(paths)-1])
	k := len(tpl.last)
	if len(paths) < 3 || k < 6 {
		t.Fatalf("template: %d segments, %d frames in the last one; want at least 3 and 6", len(paths), k)
	}
	checkCleanEnd(t, paths[len(paths)-1], tpl.last[k-1].Off+tpl.last[k-1].Len)
	for _, p := range paths {
		if h, _ := decodeSegmentHeader(readAt(t, p, 0, segmentHeaderSize)); h.Version != version {
			t.Fatalf("template: %s has format version %d, want %d", filepath.Base(p), h.Version, version)
		}
	}
	tpl.t1, tpl.t2, tpl.t3 = tpl.last[k-5], tpl.last[k-4:k-1], tpl.last[k-1]
	n := tpl.n()
	if tpl.t1.Pos != n-4 || tpl.t2[0].Pos != n-3 || tpl.t3.Pos != n || !tpl.t1.Commit || tpl.t2[1].Commit || !tpl.t2[2].Commit {
		t.Fatalf("template: unexpected layout of the last segment: %+v", tpl.last[k-5:])
	}
	return tpl
}

// copyTo copies the template into a new directory. variant is "clean"
// (reopened and closed cleanly: the index checkpoint covers the whole
// log), "crash" (the checkpoint is before T1) or "noindex" (the index is
// deleted: Open re-indexes the whole log).
func (l *logTemplate) copyTo(t testing.TB, variant string) string {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, l.dir, dir)
	switch variant {
	case "clean":
		s := openTestStore(t, dir, l.opts())
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	case "noindex":
		if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
			t.Fatal(err)
		}
	case "crash":
	default:
		t.Fatalf("unknown variant %q", variant)
	}
	return dir
}

func (l *logTemplate) path(dir string, i int) string {
	if i < 0 {
		i += len(l.segments)
	}
	return filepath.Join(dir, "log", l.segments[i])
}

// TestTailDamageIsTruncated damages the end of the last segment the ways
// a crash can (a torn write, a write that reached the disk in part, space
// allocated but never written) and checks, in the manner of Prometheus's
// TestWALRepair_ReadingError, exactly which events survive: Open drops
// the damaged record and everything after it, truncates the file and
// takes new appends at the next position.
func TestTailDamageIsTruncated(t *testing.T) {
	forEachFormat(t, testTailDamageIsTruncated)
}

func testTailDamageIsTruncated(t *testing.T, version uint16) {
	tpl := buildLogTemplate(t, version)
	zeros := make([]byte, 4096)
	// zeroFrom zeroes a file from off to its end.
	zeroFrom := func(t *testing.T, p string, off int64) {
		patchFile(t, p, off, make([]byte, mustSize(t, p)-off))
	}
	garbage := bytes.Repeat([]byte("\x17garbage\xff"), 100)
	for _, tt := range []struct {
		name string
		// damage changes the last segment; it returns where Open must end
		// its records (and, in version 1, truncate the file).
		damage func(t *testing.T, path string) int64
		// drop is how many events at the end of the log are lost.
		drop uint64
		// clean: the case also applies when the index checkpoint covers the
		// damaged record (damage that shortens the file or is past its
		// end; anything else there is not a torn tail but corruption, see
		// TestInnerDamageIsReported).
		clean bool
	}{
		{"torn last record", func(t *testing.T, p string) int64 {
			truncateFile(t, p, tpl.t3.Off+tpl.t3.Len/2)
			return tpl.t3.Off
		}, 1, true},
		{"torn last frame header", func(t *testing.T, p string) int64 {
			truncateFile(t, p, tpl.t3.Off+5)
			return tpl.t3.Off
		}, 1, true},
		{"last record missing its final byte", func(t *testing.T, p string) int64 {
			truncateFile(t, p, tpl.t3.Off+tpl.t3.Len-1)
			return tpl.t3.Off
		}, 1, true},
		{"bad checksum in the last record's payload", func(t *testing.T, p string) int64 {
			flipByte(t, p, tpl.t3.Off+frameHeaderSize+30)
			return tpl.t3.Off
		}, 1, false},
		{"bad checksum field of the last record", func(t *testing.T, p string) int64 {
			flipByte(t, p, tpl.t3.Off+4)
			return tpl.t3.Off
		}, 1, false},
		{"last record's length past the end of the file", func(t *testing.T, p string) int64 {
			setFrameLength(t, p, tpl.t3.Off, uint32(tpl.t3.Len-frameHeaderSize+100))
			return tpl.t3.Off
		}, 1, false},
		{"last record's length shorter than written", func(t *testing.T, p string) int64 {
			setFrameLength(t, p, tpl.t3.Off, uint32(tpl.t3.Len-frameHeaderSize-10))
			return tpl.t3.Off
		}, 1, false},
		{"last record's length over the maximum", func(t *testing.T, p string) int64 {
			setFrameLength(t, p, tpl.t3.Off, 0xfffffff0)
			return tpl.t3.Off
		}, 1, false},
		{"last record zeroed", func(t *testing.T, p string) int64 {
			patchFile(t, p, tpl.t3.Off, zeros[:tpl.t3.Len])
			return tpl.t3.Off
		}, 1, false},
		{"4 KiB of zeros after the last record", func(t *testing.T, p string) int64 {
			patchFile(t, p, tpl.end(), zeros)
			return tpl.end()
		}, 0, true},
		{"garbage after the last record", func(t *testing.T, p string) int64 {
			patchFile(t, p, tpl.end(), garbage)
			return tpl.end()
		}, 0, true},
		{"garbage at the end of the file", func(t *testing.T, p string) int64 {
			patchFile(t, p, mustSize(t, p), garbage)
			return tpl.end()
		}, 0, true},
		{"multi-event command missing its commit record", func(t *testing.T, p string) int64 {
			truncateFile(t, p, tpl.t2[2].Off)
			return tpl.t2[0].Off
		}, 4, true},
		{"multi-event command torn inside its second record", func(t *testing.T, p string) int64 {
			truncateFile(t, p, tpl.t2[1].Off+20)
			return tpl.t2[0].Off
		}, 4, true},
		{"multi-event command with its commit record and the rest zeroed", func(t *testing.T, p string) int64 {
			zeroFrom(t, p, tpl.t2[2].Off)
			return tpl.t2[0].Off
		}, 4, false},
	} {
		for _, variant := range []string{"crash", "noindex", "clean"} {
			if variant == "clean" && !tt.clean {
				continue
			}
			t.Run(tt.name+"/"+variant, func(t *testing.T) {
				ctx := context.Background()
				dir := tpl.copyTo(t, variant)
				path := tpl.path(dir, -1)
				wantEnd := tt.damage(t, path)
				n := tpl.n() - tt.drop

				s := openTestStore(t, dir, tpl.opts())
				all := checkDurable(t, s, tpl.events[:n])
				if uint64(len(all)) != n {
					t.Fatalf("%d events survive, want %d", len(all), n)
				}
				checkCleanEnd(t, path, wantEnd)
				for _, e := range tpl.events[n:] {
					if _, err := s.GetEvent(ctx, e.ID); !errors.Is(err, ErrEventNotFound) {
						t.Fatalf("dropped event at position %d: GetEvent: %v", e.Pos, err)
					}
				}
				// The next append takes the next position, even when it reuses
				// the id of a dropped event: the id is free again.
				again := jsonEvent("Again", `{}`)
				again.ID = uuid.New()
				if tt.drop > 0 {
					again.ID = tpl.events[n].ID
				}
				res, err := s.Append(ctx, "again-1", ExpectNoStream, again)
				if err != nil || res.FirstPosition != n+1 || res.Idempotent {
					t.Fatalf("append after recovery = %+v, %v; want position %d", res, err, n+1)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				s = openTestStore(t, dir, tpl.opts())
				checkDurable(t, s, append(slices.Clone(tpl.events[:n]), ackedEvent{Pos: n + 1, ID: again.ID, Stream: "again-1"}))
			})
		}
	}
}

// checkCorruption checks that err is a *CorruptionError naming file and
// offset.
func checkCorruption(t testing.TB, err error, file string, off int64) {
	t.Helper()
	var ce *CorruptionError
	if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
		t.Fatalf("error = %v; want a *CorruptionError matching ErrCorrupt", err)
	}
	if ce.File != file || ce.Offset != off {
		t.Fatalf("corruption reported in %s at offset %d, want %s at offset %d (%v)", ce.File, ce.Offset, file, off, err)
	}
}

// TestInnerDamageIsReported damages records that are followed by
// committed records, or sealed segments: that is not a torn tail, and
// truncating would drop acknowledged events. Open must refuse with a
// *CorruptionError naming the file and offset, or, for damage Open does
// not look at (before the index checkpoint), the reads that reach it
// must.
func TestInnerDamageIsReported(t *testing.T) {
	forEachFormat(t, testInnerDamageIsReported)
}

func testInnerDamageIsReported(t *testing.T, version uint16) {
	tpl := buildLogTemplate(t, version)
	type where struct {
		seg int   // segment index (negative: from the end)
		off int64 // offset reported
		id  uuid.UUID
	}
	for _, tt := range []struct {
		name string
		// damage returns where the corruption must be reported.
		damage func(t *testing.T, dir string) where
		// detect says when: "open" (Open always fails), "tail" (Open fails
		// when it verifies the damaged records: after a crash or without
		// an index; otherwise reads fail), "scan" (Open fails only when it
		// re-indexes everything, otherwise reads fail).
		detect string
	}{
		{"flipped payload byte followed by committed records", func(t *testing.T, dir string) where {
			flipByte(t, tpl.path(dir, -1), tpl.t1.Off+frameHeaderSize+40)
			return where{-1, tpl.t1.Off, tpl.t1.ID}
		}, "tail"},
		{"damaged length followed by committed records", func(t *testing.T, dir string) where {
			setFrameLength(t, tpl.path(dir, -1), tpl.t1.Off, uint32(tpl.t1.Len-frameHeaderSize+7))
			return where{-1, tpl.t1.Off, tpl.t1.ID}
		}, "tail"},
		{"zeroed commit record followed by a committed record", func(t *testing.T, dir string) where {
			patchFile(t, tpl.path(dir, -1), tpl.t2[2].Off, make([]byte, tpl.t2[2].Len))
			return where{-1, tpl.t2[2].Off, tpl.t2[2].ID}
		}, "tail"},
		{"flipped byte in a sealed segment", func(t *testing.T, dir string) where {
			fr := segmentFrames(t, tpl.path(dir, 0))[5]
			flipByte(t, tpl.path(dir, 0), fr.Off+fr.Len-1)
			return where{0, fr.Off, fr.ID}
		}, "scan"},
		{"zeroed record in a sealed segment", func(t *testing.T, dir string) where {
			fr := segmentFrames(t, tpl.path(dir, 1))[2]
			patchFile(t, tpl.path(dir, 1), fr.Off, make([]byte, fr.Len))
			return where{1, fr.Off, fr.ID}
		}, "scan"},
		{"sealed segment truncated", func(t *testing.T, dir string) where {
			fr := segmentFrames(t, tpl.path(dir, 0))[3]
			truncateFile(t, tpl.path(dir, 0), fr.Off+3)
			return where{0, fr.Off + 3, uuid.Nil}
		}, "open"},
		{"sealed segment missing its last record", func(t *testing.T, dir string) where {
			frs := segmentFrames(t, tpl.path(dir, 0))
			last := frs[len(frs)-1]
			truncateFile(t, tpl.path(dir, 0), last.Off)
			return where{0, last.Off, uuid.Nil}
		}, "open"},
		{"sealed segment missing", func(t *testing.T, dir string) where {
			if err := os.Remove(tpl.path(dir, 1)); err != nil {
				t.Fatal(err)
			}
			return where{0, mustSize(t, tpl.path(dir, 0)), uuid.Nil}
		}, "open"},
		{"damaged segment header", func(t *testing.T, dir string) where {
			flipByte(t, tpl.path(dir, 1), 20)
			return where{1, 0, uuid.Nil}
		}, "open"},
	} {
		for _, variant := range []string{"clean", "crash", "noindex"} {
			t.Run(tt.name+"/"+variant, func(t *testing.T) {
				ctx := context.Background()
				dir := tpl.copyTo(t, variant)
				w := tt.damage(t, dir)
				file := tpl.path(dir, w.seg)
				s, err := Open(ctx, dir, tpl.opts())
				if tt.detect == "open" || tt.detect == "tail" && variant != "clean" || tt.detect == "scan" && variant == "noindex" {
					if err == nil {
						s.Close()
						t.Fatalf("Open succeeded, want it to report the corruption")
					}
					checkCorruption(t, err, file, w.off)
					return
				}
				if err != nil {
					t.Fatalf("Open: %v (the damage is before the index checkpoint: Open should not read it)", err)
				}
				defer s.Close()
				it, err := s.ReadAll(ctx, 0, ReadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				var n int
				for it.Next() {
					n++
				}
				it.Close()
				checkCorruption(t, it.Err(), file, w.off)
				if uint64(n) >= tpl.n() {
					t.Fatalf("ReadAll returned all %d events and then the error", n)
				}
				if _, err := s.GetEvent(ctx, w.id); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("GetEvent of the damaged event: %v, want ErrCorrupt", err)
				}
			})
		}
	}
}

// TestOpenDetectsMissingFirstSegment deletes the first segment file.
// Later segments chain to each other, so only the first one's base
// offset (0, position 1) tells that the start of the log is gone.
func TestOpenDetectsMissingFirstSegment(t *testing.T) {
	forEachFormat(t, testOpenDetectsMissingFirstSegment)
}

func testOpenDetectsMissingFirstSegment(t *testing.T, version uint16) {
	tpl := buildLogTemplate(t, version)
	for _, variant := range []string{"clean", "noindex"} {
		t.Run(variant, func(t *testing.T) {
			dir := tpl.copyTo(t, variant)
			if err := os.Remove(tpl.path(dir, 0)); err != nil {
				t.Fatal(err)
			}
			s, err := Open(context.Background(), dir, tpl.opts())
			if err == nil {
				defer s.Close()
				all, rerr := readAllErr(s)
				t.Fatalf("BUG: Open succeeded without the first segment (ReadAll: %d events from position %d, %v); want ErrCorrupt",
					len(all), firstPos(all), rerr)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("BUG: Open without the first segment: %v; want ErrCorrupt", err)
			}
		})
	}
}

func readAllErr(s *Store) ([]*RecordedEvent, error) {
	it, err := s.ReadAll(context.Background(), 0, ReadOptions{})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*RecordedEvent
	for it.Next() {
		out = append(out, it.Event().Clone())
	}
	return out, it.Err()
}

func firstPos(evs []*RecordedEvent) uint64 {
	if len(evs) == 0 {
		return 0
	}
	return evs[0].Position
}

// TestOpenAfterCrashInSegmentCreation leaves what a crash during a roll
// can leave: the new segment's file exists but its header never reached
// the disk (createSegment writes and syncs the header only after creating
// the file). No record can have been written to it, so Open should
// discard it, not refuse to open.
func TestOpenAfterCrashInSegmentCreation(t *testing.T) {
	forEachFormat(t, testOpenAfterCrashInSegmentCreation)
}

func testOpenAfterCrashInSegmentCreation(t *testing.T, version uint16) {
	tpl := buildLogTemplate(t, version)
	for _, tt := range []struct {
		name   string
		header []byte
	}{
		{"empty file", nil},
		{"part of the header", segmentHeader{BaseOffset: 1, FirstPosition: 1}.encode()[:11]},
		{"zeroed header", make([]byte, segmentHeaderSize)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := tpl.copyTo(t, "crash")
			last := tpl.path(dir, -1)
			base, _ := parseSegmentName(filepath.Base(last))
			// A roll cuts the zero-filled tail of the segment it seals first.
			truncateFile(t, last, tpl.end())
			next := filepath.Join(dir, "log", segmentName(base+uint64(tpl.end())))
			if err := os.WriteFile(next, tt.header, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Open(context.Background(), dir, tpl.opts())
			if err != nil {
				t.Fatalf("BUG: Open after a crash while creating a segment: %v", err)
			}
			defer s.Close()
			checkDurable(t, s, tpl.events)
		})
	}
}

// TestIndexRebuildGivesSameAnswers deletes the index: Open rebuilds it
// from the log, and every read must answer as before.
func TestIndexRebuildGivesSameAnswers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions()
	opts.SegmentSize = 4096
	s := openTestStore(t, dir, opts)
	var ids []uuid.UUID
	app := func(stream string, evs ...EventData) {
		t.Helper()
		for i := range evs {
			evs[i].ID = uuid.New()
			ids = append(ids, evs[i].ID)
		}
		if _, err := s.Append(ctx, stream, ExpectAny, evs...); err != nil {
			t.Fatal(err)
		}
	}
	withMeta := func(e EventData) EventData {
		e.Metadata, e.MetadataIsJSON = []byte(`{"by":"test"}`), true
		return e
	}
	for i := range 40 {
		app(fmt.Sprintf("cart-%d", i%5), jsonEvent("ItemAdded", fmt.Sprintf(`{"i":%d,"pad":%q}`, i, strings.Repeat("p", i*10))))
		if i%7 == 0 {
			app(fmt.Sprintf("order-%d", i), withMeta(jsonEvent("OrderPlaced", `{}`)), EventData{Type: "Raw", Data: []byte{0, 1, 2, byte(i)}})
		}
	}
	parts := []StreamAppend{
		{Stream: "cart-1", Expected: ExpectAny, Events: []EventData{idEvent(uuid.New(), "CheckedOut", `{}`)}},
		{Stream: "order-99", Expected: ExpectNoStream, Events: []EventData{idEvent(uuid.New(), "OrderPlaced", `{}`), idEvent(uuid.New(), "OrderPaid", `{}`)}},
	}
	if _, err := s.AppendMulti(ctx, parts); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		for _, e := range p.Events {
			ids = append(ids, e.ID)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetStreamMetadata(ctx, "cart-2", StreamMetadata{MaxCount: 3, Custom: []byte(`{"owner":"x"}`)}))
	must(s.SetStreamMetadata(ctx, "cart-3", StreamMetadata{TruncateBefore: 5}))
	must(s.SetStreamMetadata(ctx, "audit-1", StreamMetadata{MaxCount: 10})) // metadata only, no events
	must(s.DeleteStream(ctx, "cart-4", ExpectAny, false))                   // soft
	must(s.DeleteStream(ctx, "order-7", ExpectAny, true))                   // hard
	must(s.DeleteStream(ctx, "order-14", ExpectAny, false))
	app("order-14", jsonEvent("OrderReopened", `{}`)) // back after a soft delete
	app("cart-2", jsonEvent("ItemAdded", `{"late":true}`))
	if len(segmentPaths(t, dir)) < 3 {
		t.Fatalf("want several segments")
	}

	before := readEverything(t, s, ids)
	must(s.Close())
	s = openTestStore(t, dir, opts)
	if got := readEverything(t, s, ids); got != before {
		t.Fatalf("answers differ after a reopen:\n%s", diffLines(before, got))
	}
	must(s.Close())
	must(os.RemoveAll(filepath.Join(dir, "index")))
	s = openTestStore(t, dir, opts)
	if got := readEverything(t, s, ids); got != before {
		t.Fatalf("answers differ after the index was rebuilt:\n%s", diffLines(before, got))
	}
	// And the rebuilt index takes appends like the old one.
	res, err := s.Append(ctx, "cart-2", 40/5, jsonEvent("ItemAdded", `{}`))
	if err != nil || res.FirstPosition != s.Head() {
		t.Fatalf("append after the rebuild: %+v, %v", res, err)
	}
	if _, err := s.Append(ctx, "order-7", ExpectAny, jsonEvent("X", `{}`)); !errors.Is(err, ErrStreamDeleted) {
		t.Fatalf("append to the hard-deleted stream after the rebuild: %v", err)
	}
}

// readEverything renders the answer of every read API, for comparison;
// GetEvent is asked about ids (and an unknown one).
func readEverything(t testing.TB, s *Store, ids []uuid.UUID) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	evs := func(it *EventIterator, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		defer it.Close()
		var sb strings.Builder
		for it.Next() {
			e := it.Event()
			fmt.Fprintf(&sb, "\n\t%d %s@%d %s %s %s %q %q %v %v", e.Position, e.Stream, e.Version, e.ID, e.Type,
				e.CreatedAt.Format("15:04:05.000000"), e.Data, e.Metadata, e.DataIsJSON, e.MetadataIsJSON)
		}
		if err := it.Err(); err != nil {
			fmt.Fprintf(&sb, "\n\terror: %v", err)
		}
		return sb.String()
	}
	st := s.Stats()
	p("stats: events=%d streams=%d bytes=%d head=%d", st.Events, st.Streams, st.DataBytes, s.Head())
	p("$all:%s", evs(s.ReadAll(ctx, 0, ReadOptions{})))
	p("$all from 17 limit 5:%s", evs(s.ReadAll(ctx, 17, ReadOptions{Limit: 5})))

	var streams []string
	it, err := s.ListStreams(ctx, ListStreamsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for it.Next() {
		info := it.Stream()
		streams = append(streams, info.Name)
		p("list: %+v", info)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	it.Close()
	it, err = s.ListStreams(ctx, ListStreamsOptions{Prefix: "order-", After: "order-14", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	for it.Next() {
		p("list order- after order-14: %s", it.Stream().Name)
	}
	it.Close()
	for _, name := range append(streams, "nope-1") {
		info, err := s.StreamInfo(ctx, name)
		p("info %s: %+v %v", name, info, err)
		p("stream %s:%s", name, evs(s.ReadStream(ctx, name, 0, ReadOptions{})))
		p("stream %s from 2 limit 2:%s", name, evs(s.ReadStream(ctx, name, 2, ReadOptions{Limit: 2})))
		p("stream %s backward:%s", name, evs(s.ReadStream(ctx, name, -1, ReadOptions{Direction: Backward})))
		p("stream %s backward from 3:%s", name, evs(s.ReadStream(ctx, name, 3, ReadOptions{Direction: Backward})))
	}
	types, err := s.EventTypes(ctx)
	p("types: %+v %v", types, err)
	for _, ty := range types {
		p("type %s:%s", ty.Name, evs(s.ReadType(ctx, ty.Name, 0, ReadOptions{})))
		p("type %s backward from 30:%s", ty.Name, evs(s.ReadType(ctx, ty.Name, 30, ReadOptions{Direction: Backward})))
	}
	cats, err := s.Categories(ctx)
	p("categories: %+v %v", cats, err)
	for _, c := range cats {
		p("category %s:%s", c.Name, evs(s.ReadCategory(ctx, c.Name, 0, ReadOptions{})))
		p("category %s from 20 backward:%s", c.Name, evs(s.ReadCategory(ctx, c.Name, 20, ReadOptions{Direction: Backward})))
	}
	for _, id := range append(ids, uuid.MustParse("00000000-0000-4000-8000-000000000001")) {
		got, err := s.GetEvent(ctx, id)
		if err != nil {
			p("get %s: %v", id, err)
		} else {
			p("get %s: %d %s@%d %s %q", id, got.Position, got.Stream, got.Version, got.Type, got.Data)
		}
	}
	return b.String()
}

// diffLines shows the first lines where a and b differ.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 20; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  before: %s\n  after:  %s", i, x, y))
		}
	}
	return strings.Join(out, "\n")
}
