package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// eventData is the data of event v of stream, size bytes long (at least
// the prefix), so a reader can check it got the right bytes.
func eventData(stream string, v, size int) []byte {
	b := fmt.Appendf(nil, "%s/%d/", stream, v)
	for len(b) < size {
		b = append(b, byte('a'+(len(b)+v)%26))
	}
	return b
}

// logFrames returns the global offset and payload of every frame of the
// store's log, read through the mapping.
func logFrames(t testing.TB, s *Store) (offs []uint64, payloads [][]byte) {
	t.Helper()
	sc := s.log.scan(0, s.head.Load().LogEnd)
	for {
		_, off, ok, err := sc.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return offs, payloads
		}
		seg := sc.segs[sc.i]
		rel := int64(off - seg.header.BaseOffset)
		p, _, st := checkFrame(seg.bytes(rel, seg.size.Load()-rel))
		if st != frameOK {
			t.Fatalf("frame at %d: %v", off, st)
		}
		offs, payloads = append(offs, off), append(payloads, bytes.Clone(p))
	}
}

// TestPreadReadsMatchTheMapping writes events of various sizes into
// 4 KiB segments (so records end at segment ends, and large ones get a
// segment of their own) and checks that every random-access read path
// (frameReader, ReadStream both ways, GetEvent) returns what the mapping
// holds, and that short ReadAll ranges agree with the whole scan.
func TestPreadReadsMatchTheMapping(t *testing.T) {
	for _, tt := range []struct {
		name    string
		segment int64 // segment size
		sizes   []int // data sizes, cycled through the events
	}{
		{"small", 4096, []int{10, 200, 300}},
		{"around the first read", 4096, []int{minSpeculativeRead - 120, minSpeculativeRead - 60, minSpeculativeRead, minSpeculativeRead + 100}},
		{"growing then shrinking", 4096, []int{100, 3000, 9000, 20000, 9000, 3000, 100}},
		{"over the largest first read", 512 << 10, []int{50, maxSpeculativeRead + 1000, 60, 7000, 128 << 10, 3000}},
		{"larger than a segment", 4096, []int{300, 100 << 10, 300}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			opts := testOptions()
			opts.SegmentSize = tt.segment
			s := openTestStore(t, t.TempDir(), opts)
			const streams, perStream = 5, 12
			want := map[uuid.UUID][]byte{}
			for v := 0; v < perStream; v++ {
				for i := 0; i < streams; i++ {
					st := fmt.Sprintf("s-%d", i)
					id := uuid.New()
					d := eventData(st, v, tt.sizes[(v*streams+i)%len(tt.sizes)])
					want[id] = d
					if _, err := s.Append(ctx, st, ExpectAny, EventData{ID: id, Type: "T", Data: d}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if n := len(s.log.segments()); n < 3 {
				t.Fatalf("the log has %d segments; the test needs records at several segment ends", n)
			}
			offs, payloads := logFrames(t, s)
			end := s.head.Load().LogEnd

			fr := newFrameReader(s.log)
			for _, order := range []string{"forward", "backward"} {
				for k := range offs {
					if order == "backward" {
						k = len(offs) - 1 - k
					}
					p, err := fr.read(offs[k], end)
					if err != nil {
						t.Fatalf("%s: frame at %d: %v", order, offs[k], err)
					}
					if !bytes.Equal(p, payloads[k]) {
						t.Fatalf("%s: frame at %d: pread gave %d bytes that differ from the mapping's %d", order, offs[k], len(p), len(payloads[k]))
					}
				}
			}
			// A limit just short of a frame's end: the frame is cut off.
			last := offs[len(offs)-1]
			_, err := fr.read(last, last+frameHeaderSize+uint64(len(payloads[len(payloads)-1]))-1)
			var ce *CorruptionError
			if !errors.As(err, &ce) || ce.Reason != frameShort.String() {
				t.Fatalf("frame read with a limit inside it: %v, want a truncated-frame *CorruptionError", err)
			}

			for i := 0; i < streams; i++ {
				st := fmt.Sprintf("s-%d", i)
				for _, dir := range []Direction{Forward, Backward} {
					evs := collect(t)(s.ReadStream(ctx, st, -1, ReadOptions{Direction: dir}))
					if len(evs) != perStream {
						t.Fatalf("%s: %d events, want %d", st, len(evs), perStream)
					}
					for _, e := range evs {
						if !bytes.Equal(e.Data, want[e.ID]) || e.Stream != st {
							t.Fatalf("%s v%d (dir %d): wrong data %.40q", st, e.Version, dir, e.Data)
						}
					}
				}
			}
			for id, d := range want {
				e, err := s.GetEvent(ctx, id)
				if err != nil || !bytes.Equal(e.Data, d) {
					t.Fatalf("GetEvent(%s): %v, data equal %v", id, err, err == nil && bytes.Equal(e.Data, d))
				}
			}
			all := collect(t)(s.ReadAll(ctx, 0, ReadOptions{}))
			// Type and category reads fetch nearby frames in spans
			// (span_reader.go): from every start, whole and limited,
			// they must return what $all holds.
			for from := 1; from <= len(all); from += 7 {
				for _, limit := range []int{0, 1, 5} {
					for _, read := range []func() (*EventIterator, error){
						func() (*EventIterator, error) { return s.ReadType(ctx, "T", uint64(from), ReadOptions{Limit: limit}) },
						func() (*EventIterator, error) {
							return s.ReadCategory(ctx, "s", uint64(from), ReadOptions{Limit: limit})
						},
					} {
						got := collect(t)(read())
						wantN := len(all) - from + 1
						if limit > 0 {
							wantN = min(limit, wantN)
						}
						if len(got) != wantN {
							t.Fatalf("type/category read from %d, limit %d: %d events, want %d", from, limit, len(got), wantN)
						}
						for k, e := range got {
							if w := all[from-1+k]; e.Position != w.Position || e.ID != w.ID || !bytes.Equal(e.Data, w.Data) {
								t.Fatalf("type/category read from %d[%d]: position %d, want %d (or different data)", from, k, e.Position, w.Position)
							}
						}
					}
				}
			}
			for from := 1; from <= len(all); from++ {
				got := collect(t)(s.ReadAll(ctx, uint64(from), ReadOptions{Limit: 3}))
				wantN := min(3, len(all)-from+1)
				if len(got) != wantN {
					t.Fatalf("ReadAll(%d, limit 3): %d events, want %d", from, len(got), wantN)
				}
				for k, e := range got {
					if w := all[from-1+k]; e.Position != w.Position || !bytes.Equal(e.Data, w.Data) {
						t.Fatalf("ReadAll(%d, limit 3)[%d]: position %d, want %d (or different data)", from, k, e.Position, w.Position)
					}
				}
			}
		})
	}
}

// TestPreadReadsDuringAppends reads streams, events by id and short $all
// ranges while a writer appends and the log rolls over segments: every
// event read must be whole and the right one.
func TestPreadReadsDuringAppends(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	opts.SegmentSize = 16 << 10
	s := openTestStore(t, t.TempDir(), opts)
	const streams, rounds = 4, 150
	ids := make(chan uuid.UUID, streams*rounds)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ids)
		for v := 0; v < rounds; v++ {
			for i := 0; i < streams; i++ {
				st := fmt.Sprintf("s-%d", i)
				id := uuid.New()
				if _, err := s.Append(ctx, st, ExpectAny, EventData{ID: id, Type: "T", Data: eventData(st, v, 100+(v%7)*700)}); err != nil {
					t.Error(err)
					return
				}
				ids <- id
			}
		}
	}()
	check := func(e *RecordedEvent) error {
		if w := eventData(e.Stream, int(e.Version), len(e.Data)); !bytes.Equal(e.Data, w) {
			return fmt.Errorf("%s v%d at position %d: wrong data %.40q", e.Stream, e.Version, e.Position, e.Data)
		}
		return nil
	}
	var checked int
	readers := make(chan int, 2)
	for r := 0; r < 2; r++ {
		go func() {
			n := 0
			defer func() { readers <- n }()
			var last uuid.UUID
			for done := false; !done; {
				select {
				case id, ok := <-ids:
					if !ok {
						done = true
						break
					}
					last = id
				default:
				}
				if last != uuid.Nil {
					e, err := s.GetEvent(ctx, last)
					if err == nil {
						err = check(e)
					}
					if err != nil {
						t.Error(err)
						return
					}
					n++
				}
				for i := 0; i < streams; i++ {
					it, err := s.ReadStream(ctx, fmt.Sprintf("s-%d", i), -1, ReadOptions{Direction: Backward, Limit: 20})
					if errors.Is(err, ErrStreamNotFound) {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					for it.Next() {
						if err := check(it.Event()); err != nil {
							t.Error(err)
						}
						n++
					}
					if err := it.Close(); err != nil || it.Err() != nil {
						t.Error(err, it.Err())
					}
				}
				h := s.Head()
				if h == 0 {
					continue
				}
				it, err := s.ReadAll(ctx, max(1, h-30), ReadOptions{Limit: 25})
				if err != nil {
					t.Error(err)
					return
				}
				for it.Next() {
					if err := check(it.Event()); err != nil {
						t.Error(err)
					}
					n++
				}
				if it.Close(); it.Err() != nil {
					t.Error(it.Err())
				}
			}
		}()
	}
	wg.Wait()
	checked = <-readers + <-readers
	if checked == 0 {
		t.Fatal("the readers checked no event")
	}
	if n := len(s.log.segments()); n < 3 {
		t.Fatalf("the log has %d segments; the appends should have rolled it", n)
	}
}

// TestPreadReadsReportCorruption damages a record of a sealed segment
// (Open does not verify it after a clean close) and reads it through each
// random-access path: each must return a *CorruptionError naming the file
// and the frame's offset.
func TestPreadReadsReportCorruption(t *testing.T) {
	tpl := buildLogTemplate(t, segmentFormatVersion)
	for _, tt := range []struct {
		name   string
		damage func(t *testing.T, path string, fr frameInfo)
	}{
		{"flipped payload byte", func(t *testing.T, path string, fr frameInfo) { flipByte(t, path, fr.Off+fr.Len-1) }},
		{"flipped crc byte", func(t *testing.T, path string, fr frameInfo) { flipByte(t, path, fr.Off+5) }},
		{"length past the segment end", func(t *testing.T, path string, fr frameInfo) {
			setFrameLength(t, path, fr.Off, uint32(mustSize(t, path)))
		}},
		{"length over the maximum", func(t *testing.T, path string, fr frameInfo) {
			setFrameLength(t, path, fr.Off, maxRecordPayload+1)
		}},
		{"length a little longer", func(t *testing.T, path string, fr frameInfo) {
			setFrameLength(t, path, fr.Off, uint32(fr.Len-frameHeaderSize+3))
		}},
		{"zero length", func(t *testing.T, path string, fr frameInfo) { setFrameLength(t, path, fr.Off, 0) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := tpl.copyTo(t, "clean")
			path := tpl.path(dir, 0)
			var fr frameInfo
			for _, f := range segmentFrames(t, path) {
				if f.Kind == kindEvent {
					fr = f // the last event of the sealed segment
				}
			}
			tt.damage(t, path, fr)
			s := openTestStore(t, dir, tpl.opts())
			if _, err := s.GetEvent(ctx, fr.ID); err == nil {
				t.Fatal("GetEvent of the damaged event succeeded")
			} else {
				checkCorruption(t, err, path, fr.Off)
			}
			it, err := s.ReadAll(ctx, fr.Pos, ReadOptions{Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for it.Next() {
			}
			it.Close()
			checkCorruption(t, it.Err(), path, fr.Off)

			// A type read fetches the damaged frame inside a span of its
			// neighbours (span_reader.go).
			it, err = s.ReadType(ctx, "Tested", max(1, fr.Pos-3), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for it.Next() {
				if it.Event().ID == fr.ID {
					t.Fatalf("ReadType returned the damaged event %s", fr.ID)
				}
			}
			it.Close()
			checkCorruption(t, it.Err(), path, fr.Off)

			stream := tpl.events[fr.Pos-1].Stream
			if stream == "" {
				t.Fatalf("the template does not know the stream of position %d", fr.Pos)
			}
			it, err = s.ReadStream(ctx, stream, 0, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for it.Next() {
				if it.Event().ID == fr.ID {
					t.Fatalf("ReadStream returned the damaged event %s", fr.ID)
				}
			}
			it.Close()
			checkCorruption(t, it.Err(), path, fr.Off)
		})
	}
}
