package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestPositionEntries checks the sparse position index that reads from
// an arbitrary position start from: its entries sit at the aligned
// positions (1 mod positionIndexEvery) whatever the appends and restarts
// that wrote them, so offsetAtOrBefore finds them with a point read, and
// from every position a read scans fewer than positionIndexEvery records
// before it, with the entries read from the index and from its cache. A store indexed before entries were aligned (entries
// every positionIndexEvery events from the first one after each start)
// is still read right, through the seek.
func TestPositionEntries(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir, testOptions())
	appendN(t, s, "a-1", 200)
	s.Close()
	s = openTestStore(t, dir, testOptions())
	appendN(t, s, "b-1", 150)
	batch := make([]EventData, 300)
	for i := range batch {
		batch[i] = jsonEvent("E", fmt.Sprintf(`{"i":%d}`, i))
	}
	if _, err := s.Append(ctx, "c-1", ExpectAny, batch...); err != nil {
		t.Fatal(err)
	}
	const total = 650
	if all := collect(t)(s.ReadAll(ctx, 0, ReadOptions{})); len(all) != total {
		t.Fatalf("%d events, want %d", len(all), total)
	}
	offsets := eventOffsets(t, s) // by position, [0] unused

	entries := positionEntries(t, s)
	if want := (total + positionIndexEvery - 1) / positionIndexEvery; len(entries) != want {
		t.Errorf("%d position entries, want %d", len(entries), want)
	}
	for pos, off := range entries {
		if pos%positionIndexEvery != 1 || off != offsets[pos] {
			t.Errorf("entry at position %d -> offset %d (position's offset %d): want aligned positions with their offsets", pos, off, offsets[pos])
		}
	}
	checkReadsFromEveryPosition(t, s, offsets, positionIndexEvery-1)
	// Again from the cache of position entries.
	checkReadsFromEveryPosition(t, s, offsets, positionIndexEvery-1)

	// The entries an older build wrote: the first event after a start
	// (positions 1 and 201 here) and every positionIndexEvery events after.
	if err := s.db.DeleteRange([]byte{prefixPosition}, []byte{prefixPosition + 1}, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	s.positions = newPositionCache()
	for _, run := range [][2]uint64{{1, 200}, {201, total}} {
		for pos := run[0]; pos <= run[1]; pos += positionIndexEvery {
			val := binary.BigEndian.AppendUint64(nil, offsets[pos])
			val = binary.BigEndian.AppendUint64(val, 0)
			if err := s.db.Set(positionKey(nil, pos), val, pebble.NoSync); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkReadsFromEveryPosition(t, s, offsets, positionIndexEvery-1)
}

// checkReadsFromEveryPosition reads from each position (and just past
// the last) and checks that offsetAtOrBefore leads at most maxSkipped
// events before it, and that ReadAll starts there.
func checkReadsFromEveryPosition(t *testing.T, s *Store, offsets []uint64, maxSkipped int) {
	t.Helper()
	ctx := context.Background()
	last := uint64(len(offsets) - 1)
	for pos := uint64(1); pos <= last+2; pos++ {
		off, err := s.offsetAtOrBefore(pos)
		if err != nil {
			t.Fatalf("offsetAtOrBefore(%d): %v", pos, err)
		}
		skipped := 0
		sc := s.log.scan(off, s.head.Load().LogEnd)
		for {
			r, _, ok, err := sc.next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok || r.Kind == kindEvent && r.Position >= pos {
				break
			}
			if r.Kind == kindEvent {
				skipped++
			}
		}
		if skipped > maxSkipped {
			t.Errorf("from position %d the scan passes %d events, want at most %d", pos, skipped, maxSkipped)
		}
		got := collect(t)(s.ReadAll(ctx, pos, ReadOptions{Limit: 1}))
		switch {
		case pos > last && len(got) != 0:
			t.Errorf("ReadAll(%d) past the end: %d events", pos, len(got))
		case pos <= last && (len(got) != 1 || got[0].Position != pos):
			t.Errorf("ReadAll(%d): %v, want the event at %d", pos, got, pos)
		}
	}
}

// eventOffsets is the log offset of every event, by position.
func eventOffsets(t *testing.T, s *Store) []uint64 {
	t.Helper()
	offsets := []uint64{0}
	sc := s.log.scan(0, s.head.Load().LogEnd)
	for {
		r, off, ok, err := sc.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return offsets
		}
		if r.Kind == kindEvent {
			if r.Position != uint64(len(offsets)) {
				t.Fatalf("event at %d has position %d, want %d", off, r.Position, len(offsets))
			}
			offsets = append(offsets, off)
		}
	}
}

// positionEntries is the position index: log offset by position.
func positionEntries(t *testing.T, s *Store) map[uint64]uint64 {
	t.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPosition}, UpperBound: []byte{prefixPosition + 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	m := map[uint64]uint64{}
	for it.First(); it.Valid(); it.Next() {
		m[binary.BigEndian.Uint64(it.Key()[1:])] = binary.BigEndian.Uint64(it.Value())
	}
	return m
}
