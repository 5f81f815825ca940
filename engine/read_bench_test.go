package engine

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"
	"time"
)

// randomReadFixture is a store of benchEvents events in benchStreams
// streams of benchStreamLen events, written 1000 streams at a time one
// event each, so a stream's events lie ~1000 records (~300 KB) apart in
// the log, as in bench/sqlbench. offs holds the log offset of every frame.
type randomReadFixture struct {
	s       *Store
	streams int
	offs    []uint64
}

const (
	benchStreamLen  = 10
	benchInterleave = 1000
)

var benchEventsFlag = flag.Int("randomread.events", 1_000_000, "events in BenchmarkRandomRead's store (a multiple of 10,000)")

func newRandomReadFixture(b *testing.B) *randomReadFixture {
	b.Helper()
	benchEvents := *benchEventsFlag
	benchStreams := benchEvents / benchStreamLen
	ctx := context.Background()
	opts := testOptions()
	opts.SegmentSize = 64 << 20
	opts.IndexMemtableSize = 16 << 20
	opts.IndexCacheSize = DefaultOptions().IndexCacheSize
	opts.idFlushEntries = defaultIDFlushEntries
	s, err := Open(ctx, b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	data := []byte(`{"orderId":"o-1","customer":"c-42","sku":"SKU-123","qty":3,"price":12.5,"note":"padding padding padding padding padding padding padding padding padding padding padding padding"}`)
	start := time.Now()
	parts := make([]StreamAppend, benchInterleave)
	for g := 0; g < benchStreams/benchInterleave; g++ {
		for v := 0; v < benchStreamLen; v++ {
			for i := range parts {
				parts[i] = StreamAppend{Stream: fmt.Sprintf("order-%d", g*benchInterleave+i), Expected: ExpectAny,
					Events: []EventData{{ID: uuid.New(), Type: fmt.Sprintf("T%d", v%4), Data: data, DataIsJSON: true}}}
			}
			if _, err := s.AppendMulti(ctx, parts); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("wrote %d events in %v", benchEvents, time.Since(start))
	// Let the work the load left behind finish (the id filter, index
	// flushes and compactions), so it does not run during the timings.
	s.background.Wait()
	if err := s.db.Flush(); err != nil {
		b.Fatal(err)
	}
	for idle := 0; idle < 10; time.Sleep(100 * time.Millisecond) {
		if m := s.db.Metrics(); m.Compact.NumInProgress == 0 && m.Flush.NumInProgress == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	f := &randomReadFixture{s: s, streams: benchStreams, offs: make([]uint64, 0, benchEvents)}
	sc := s.log.scan(0, s.head.Load().LogEnd)
	for {
		_, off, ok, err := sc.next()
		if err != nil {
			b.Fatal(err)
		}
		if !ok {
			break
		}
		f.offs = append(f.offs, off)
	}
	return f
}

// remap replaces every segment's mapping with a fresh one, as a freshly
// started process has: the file stays in the page cache, but no page of
// it is mapped yet. No reader or writer may be active.
func (f *randomReadFixture) remap(b *testing.B) {
	for _, seg := range f.s.log.segments() {
		n := len(seg.mmap)
		if err := unix.Munmap(seg.mmap); err != nil {
			b.Fatal(err)
		}
		m, err := unix.Mmap(int(seg.file.Fd()), 0, n, unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			b.Fatal(err)
		}
		seg.mmap = m
	}
}

// BenchmarkRandomRead compares ways of reading events at random places of
// a 1M-event log whose files are in the page cache, with the mapping
// fresh (remapped every remapEvery operations, outside the timer) or reused
// across operations (never remapped during the run).
//
//   - stream: ReadStream of a random 10-event stream (the index's blocks
//     stay in Pebble's cache; the log reads are what varies).
//   - frame/mmap: the frame at a random offset, through the mapping.
//   - frame/pread: the same frame through frameReader (one pread).
//   - range: ReadAll of 100 events from a random position (a SQL
//     position range).
//   - all: ReadAll of the whole log (sequential), events/s; "reused"
//     maps the log once before the run.
func BenchmarkRandomRead(b *testing.B) {
	f := newRandomReadFixture(b)
	ctx := context.Background()
	const remapEvery = 200
	for _, fresh := range []bool{true, false} {
		mapping := "fresh"
		if !fresh {
			mapping = "reused"
		}
		// maybeRemap runs between operations, off the clock.
		maybeRemap := func(b *testing.B, i int) {
			if fresh && i%remapEvery == 0 {
				b.StopTimer()
				f.remap(b)
				b.StartTimer()
			}
		}
		b.Run("stream/map="+mapping, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			f.remap(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				maybeRemap(b, i)
				it, err := f.s.ReadStream(ctx, fmt.Sprintf("order-%d", rng.IntN(f.streams)), 0, ReadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for it.Next() {
					n++
				}
				if err := it.Err(); err != nil || n != benchStreamLen {
					b.Fatalf("read %d events, err %v", n, err)
				}
				it.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*benchStreamLen), "µs/event")
		})
		b.Run("frame/mmap/map="+mapping, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			f.remap(b)
			end := f.s.head.Load().LogEnd
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				maybeRemap(b, i)
				off := f.offs[rng.IntN(len(f.offs))]
				seg := f.s.log.segmentAt(off)
				rel := int64(off - seg.header.BaseOffset)
				if _, _, st := checkFrame(seg.bytes(rel, int64(min(seg.endOffset(), end)-off))); st != frameOK {
					b.Fatal(st)
				}
			}
		})
		b.Run("frame/pread/map="+mapping, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			f.remap(b)
			fr := newFrameReader(f.s.log)
			end := f.s.head.Load().LogEnd
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				maybeRemap(b, i)
				if _, err := fr.read(f.offs[rng.IntN(len(f.offs))], end); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("range/map=fresh", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(5, 6))
		f.remap(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%remapEvery == 0 {
				b.StopTimer()
				f.remap(b)
				b.StartTimer()
			}
			it, err := f.s.ReadAll(ctx, 1+uint64(rng.IntN(len(f.offs)-100)), ReadOptions{Limit: 100})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for it.Next() {
				n++
			}
			if err := it.Err(); err != nil || n != 100 {
				b.Fatalf("read %d events, err %v", n, err)
			}
			it.Close()
		}
	})
	for _, fresh := range []bool{true, false} {
		name := "all/map=fresh"
		if !fresh {
			name = "all/map=reused"
		}
		b.Run(name, func(b *testing.B) {
			scan := func() {
				it, err := f.s.ReadAll(ctx, 0, ReadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for it.Next() {
					n++
				}
				if err := it.Err(); err != nil || n != len(f.offs) {
					b.Fatalf("read %d events, err %v", n, err)
				}
				it.Close()
			}
			f.remap(b)
			if !fresh {
				scan()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if fresh {
					b.StopTimer()
					f.remap(b)
					b.StartTimer()
				}
				scan()
			}
			b.ReportMetric(float64(len(f.offs)*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
