package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMappedReads reads the same events through pread and through
// populated mappings: stream, type and category reads and GetEvent return
// the same events either way, populated chunks take no pread, the active
// segment's partly written chunk stays on pread, and damage is reported
// through the mapping as through pread.
func TestMappedReads(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	opts.SkipWarmup = true // the test populates by hand
	dir := t.TempDir()
	s := openTestStore(t, dir, opts)
	const n = 400
	for i := range n {
		stream := fmt.Sprintf("order-%d", i%7)
		typ := []string{"Placed", "Paid"}[i%2]
		if _, err := s.Append(ctx, stream, ExpectAny, EventData{Type: typ, Data: eventData(stream, i, 300)}); err != nil {
			t.Fatal(err)
		}
	}
	if segs := s.log.segments(); len(segs) < 3 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	type reads struct{ preads, mapped uint64 }
	counts := func() reads { st := s.Stats(); return reads{st.LogReads, st.MappedReads} }
	readAll := func() [][]*RecordedEvent {
		var out [][]*RecordedEvent
		for i := range 7 {
			out = append(out, collect(t)(s.ReadStream(ctx, fmt.Sprintf("order-%d", i), 0, ReadOptions{})))
			out = append(out, collect(t)(s.ReadStream(ctx, fmt.Sprintf("order-%d", i), -1, ReadOptions{Direction: Backward})))
		}
		out = append(out, collect(t)(s.ReadType(ctx, "Paid", 0, ReadOptions{})))
		out = append(out, collect(t)(s.ReadCategory(ctx, "order", 0, ReadOptions{})))
		var byID []*RecordedEvent
		for _, e := range out[0] {
			got, err := s.GetEvent(ctx, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			byID = append(byID, got)
		}
		return append(out, byID)
	}

	before := counts()
	viaPread := readAll()
	if c := counts(); c.mapped != before.mapped || c.preads == before.preads {
		t.Fatalf("before populating: %+v -> %+v, want preads only", before, c)
	}

	vec := make([]byte, residentChunk/unix.Getpagesize())
	segs := s.log.segments()
	populated := 0
	for i, seg := range segs {
		for c := range seg.resident.chunks() {
			ok, err := populateChunk(seg, c, i == len(segs)-1, false, vec)
			if err != nil {
				t.Skipf("populating mappings: %v", err)
			}
			if ok {
				populated++
			}
		}
	}
	// Segments of 64 KiB are one chunk each; the active one is partly
	// written and stays unpopulated.
	if populated != len(segs)-1 {
		t.Fatalf("populated %d chunks, want %d (every sealed segment)", populated, len(segs)-1)
	}

	before = counts()
	viaMapping := readAll()
	c := counts()
	if c.mapped == before.mapped {
		t.Fatalf("after populating: %+v -> %+v, want mapped reads", before, c)
	}
	if !reflect.DeepEqual(viaPread, viaMapping) {
		t.Fatal("reads through the mapping differ from reads through pread")
	}
	// Only the active segment's events still take preads.
	before = counts()
	last := collect(t)(s.ReadAll(ctx, s.Stats().Events, ReadOptions{}))
	if len(last) != 1 {
		t.Fatalf("last event: %d events", len(last))
	}
	if _, err := s.GetEvent(ctx, last[0].ID); err != nil {
		t.Fatal(err)
	}
	if c := counts(); c.preads != before.preads+1 || c.mapped != before.mapped {
		t.Fatalf("event in the active segment: %+v -> %+v, want one pread", before, c)
	}
	first := viaPread[0][0]
	before = counts()
	if _, err := s.GetEvent(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if c := counts(); c.preads != before.preads || c.mapped != before.mapped+1 {
		t.Fatalf("event in a sealed segment: %+v -> %+v, want one mapped read", before, c)
	}

	// Damage in a populated chunk is found through the mapping (MAP_SHARED
	// shows the file's bytes).
	seg := segs[0]
	if !seg.resident.has(segmentHeaderSize) {
		t.Fatal("first segment not populated")
	}
	flipByte(t, filepath.Join(dir, "log", filepath.Base(seg.path)), segmentHeaderSize+frameHeaderSize+10)
	_, err := s.GetEvent(ctx, first.ID)
	checkCorruption(t, err, seg.path, segmentHeaderSize)
}

// TestWarmerPopulatesLog opens a store with the warmer on and waits for
// reads of sealed segments to go through the mapping.
func TestWarmerPopulatesLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions()
	s := openTestStore(t, dir, opts)
	for i := range 300 {
		if _, err := s.Append(ctx, fmt.Sprintf("s-%d", i%5), ExpectAny, EventData{Type: "T", Data: eventData("s", i, 400)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, opts)
	defer s.Close()
	// The warmer maps the sealed segments after open; stream reads then
	// take no pread. Wait for it by reading until they do.
	for try := 0; ; try++ {
		before := s.Stats()
		got := collect(t)(s.ReadStream(ctx, "s-0", 0, ReadOptions{Limit: 10}))
		after := s.Stats()
		if len(got) != 10 {
			t.Fatalf("%d events", len(got))
		}
		if after.LogReads == before.LogReads && after.MappedReads > before.MappedReads {
			break
		}
		if try == 2000 {
			t.Fatalf("reads of sealed segments still take preads: %d preads, %d mapped", after.LogReads-before.LogReads, after.MappedReads-before.MappedReads)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
