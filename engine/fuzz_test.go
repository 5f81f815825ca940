package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

// fuzzRecords returns valid payloads of every record kind, for seeds.
func fuzzRecords() [][]byte {
	id := uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	return [][]byte{
		appendEventRecord(nil, flagCommit|flagDataJSON, 1, 0, 1767322800000000, id, "cart-1", "ItemAdded", []byte(`{"sku":"A"}`), nil),
		appendEventRecord(nil, flagDataJSON|flagMetadataJSON, 42, 7, 1767322800000001, id, "order-9", "OrderPlaced", []byte(`{}`), []byte(`{"by":"x"}`)),
		appendEventRecord(nil, flagCommit, 1<<40, 1<<33, -1, [16]byte{}, "s", "t", []byte{0, 1, 2, 0xff}, nil),
		appendMetadataRecord(nil, 12, 1767322800000002, "cart-1", StreamMetadata{MaxCount: 3, MaxAge: time.Hour, TruncateBefore: 2, Custom: []byte(`{"a":1}`)}),
		appendMetadataRecord(nil, 0, 0, "x", StreamMetadata{}),
		appendDeleteRecord(nil, 13, 1767322800000003, "cart-1", false),
		appendDeleteRecord(nil, 14, 1767322800000004, "order-9", true),
	}
}

// FuzzDecodeRecord: decodeRecord never panics, and what it accepts
// encodes back to the same bytes (event records) or decodes the same
// again after encoding (metadata and delete records, whose encoders fix
// the flags).
func FuzzDecodeRecord(f *testing.F) {
	for _, p := range fuzzRecords() {
		f.Add(p)
		f.Add(p[:len(p)-1])
	}
	f.Add([]byte{})
	f.Add([]byte{9})
	f.Fuzz(func(t *testing.T, p []byte) {
		var r record
		if err := decodeRecord(p, &r); err != nil {
			return
		}
		switch r.Kind {
		case kindEvent:
			if len(r.Stream) == 0 || len(r.Type) == 0 {
				t.Fatalf("accepted an event with an empty stream or type")
			}
			enc := appendEventRecord(nil, r.Flags, r.Position, r.Version, r.CreatedAt, r.ID,
				string(r.Stream), string(r.Type), r.Data, r.Metadata)
			if !bytes.Equal(enc, p) {
				t.Fatalf("re-encoded event record differs:\n got %x\nwant %x", enc, p)
			}
		case kindMetadata:
			enc := appendMetadataRecord(nil, r.Position, r.CreatedAt, string(r.Stream), r.Meta)
			var r2 record
			if err := decodeRecord(enc, &r2); err != nil {
				t.Fatalf("re-encoded metadata record does not decode: %v", err)
			}
			if r2.Position != r.Position || r2.CreatedAt != r.CreatedAt || !bytes.Equal(r2.Stream, r.Stream) ||
				r2.Meta.MaxCount != r.Meta.MaxCount || r2.Meta.MaxAge != r.Meta.MaxAge ||
				r2.Meta.TruncateBefore != r.Meta.TruncateBefore || !bytes.Equal(r2.Meta.Custom, r.Meta.Custom) {
				t.Fatalf("metadata record changed in a round trip: %+v -> %+v", r, r2)
			}
		case kindDelete:
			enc := appendDeleteRecord(nil, r.Position, r.CreatedAt, string(r.Stream), r.hard())
			var r2 record
			if err := decodeRecord(enc, &r2); err != nil {
				t.Fatalf("re-encoded delete record does not decode: %v", err)
			}
			if r2.Position != r.Position || r2.CreatedAt != r.CreatedAt || !bytes.Equal(r2.Stream, r.Stream) || r2.hard() != r.hard() {
				t.Fatalf("delete record changed in a round trip: %+v -> %+v", r, r2)
			}
		default:
			t.Fatalf("accepted a record of unknown kind %d", r.Kind)
		}
	})
}

// FuzzCheckFrame: checkFrame never panics; frameOK means the length and
// checksum fields match the payload it returns; and every payload framed
// by appendFrame checks out.
func FuzzCheckFrame(f *testing.F) {
	for _, p := range fuzzRecords() {
		fr := appendFrame(nil, p)
		f.Add(fr)
		f.Add(fr[:len(fr)-1])
		f.Add(append(fr, make([]byte, 16)...))
	}
	f.Add(make([]byte, 8))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		payload, n, status := checkFrame(b)
		if status > frameBadCRC {
			t.Fatalf("unknown status %d", status)
		}
		_ = status.String()
		if len(b) < frameHeaderSize && status != frameShort {
			t.Fatalf("%d bytes: status %v, want %v", len(b), status, frameShort)
		}
		if status == frameOK {
			length := binary.LittleEndian.Uint32(b)
			if n <= 0 || n != len(payload) || uint32(n) != length || n > maxRecordPayload {
				t.Fatalf("frameOK with n=%d, payload of %d bytes, length field %d", n, len(payload), length)
			}
			if !bytes.Equal(payload, b[frameHeaderSize:frameHeaderSize+n]) {
				t.Fatalf("payload is not the bytes after the header")
			}
			if frameChecksum(b[:4], payload) != binary.LittleEndian.Uint32(b[4:]) {
				t.Fatalf("frameOK but the checksum does not match")
			}
			if enc := appendFrame(nil, payload); !bytes.Equal(enc, b[:frameHeaderSize+n]) {
				t.Fatalf("re-framed payload differs")
			}
		} else if payload != nil {
			t.Fatalf("status %v with a payload", status)
		}
		if len(b) > 0 {
			fr := appendFrame(nil, b)
			if p, n, st := checkFrame(fr); st != frameOK || n != len(b) || !bytes.Equal(p, b) {
				t.Fatalf("appendFrame then checkFrame: %v, %d", st, n)
			}
		}
	})
}

// fuzzStore is a small closed store shared by the iterations of
// FuzzOpenDamagedSegment, with the layout of its last segment.
type fuzzStore struct {
	dir    string
	events []ackedEvent
	last   string // name of the last segment file
	orig   []byte // its bytes
	// commitEnd maps each event to the file offset just past the commit
	// record of its command in the last segment (0: earlier segment).
	commitEnd map[uuid.UUID]int64
}

func buildFuzzStore(dir string) (*fuzzStore, error) {
	opts := testOptions()
	opts.SegmentSize = 4096
	s, err := Open(context.Background(), dir, opts)
	if err != nil {
		return nil, err
	}
	fs := &fuzzStore{dir: dir, commitEnd: make(map[uuid.UUID]int64)}
	for i := range 24 {
		parts := cmdParts("f", []string{"fz-1"}, 1, 50)
		if i%3 == 2 {
			parts = cmdParts("f", []string{"fz-1", "fz-2"}, 3, 30)
		}
		res, err := s.AppendMulti(context.Background(), parts)
		if err != nil {
			s.Close()
			return nil, err
		}
		fs.events = append(fs.events, ackedOf(parts, res)...)
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(dir, "log"))
	if err != nil {
		return nil, err
	}
	if len(entries) < 2 {
		return nil, errors.New("want at least two segments")
	}
	fs.last = entries[len(entries)-1].Name()
	if fs.orig, err = os.ReadFile(filepath.Join(dir, "log", fs.last)); err != nil {
		return nil, err
	}
	var pending []uuid.UUID
	var r record
	for off := int64(segmentHeaderSize); off < int64(len(fs.orig)); {
		payload, n, status := checkFrame(fs.orig[off:])
		if status == frameZero {
			break // the zero-filled tail (and its tail mark)
		}
		if status != frameOK || decodeRecord(payload, &r) != nil {
			return nil, errors.New("template segment does not decode")
		}
		off += frameHeaderSize + int64(n)
		pending = append(pending, r.ID)
		if r.commit() {
			for _, id := range pending {
				fs.commitEnd[id] = off
			}
			pending = pending[:0]
		}
	}
	return fs, nil
}

// FuzzOpenDamagedSegment overwrites bytes of the last segment of a small
// store at a fuzzed offset (the write may extend the file) and opens it,
// with its index or without (a full re-index). Open must succeed or fail,
// never panic; when it succeeds, every event whose command was committed
// before the first changed byte must be readable, and the store must take
// an append at the next position. Without an index, a successful Open has
// read the whole log, so $all must read to the end without error.
//
// Each run opens a store (tens of ms); when fuzzing, bound the
// minimization of new inputs: -fuzzminimizetime=10x.
func FuzzOpenDamagedSegment(f *testing.F) {
	f.Add(uint32(0), []byte{0xff}, false)
	f.Add(uint32(40), []byte{1, 2, 3, 4}, true)
	f.Add(uint32(200), []byte{0, 0, 0, 0, 0, 0, 0, 0}, false)
	f.Add(uint32(600), []byte("garbage"), true)
	f.Add(uint32(1<<20), make([]byte, 64), false)
	f.Add(uint32(1<<20), []byte{0x10, 0, 0, 0, 0xde, 0xad}, true)
	fs, err := buildFuzzStore(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, off uint32, patch []byte, keepIndex bool) {
		if len(patch) > 64 {
			patch = patch[:64]
		}
		size := int64(len(fs.orig))
		at := int64(off) % (size + 64) // past the end: the file grows
		if off >= 1<<20 {
			at = size + int64(off)%64 // seeds for appended bytes
		}
		dir := t.TempDir()
		copyDir(t, fs.dir, dir)
		if !keepIndex {
			if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, "log", fs.last)
		patchFile(t, path, at, patch)
		// The first byte that changed, or the file size when none did.
		changed := size
		for i, c := range patch {
			if o := at + int64(i); o >= size || fs.orig[o] != c {
				changed = min(changed, o)
				break
			}
		}

		ctx := context.Background()
		s, err := Open(ctx, dir, testOptions())
		if err != nil {
			return // refusing a damaged log is fine
		}
		defer s.Close()
		var intact []ackedEvent
		for _, e := range fs.events {
			if end, ok := fs.commitEnd[e.ID]; !ok || end <= changed {
				intact = append(intact, e)
			}
		}
		if h := s.Head(); h < uint64(len(intact)) {
			t.Fatalf("Head() = %d after damage at offset %d, want at least %d", h, changed, len(intact))
		}
		for _, e := range intact {
			got, err := s.GetEvent(ctx, e.ID)
			if err != nil || got.Position != e.Pos || got.Stream != e.Stream {
				t.Fatalf("event at position %d (before the damage at offset %d): %+v, %v", e.Pos, changed, got, err)
			}
		}
		evs := collect(t)(s.ReadAll(ctx, 0, ReadOptions{Limit: len(intact)}))
		for i, e := range intact {
			if i >= len(evs) || evs[i].ID != e.ID || evs[i].Position != e.Pos {
				t.Fatalf("$all does not start with the events before the damage at offset %d", changed)
			}
		}
		if !keepIndex {
			checkDurable(t, s, intact)
		}
		res, err := s.Append(ctx, "after-1", ExpectAny, jsonEvent("After", `{}`))
		if err != nil || res.FirstPosition != s.Head() {
			t.Fatalf("append after Open: %+v, %v (head %d)", res, err, s.Head())
		}
	})
}
