package engine

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// crashChildDir is the environment variable that makes TestCrashChild
// run: it names the store directory the child writes to.
const crashChildDir = "EVENTSQL_CRASH_CHILD_DIR"

func crashOptions() Options {
	o := testOptions()
	o.SegmentSize = 128 << 10 // rolls every few hundred appends
	o.Clock = time.Now        // testOptions' clock is not safe for concurrent appends
	return o
}

// TestCrashChild is the writer process of TestCrashRecovery; it does
// nothing in a normal test run. It appends from four goroutines until it
// is killed, and prints "ack <first> <last> <id>..." for every append
// only after the append returned nil.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildDir)
	if dir == "" {
		t.Skip("the writer process of TestCrashRecovery")
	}
	ctx := context.Background()
	s, err := Open(ctx, dir, crashOptions())
	if err != nil {
		fmt.Fprintf(os.Stderr, "child: open: %v\n", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	emit := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		os.Stdout.WriteString(line) // one write: lines never interleave
	}
	emit("ready\n")
	run := uuid.NewString()[:8]
	deadline := time.Now().Add(time.Minute) // in case the parent died
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				cmd := fmt.Sprintf("%s-%d-%d", run, g, i)
				var parts []StreamAppend
				var err error
				var res Result
				if rand.IntN(4) == 0 {
					parts = cmdParts(cmd, []string{fmt.Sprintf("multi-%d", rand.IntN(8)), fmt.Sprintf("multi-%d", 8+rand.IntN(8)), fmt.Sprintf("g%d-%d", g, i%16)}, 5, rand.IntN(600))
					res, err = s.AppendMulti(ctx, parts)
				} else {
					parts = cmdParts(cmd, []string{fmt.Sprintf("g%d-%d", g, i%16)}, 1, rand.IntN(1500))
					res, err = s.Append(ctx, parts[0].Stream, parts[0].Expected, parts[0].Events...)
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "child: append: %v\n", err)
					os.Exit(2)
				}
				var b strings.Builder
				fmt.Fprintf(&b, "ack %d %d", res.FirstPosition, res.LastPosition)
				for _, p := range parts {
					for _, e := range p.Events {
						b.WriteString(" " + e.ID.String())
					}
				}
				emit(b.String() + "\n")
			}
		})
	}
	wg.Wait()
	s.Close()
}

// TestCrashRecovery kills a writer process (TestCrashChild) with SIGKILL
// at a random moment, ten times over on the same store, and checks after
// each kill that every append the writer saw acknowledged is there with
// the right ids at the right positions, that positions are gapless and
// that every append is all-or-nothing.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a writer process ten times")
	}
	ctx := context.Background()
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	var acked []ackedEvent
	for iter := range 10 {
		delay := 20*time.Millisecond + time.Duration(rng.Int64N(int64(280*time.Millisecond)))
		// Twice, count the delay from the start of the process rather than
		// from when the store is open, so the kill may land inside Open
		// (recovering the previous kill's tail).
		fromStart := iter == 3 || iter == 7
		lines, stderr := runCrashChild(t, dir, delay, fromStart)
		var n int
		var singles []ackedEvent // this run's single-event appends
		for _, line := range lines {
			a, ok := parseAck(line)
			if !ok {
				continue
			}
			acked = append(acked, a...)
			if len(a) == 1 {
				singles = append(singles, a[0])
			}
			n++
		}
		t.Logf("kill %d after %v (from start: %v): %d appends acknowledged", iter, delay, fromStart, n)

		s, err := Open(ctx, dir, crashOptions())
		if err != nil {
			t.Fatalf("open after kill %d: %v\nchild stderr:\n%s", iter, err, stderr)
		}
		all := checkDurable(t, s, acked)
		checkStreamsGapless(t, s, all)
		for _, a := range acked[len(acked)-min(len(acked), 200):] {
			if e, err := s.GetEvent(ctx, a.ID); err != nil || e.Position != a.Pos {
				t.Fatalf("GetEvent(%s) after kill %d = %+v, %v; want position %d", a.ID, iter, e, err, a.Pos)
			}
		}
		// A client whose acknowledgement was lost with the writer retries:
		// the store must still know the ids and answer with the positions.
		for _, a := range singles[len(singles)-min(len(singles), 20):] {
			e := all[a.Pos-1]
			retry := EventData{ID: e.ID, Type: e.Type, Data: e.Data, DataIsJSON: e.DataIsJSON}
			res, err := s.Append(ctx, e.Stream, ExpectAny, retry)
			if err != nil || !res.Idempotent || res.FirstPosition != a.Pos {
				t.Fatalf("retry of the append at position %d after kill %d = %+v, %v; want an idempotent success", a.Pos, iter, res, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(acked) == 0 {
		t.Fatal("the writer never acknowledged an append")
	}
	t.Logf("%d events acknowledged in %d segments", len(acked), len(segmentPaths(t, dir)))
}

// runCrashChild runs TestCrashChild on dir, kills it delay after it has
// opened the store (or after it started) and returns what it printed.
func runCrashChild(t *testing.T, dir string, delay time.Duration, fromStart bool) (lines []string, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), crashChildDir+"="+dir)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
			}
			lines = append(lines, sc.Text())
		}
	}()
	kill := time.After(delay)
	if !fromStart {
		kill = nil
	}
	select {
	case <-ready:
		if kill == nil {
			time.Sleep(delay)
		} else {
			<-kill
		}
	case <-kill:
	case <-done:
		// Exited before it was ready: report below.
	case <-time.After(time.Minute):
		t.Error("the writer process did not open the store in time")
	}
	cmd.Process.Kill() // SIGKILL
	<-done
	werr := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(interface{ Signaled() bool }); !ok || !ws.Signaled() {
		t.Fatalf("the writer process was not killed but ended: %v\nstdout:\n%s\nstderr:\n%s",
			werr, strings.Join(lines[:min(len(lines), 20)], "\n"), errBuf.String())
	}
	return lines, errBuf.String()
}

// parseAck parses "ack <first> <last> <id>...".
func parseAck(line string) ([]ackedEvent, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "ack" {
		return nil, false
	}
	first, err1 := strconv.ParseUint(f[1], 10, 64)
	last, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || last < first || last-first+1 != uint64(len(f)-3) {
		return nil, false
	}
	out := make([]ackedEvent, 0, len(f)-3)
	for i, s := range f[3:] {
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, false
		}
		out = append(out, ackedEvent{Pos: first + uint64(i), ID: id})
	}
	return out, true
}

// checkStreamsGapless checks that every stream in all has versions 0..n-1
// in position order, and that ReadStream agrees.
func checkStreamsGapless(t testing.TB, s *Store, all []*RecordedEvent) {
	t.Helper()
	byStream := make(map[string][]*RecordedEvent)
	for _, e := range all {
		byStream[e.Stream] = append(byStream[e.Stream], e)
	}
	for name, evs := range byStream {
		for i, e := range evs {
			if e.Version != int64(i) {
				t.Fatalf("stream %s: event at position %d has version %d, want %d", name, e.Position, e.Version, i)
			}
		}
		got := collect(t)(s.ReadStream(context.Background(), name, 0, ReadOptions{}))
		if fmt.Sprint(positions(got)) != fmt.Sprint(positions(evs)) {
			t.Fatalf("ReadStream(%s) = positions %v, $all has %v", name, positions(got), positions(evs))
		}
	}
}
