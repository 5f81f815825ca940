package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestGatherBulk checks when the indexer gathers groups: only behind a
// bulk group, up to bulkGatherBytes, and not past a waiting read.
func TestGatherBulk(t *testing.T) {
	bulk := func(seq uint64) *group { return &group{seq: seq, frames: framesOut{size: bulkGroupBytes}} }
	small := func(seq uint64) *group { return &group{seq: seq, frames: framesOut{size: 300}} }
	newStore := func() *Store {
		return &Store{synced: make(chan []*group, 64), indexNow: make(chan struct{}, 1)}
	}

	t.Run("small groups are indexed at once", func(t *testing.T) {
		s := newStore()
		s.synced <- []*group{small(2)}
		if got := s.gatherBulk([]*group{small(1)}); len(got) != 1 {
			t.Fatalf("gathered %d groups behind a small one", len(got))
		}
	})
	t.Run("bulk groups are gathered up to the byte budget", func(t *testing.T) {
		s := newStore()
		n := bulkGatherBytes/bulkGroupBytes + 5
		for i := 2; i <= n; i++ {
			s.synced <- []*group{bulk(uint64(i))}
		}
		got := s.gatherBulk([]*group{bulk(1)})
		if want := bulkGatherBytes / bulkGroupBytes; len(got) != want {
			t.Fatalf("gathered %d groups, want %d", len(got), want)
		}
		for i, g := range got {
			if g.seq != uint64(i+1) {
				t.Fatalf("group %d has seq %d: order lost", i, g.seq)
			}
		}
	})
	t.Run("a small group ends the gathering", func(t *testing.T) {
		s := newStore()
		s.synced <- []*group{bulk(2)}
		s.synced <- []*group{small(3)}
		s.synced <- []*group{bulk(4)}
		if got := s.gatherBulk([]*group{bulk(1)}); len(got) != 3 {
			t.Fatalf("gathered %d groups, want 3 (up to the small one)", len(got))
		}
	})
	t.Run("a waiting read ends the gathering", func(t *testing.T) {
		s := newStore()
		s.indexNow <- struct{}{}
		if got := s.gatherBulk([]*group{bulk(1)}); len(got) != 1 {
			t.Fatalf("gathered %d groups with a read waiting", len(got))
		}
	})
	t.Run("a closed pipeline ends the gathering", func(t *testing.T) {
		s := newStore()
		s.synced <- []*group{bulk(2)}
		close(s.synced)
		if got := s.gatherBulk([]*group{bulk(1)}); len(got) != 2 {
			t.Fatalf("gathered %d groups, want 2", len(got))
		}
	})
}

// TestBulkReadYourWrites appends bulk commands (each a group the indexer
// gathers) while readers read what was just acknowledged: every read sees
// every event acknowledged before it started.
func TestBulkReadYourWrites(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	opts.SegmentSize = 64 << 20
	s := openTestStore(t, t.TempDir(), opts)
	defer s.Close()
	const commands, streams, perStream = 12, 400, 8
	data := []byte(`{"pad":"` + strings.Repeat("x", 400) + `"}`)
	var mu sync.Mutex
	acked := map[string]int64{} // stream -> last acknowledged version
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				stream := fmt.Sprintf("s-%d", (i*7+r)%streams)
				mu.Lock()
				want, ok := acked[stream]
				mu.Unlock()
				if !ok {
					continue
				}
				info, err := s.StreamInfo(ctx, stream)
				if err != nil {
					errs <- err
					return
				}
				if info.Version < want {
					errs <- fmt.Errorf("%s: read version %d after version %d was acknowledged", stream, info.Version, want)
					return
				}
			}
		}()
	}
	for c := range commands {
		var parts []StreamAppend
		for st := range streams {
			evs := make([]EventData, perStream)
			for k := range evs {
				evs[k] = EventData{Type: "T", Data: data, DataIsJSON: true}
			}
			parts = append(parts, StreamAppend{Stream: fmt.Sprintf("s-%d", st), Expected: ExpectAny, Events: evs})
		}
		if _, err := s.AppendMulti(ctx, parts); err != nil {
			t.Fatalf("command %d: %v", c, err)
		}
		mu.Lock()
		for st := range streams {
			acked[fmt.Sprintf("s-%d", st)] = int64((c+1)*perStream - 1)
		}
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Events != commands*streams*perStream {
		t.Fatalf("%d events, want %d", st.Events, commands*streams*perStream)
	}
}
