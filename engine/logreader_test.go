package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestLogReaderMatchesReadAll reads a store that is open (locked) with a
// LogReader and checks it returns what Store.ReadAll returns, with deleted
// and truncated streams hidden, across several segments, and that events
// appended after the LogReader was opened are not seen.
func TestLogReaderMatchesReadAll(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir, testOptions())
	for i := range 300 {
		stream := fmt.Sprintf("s-%d", i%7)
		if _, err := s.Append(ctx, stream, ExpectAny, jsonEvent("T", fmt.Sprintf(`{"i":%d,"pad":"%0200d"}`, i, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteStream(ctx, "s-1", ExpectAny, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStreamMetadata(ctx, "s-2", StreamMetadata{MaxCount: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir, testOptions()); err == nil {
		t.Fatal("second Open succeeded; the test needs a locked store")
	}
	r, err := OpenLogReader(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := s.Append(ctx, "late", ExpectAny, jsonEvent("T", `{}`)); err != nil {
		t.Fatal(err)
	}
	if r.ID() != s.ID() || r.Head() != 300 {
		t.Fatalf("id %q head %d, want %q 300", r.ID(), r.Head(), s.ID())
	}
	segs, _ := os.ReadDir(filepath.Join(dir, "log"))
	if len(segs) < 2 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	for _, from := range []uint64{0, 1, 150, 299, 300, 301} {
		want := collect(t)(s.ReadAll(ctx, from, ReadOptions{}))
		want = want[:len(want)-1] // "late"
		if from == 301 {
			want = nil
		}
		got := collect(t)(r.ReadAll(ctx, from, ReadOptions{}))
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("from %d: %d events, want %d", from, len(got), len(want))
		}
	}
}

// TestLogReaderIgnoresUncommittedTail: records after the last commit flag
// (a torn write) are not read and nothing is truncated.
func TestLogReaderIgnoresUncommittedTail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir, testOptions())
	if _, err := s.Append(ctx, "a", ExpectAny, jsonEvent("T", `{"x":1}`), jsonEvent("T", `{"x":2}`)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "log", "*.seg"))
	last := segs[len(segs)-1]
	st, _ := os.Stat(last)
	// An event frame without the commit flag followed by garbage.
	frame := appendEventFrame(nil, flagDataJSON, 3, 2, 1, [16]byte{1}, "a", "T", []byte(`{}`), nil)
	f, _ := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(frame)
	f.Write([]byte{1, 2, 3})
	f.Close()
	r, err := OpenLogReader(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := collect(t)(r.ReadAll(ctx, 0, ReadOptions{}))
	if len(got) != 2 || r.Head() != 2 {
		t.Fatalf("read %d events, head %d; want 2, 2", len(got), r.Head())
	}
	st2, _ := os.Stat(last)
	if st2.Size() != st.Size()+int64(len(frame))+3 {
		t.Fatal("the log was modified")
	}
}

func TestLogReaderNotAStore(t *testing.T) {
	if _, err := OpenLogReader(context.Background(), t.TempDir()); err == nil {
		t.Fatal("no error for an empty directory")
	}
}

// TestLogReaderSurvivesRollTruncation: a running server cuts the
// zero-filled window off its active segment when it rolls, possibly
// after a LogReader mapped the segment at its old size. Reading the
// bytes past the new end of the file then faults; committedEnd must stop
// there instead of crashing the process.
func TestLogReaderSurvivesRollTruncation(t *testing.T) {
	dir := t.TempDir()
	s, err := createSegment(OSFS{}, dir, segmentHeader{Version: 2, FirstPosition: 1}, 8192)
	if err != nil {
		t.Fatal(err)
	}
	s.close()
	// One event whose frame ends exactly at the first page boundary.
	fr := appendEventFrame(nil, flagCommit, 1, 0, 0, [16]byte{1}, "s-1", "T", nil, nil)
	pad := 4096 - segmentHeaderSize - len(fr)
	fr = appendEventFrame(nil, flagCommit, 1, 0, 0, [16]byte{1}, "s-1", "T", make([]byte, pad), nil)
	path := filepath.Join(dir, segmentName(0))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(append(fr, make([]byte, 4096)...), segmentHeaderSize); err != nil {
		t.Fatal(err)
	}
	seg, err := openSegment(OSFS{}, path, osOpenRead, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.close()
	if seg.size.Load() != 8192 {
		t.Fatalf("segment maps %d bytes", seg.size.Load())
	}
	if err := f.Truncate(4096); err != nil { // the roll
		t.Fatal(err)
	}
	end, err := committedEnd(seg)
	if err != nil || end != 4096 {
		t.Fatalf("committedEnd = %d, %v; want 4096", end, err)
	}
}
