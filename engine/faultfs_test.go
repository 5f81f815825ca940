package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// errInjected is the error faultFS returns for the operations it fails.
var errInjected = errors.New("injected I/O error")

// faultFS is an FS that fails, tears or holds operations on request. Its
// files are real files underneath (segments are mapped through Fd), so
// everything it lets through reaches the disk as with OSFS.
//
// The mutating operations (write, sync, truncate, create, remove,
// syncdir) are counted and traced; failOp and tearOp fail or tear the one
// with that number, which lets a test fault operation i for every i.
type faultFS struct {
	OSFS

	mu            sync.Mutex
	failNextWrite bool
	failNextSync  bool
	tornNextWrite bool // write the first half of the bytes, then fail
	failTruncate  bool // every Truncate fails: a torn write stays on disk
	failOp        int  // 1-based number of the operation to fail; 0: none
	tearOp        int  // number of a write to tear (then truncates fail)
	ops           int
	trace         []string        // the operations, in order
	injected      []string        // the faults injected, for messages
	hold          chan struct{}   // the next write waits until it is closed
	held          chan<- struct{} // closed when that write starts waiting
}

var _ FS = (*faultFS)(nil)

// faultFile is a segment file of a faultFS.
type faultFile struct {
	File
	fs *faultFS
}

var _ File = (*faultFile)(nil)

type faultAction int

const (
	actPass faultAction = iota
	actFail
	actTear
)

// before accounts for one mutating operation and says what to do with it.
func (fs *faultFS) before(op, name string) faultAction {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.ops++
	fs.trace = append(fs.trace, op)
	if op == "write" && fs.hold != nil {
		// A held write goes through: faults set meanwhile are for the
		// operations after it.
		hold, held := fs.hold, fs.held
		fs.hold, fs.held = nil, nil
		fs.mu.Unlock()
		close(held)
		<-hold
		fs.mu.Lock()
		return actPass
	}
	act := actPass
	switch {
	case fs.failOp == fs.ops:
		act = actFail
	case fs.tearOp == fs.ops && op == "write":
		act, fs.failTruncate = actTear, true
	case op == "write" && fs.tornNextWrite:
		fs.tornNextWrite, act = false, actTear
	case op == "write" && fs.failNextWrite:
		fs.failNextWrite, act = false, actFail
	case op == "sync" && fs.failNextSync:
		fs.failNextSync, act = false, actFail
	case op == "truncate" && fs.failTruncate:
		act = actFail
	}
	if act != actPass {
		fs.injected = append(fs.injected, fmt.Sprintf("%s #%d %s of %s", [...]string{"", "failed", "tore"}[act], fs.ops, op, filepath.Base(name)))
	}
	return act
}

func (fs *faultFS) set(f func(fs *faultFS)) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f(fs)
}

// holdNextWrite makes the next write wait: held is closed once it waits,
// and release lets it go on.
func (fs *faultFS) holdNextWrite() (held <-chan struct{}, release func()) {
	h, r := make(chan struct{}), make(chan struct{})
	fs.set(func(fs *faultFS) { fs.hold, fs.held = r, h })
	return h, sync.OnceFunc(func() { close(r) })
}

func (fs *faultFS) faults() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.injected)
}

func injectedErr(op, name string) error {
	return &os.PathError{Op: op, Path: name, Err: errInjected}
}

func (fs *faultFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if flag&os.O_CREATE != 0 && fs.before("create", name) != actPass {
		return nil, injectedErr("open", name)
	}
	f, err := fs.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: f, fs: fs}, nil
}

func (fs *faultFS) Remove(name string) error {
	if fs.before("remove", name) != actPass {
		return injectedErr("remove", name)
	}
	return fs.OSFS.Remove(name)
}

func (fs *faultFS) SyncDir(dir string) error {
	if fs.before("syncdir", dir) != actPass {
		return injectedErr("fsync", dir)
	}
	return fs.OSFS.SyncDir(dir)
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	switch f.fs.before("write", f.Name()) {
	case actFail:
		return 0, injectedErr("write", f.Name())
	case actTear:
		n, _ := f.File.WriteAt(p[:len(p)/2], off)
		return n, injectedErr("write", f.Name())
	}
	return f.File.WriteAt(p, off)
}

func (f *faultFile) Sync() error {
	if f.fs.before("sync", f.Name()) != actPass {
		return injectedErr("fdatasync", f.Name())
	}
	return f.File.Sync()
}

func (f *faultFile) Truncate(size int64) error {
	if f.fs.before("truncate", f.Name()) != actPass {
		return injectedErr("truncate", f.Name())
	}
	return f.File.Truncate(size)
}

// ackedEvent is an event whose append returned nil: it must survive
// anything short of damage to the disk.
type ackedEvent struct {
	Pos    uint64
	ID     uuid.UUID
	Stream string // "" when not known
}

// ackedOf lists the events of a successful append, in position order.
func ackedOf(parts []StreamAppend, res Result) []ackedEvent {
	var out []ackedEvent
	for i, p := range parts {
		for j, e := range p.Events {
			out = append(out, ackedEvent{Pos: res.Streams[i].FirstPosition + uint64(j), ID: e.ID, Stream: p.Stream})
		}
	}
	return out
}

// cmdEvents returns n events with fresh ids whose data names the command
// they belong to, so a reader can check that commands are all-or-nothing.
// pad adds that many bytes to each event's data.
func cmdEvents(cmd string, n, pad int) []EventData {
	evs := make([]EventData, n)
	for i := range evs {
		data := fmt.Sprintf(`{"cmd":%q,"i":%d,"n":%d,"pad":%q}`, cmd, i, n, strings.Repeat("x", pad))
		evs[i] = idEvent(uuid.New(), "Tested", data)
	}
	return evs
}

// cmdParts splits n events of one command over streams: one part per
// stream, the first parts taking two events.
func cmdParts(cmd string, streams []string, n, pad int) []StreamAppend {
	evs := cmdEvents(cmd, n, pad)
	parts := make([]StreamAppend, 0, len(streams))
	for i, s := range streams {
		k := 2
		if i == len(streams)-1 || k > len(evs) {
			k = len(evs)
		}
		parts = append(parts, StreamAppend{Stream: s, Expected: ExpectAny, Events: evs[:k]})
		evs = evs[k:]
		if len(evs) == 0 {
			break
		}
	}
	return parts
}

// checkDurable checks that s holds every acked event at its position with
// its id and stream, that $all holds positions 1..Head without a gap and
// that every command is whole. It returns $all.
func checkDurable(t testing.TB, s *Store, acked []ackedEvent) []*RecordedEvent {
	t.Helper()
	ctx := context.Background()
	all := collect(t)(s.ReadAll(ctx, 0, ReadOptions{}))
	for i, e := range all {
		if e.Position != uint64(i+1) {
			t.Fatalf("$all: event %d has position %d (positions must be 1..Head without gaps)", i, e.Position)
		}
	}
	if h := s.Head(); h != uint64(len(all)) {
		t.Fatalf("Head() = %d but $all holds %d events", h, len(all))
	}
	if st := s.Stats(); st.Events != uint64(len(all)) {
		t.Fatalf("Stats().Events = %d but $all holds %d events", st.Events, len(all))
	}
	for _, a := range acked {
		if a.Pos == 0 || a.Pos > uint64(len(all)) {
			t.Fatalf("acknowledged event %s at position %d is lost (head %d)", a.ID, a.Pos, len(all))
		}
		if e := all[a.Pos-1]; e.ID != a.ID || a.Stream != "" && e.Stream != a.Stream {
			t.Fatalf("position %d holds event %s of %q, want acknowledged event %s of %q", a.Pos, e.ID, e.Stream, a.ID, a.Stream)
		}
	}
	checkCommandsWhole(t, all)
	return all
}

// checkCommandsWhole checks that the events of each command (see
// cmdEvents) are all present, in order, at consecutive positions.
func checkCommandsWhole(t testing.TB, all []*RecordedEvent) {
	t.Helper()
	type part struct {
		I, N int
		Cmd  string
	}
	var cur string
	var next, n int
	var start uint64
	for _, e := range all {
		var p part
		if err := json.Unmarshal(e.Data, &p); err != nil || p.Cmd == "" {
			if cur != "" {
				t.Fatalf("command %s starting at position %d has %d of its %d events", cur, start, next, n)
			}
			continue // not written by cmdEvents
		}
		if cur == "" {
			if p.I != 0 {
				t.Fatalf("position %d holds event %d of command %s, whose first events are missing", e.Position, p.I, p.Cmd)
			}
			cur, next, n, start = p.Cmd, 0, p.N, e.Position
		}
		if p.Cmd != cur || p.I != next {
			t.Fatalf("command %s starting at position %d has %d of its %d events (position %d holds event %d of %s)",
				cur, start, next, n, e.Position, p.I, p.Cmd)
		}
		if next++; next == n {
			cur = ""
		}
	}
	if cur != "" {
		t.Fatalf("command %s starting at position %d has %d of its %d events", cur, start, next, n)
	}
}

// checkEventsAbsent checks that none of the events is in the store.
func checkEventsAbsent(t testing.TB, s *Store, evs []EventData) {
	t.Helper()
	for _, e := range evs {
		if got, err := s.GetEvent(context.Background(), e.ID); !errors.Is(err, ErrEventNotFound) {
			t.Fatalf("event %s of a failed append: GetEvent = %+v, %v; want ErrEventNotFound", e.ID, got, err)
		}
	}
}

// faultTestOptions are testOptions writing through fs.
func faultTestOptions(fs FS) Options {
	o := testOptions()
	o.FS = fs
	return o
}

// appendSome appends n commands (every fourth a three-event append to two
// streams) and returns their events.
func appendSome(t testing.TB, s *Store, prefix string, n, pad int) []ackedEvent {
	t.Helper()
	var acked []ackedEvent
	for i := range n {
		cmd := fmt.Sprintf("%s-%d", prefix, i)
		parts := cmdParts(cmd, []string{fmt.Sprintf("%s-%d", prefix, i%3)}, 1, pad)
		if i%4 == 3 {
			parts = cmdParts(cmd, []string{prefix + "-a", prefix + "-b"}, 3, pad)
		}
		res, err := s.AppendMulti(context.Background(), parts)
		if err != nil {
			t.Fatalf("append %s: %v", cmd, err)
		}
		acked = append(acked, ackedOf(parts, res)...)
	}
	return acked
}

// checkStoreFailed checks that err reports the injected fault as a store
// failure, and that every kind of write now fails the same way.
func checkStoreFailed(t testing.TB, s *Store, err error) {
	t.Helper()
	if !errors.Is(err, ErrStoreFailed) || !errors.Is(err, errInjected) {
		t.Fatalf("append after an injected fault: %v; want an error matching ErrStoreFailed and the I/O error", err)
	}
	ctx := context.Background()
	writes := map[string]func() error{
		"Append": func() error {
			_, err := s.Append(ctx, "sticky-1", ExpectAny, jsonEvent("After", `{}`))
			return err
		},
		"AppendMulti": func() error {
			_, err := s.AppendMulti(ctx, cmdParts("sticky", []string{"sticky-1", "sticky-2"}, 3, 0))
			return err
		},
		"SetStreamMetadata": func() error { return s.SetStreamMetadata(ctx, "sticky-1", StreamMetadata{MaxCount: 3}) },
		"DeleteStream":      func() error { return s.DeleteStream(ctx, "sticky-1", ExpectAny, true) },
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, ErrStoreFailed) {
			t.Fatalf("%s after the store failed: %v; want ErrStoreFailed (write errors are sticky)", name, err)
		}
	}
}

// reopenAndCheck reopens dir with the OS filesystem and checks the acked
// events (checkDurable) and that a new append gets the next position. It
// returns the store and the acked events including the new append.
func reopenAndCheck(t testing.TB, dir string, acked []ackedEvent) (*Store, []ackedEvent) {
	t.Helper()
	s := openTestStore(t, dir, testOptions())
	all := checkDurable(t, s, acked)
	parts := cmdParts("after-reopen", []string{"reopened-1"}, 1, 0)
	res, err := s.AppendMulti(context.Background(), parts)
	if err != nil {
		t.Fatalf("append after reopen: %v", err)
	}
	if want := uint64(len(all)) + 1; res.FirstPosition != want {
		t.Fatalf("append after reopen got position %d, want %d", res.FirstPosition, want)
	}
	return s, append(acked, ackedOf(parts, res)...)
}

// lastSegment returns the path of the last segment file in dir and the
// offset just past its last committed record (in a version 2 segment,
// zeros and a tail mark follow).
func lastSegment(t testing.TB, dir string) (string, int64) {
	t.Helper()
	segs := segmentPaths(t, dir)
	path := segs[len(segs)-1]
	return path, tailOf(t, path).Committed
}

func TestFaultFSFailedWrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ffs := &faultFS{}
	s := openTestStore(t, dir, faultTestOptions(ffs))
	acked := appendSome(t, s, "w", 12, 40)
	_, sizeBefore := lastSegment(t, dir)

	ffs.set(func(fs *faultFS) { fs.failNextWrite = true })
	failed := cmdParts("failed", []string{"failed-1", "failed-2"}, 3, 0)
	_, err := s.AppendMulti(ctx, failed)
	checkStoreFailed(t, s, err)
	if got := ffs.faults(); len(got) != 1 {
		t.Fatalf("faults injected: %q, want the one failed write", got)
	}
	// Reads keep working and see only acknowledged events.
	checkDurable(t, s, acked)
	for _, p := range failed {
		checkEventsAbsent(t, s, p.Events)
	}
	if err := s.Close(); err != nil {
		t.Logf("close after the failure: %v", err)
	}
	if path, _ := lastSegment(t, dir); tailOf(t, path).Garbage != 0 {
		t.Fatalf("the failed write left bytes after the last record: %+v", tailOf(t, path))
	}
	if _, end := lastSegment(t, dir); end != sizeBefore {
		t.Fatalf("last segment's records end at %d after the failed write, want %d", end, sizeBefore)
	}

	s, _ = reopenAndCheck(t, dir, acked)
	for _, p := range failed {
		checkEventsAbsent(t, s, p.Events)
	}
}

func TestFaultFSFailedSync(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ffs := &faultFS{}
	s := openTestStore(t, dir, faultTestOptions(ffs))
	acked := appendSome(t, s, "w", 12, 40)
	head := s.Head()

	ffs.set(func(fs *faultFS) { fs.failNextSync = true })
	failed := cmdParts("failed", []string{"failed-1", "failed-2"}, 3, 0)
	_, err := s.AppendMulti(ctx, failed)
	checkStoreFailed(t, s, err)
	if h := s.Head(); h != head {
		t.Fatalf("Head() = %d after a failed fsync, want %d: unsynced events must not become readable", h, head)
	}
	s.Close()

	// The failed append was written but not made durable: after a crash it
	// may or may not be there, but never in part.
	s, _ = reopenAndCheck(t, dir, acked)
	var present int
	for _, p := range failed {
		for _, e := range p.Events {
			if _, err := s.GetEvent(ctx, e.ID); err == nil {
				present++
			} else if !errors.Is(err, ErrEventNotFound) {
				t.Fatalf("GetEvent: %v", err)
			}
		}
	}
	if present != 0 && present != 3 {
		t.Fatalf("%d of the 3 events of the append whose fsync failed are present", present)
	}
	t.Logf("the append whose fsync failed is present after reopen: %v", present == 3)
}

func TestFaultFSTornWrite(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    int // events in the torn append
		// cutBack is whether the engine may truncate the torn bytes itself;
		// when not, they stay on disk as after a crash.
		cutBack bool
	}{
		{"single event, cut back by the engine", 1, true},
		{"single event, left on disk", 1, false},
		{"four events, cut back by the engine", 4, true},
		// Half of the write holds two whole frames of a command whose
		// commit record is missing: recovery drops them.
		{"four events, left on disk", 4, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			ffs := &faultFS{}
			s := openTestStore(t, dir, faultTestOptions(ffs))
			acked := appendSome(t, s, "w", 10, 40)
			path, sizeBefore := lastSegment(t, dir)

			ffs.set(func(fs *faultFS) { fs.tornNextWrite, fs.failTruncate = true, !tt.cutBack })
			torn := cmdParts("torn", []string{"torn-1"}, tt.n, 100)
			_, err := s.AppendMulti(ctx, torn)
			checkStoreFailed(t, s, err)
			s.Close()
			if p, _ := lastSegment(t, dir); p != path {
				t.Fatalf("the torn append went to a new segment %s; the test wants it in %s", p, path)
			}
			_, end := lastSegment(t, dir)
			garbage := tailOf(t, path).Garbage
			switch {
			case end != sizeBefore:
				t.Fatalf("records end at %d after the torn write, want %d", end, sizeBefore)
			case tt.cutBack && garbage != 0:
				t.Fatalf("%d bytes follow the last record after the torn write, want it cut back to %d", garbage, sizeBefore)
			case !tt.cutBack && garbage == 0:
				t.Fatalf("nothing follows the last record after the torn write, want the torn bytes left after %d", sizeBefore)
			}

			s, _ = reopenAndCheck(t, dir, acked)
			for _, p := range torn {
				checkEventsAbsent(t, s, p.Events)
			}
			s.Close()
			// The torn tail was cut at the end of the last acknowledged
			// append, and the append after reopen went right after it.
			frames := segmentFrames(t, path)
			if len(frames) == 0 {
				t.Fatalf("segment has no frames after recovery")
			}
			checkCleanEnd(t, path, frames[len(frames)-1].Off+frames[len(frames)-1].Len)
			if len(frames) < 2 || frames[len(frames)-2].Off+frames[len(frames)-2].Len != sizeBefore {
				t.Fatalf("the append after reopen was not written at offset %d, where the torn write began", sizeBefore)
			}
		})
	}
}

// TestFaultFSFailEachOperation runs a fixed sequential workload once per
// mutating file operation it performs, failing that operation (and, for
// writes, once more tearing it and leaving the torn bytes on disk), then
// reopens the store without faults: every acknowledged event must be
// there, positions gapless and every command whole.
func TestFaultFSFailEachOperation(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: one store per operation")
	}
	ctx := context.Background()
	// run runs the workload; arm sets the fault relative to the number of
	// operations Open did.
	run := func(dir string, arm func(fs *faultFS, opened int)) (ffs *faultFS, acked []ackedEvent, errs []string) {
		ffs = &faultFS{}
		opts := faultTestOptions(ffs)
		opts.SegmentSize = 4096
		s, err := Open(ctx, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		ffs.set(func(fs *faultFS) { arm(fs, fs.ops) })
		for i := range 20 {
			cmd := fmt.Sprintf("c%d", i)
			parts := cmdParts(cmd, []string{fmt.Sprintf("s-%d", i%4)}, 1, 250)
			if i%5 == 4 {
				parts = cmdParts(cmd, []string{"m-1", "m-2"}, 3, 250)
			}
			res, err := s.AppendMulti(ctx, parts)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			acked = append(acked, ackedOf(parts, res)...)
		}
		s.Close()
		return ffs, acked, errs
	}
	var opened int
	ffs, _, errs := run(t.TempDir(), func(fs *faultFS, n int) { opened = n })
	trace := ffs.trace[opened:]
	if len(errs) > 0 || len(trace) < 50 || !slices.Contains(trace, "syncdir") {
		t.Fatalf("the workload without faults: errors %q, operations %q", errs, trace)
	}
	for i, op := range trace {
		modes := []string{"fail"}
		if op == "write" {
			modes = append(modes, "tear")
		}
		for _, mode := range modes {
			t.Run(fmt.Sprintf("%s_%d_%s", mode, i+1, op), func(t *testing.T) {
				dir := t.TempDir()
				ffs, acked, errs := run(dir, func(fs *faultFS, n int) {
					if mode == "fail" {
						fs.failOp = n + i + 1
					} else {
						fs.tearOp = n + i + 1
					}
				})
				faults := ffs.faults()
				if len(faults) == 0 || strings.Fields(faults[0])[2] != op {
					t.Fatalf("faults injected: %q, want one on operation %d (%s)", faults, i+1, op)
				}
				if len(errs) == 0 {
					t.Errorf("no append failed although %s", faults[0])
				}
				s, _ := reopenAndCheck(t, dir, acked)
				s.Close()
			})
		}
	}
}

// TestFaultFSFailedSyncAtRollIsSticky fails the fsync that seals a full
// segment before the log rolls to a new one. Like any failed fsync it must
// stop the store: after a failed fsync the kernel may have dropped the
// dirty pages, and a later fsync succeeding proves nothing.
func TestFaultFSFailedSyncAtRollIsSticky(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ffs := &faultFS{}
	opts := faultTestOptions(ffs)
	opts.SegmentSize = 4096
	s := openTestStore(t, dir, opts)
	acked := appendSome(t, s, "w", 5, 100)
	if _, end := lastSegment(t, dir); end > 2000 {
		t.Fatalf("segment already holds %d bytes", end)
	}
	segs := len(segmentPaths(t, dir))

	ffs.set(func(fs *faultFS) { fs.failNextSync = true })
	big := cmdParts("big", []string{"big-1"}, 1, 3000) // does not fit: rolls
	_, err := s.AppendMulti(ctx, big)
	if len(ffs.faults()) != 1 || len(segmentPaths(t, dir)) != segs {
		t.Fatalf("the failed fsync was not the one before a roll: faults %q", ffs.faults())
	}
	if !errors.Is(err, ErrStoreFailed) {
		t.Errorf("BUG: append whose roll failed to fsync the sealed segment returned %v; want ErrStoreFailed", err)
	}
	if _, err := s.Append(ctx, "after-1", ExpectAny, jsonEvent("After", `{}`)); !errors.Is(err, ErrStoreFailed) {
		t.Errorf("BUG: append after a failed fsync returned %v; want ErrStoreFailed (fsync errors must be sticky)", err)
	}
	s.Close()
	s, _ = reopenAndCheck(t, dir, acked)
	s.Close()
}

// TestFaultFSFailedWriteAtRollLosesAckedAppend: when a group holds an
// append that fits in the active segment (r1) followed by one that does
// not (r2), r2's roll writes r1's staged frames first. If that write
// fails, r1 must fail too; it must never be acknowledged.
func TestFaultFSFailedWriteAtRollLosesAckedAppend(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ffs := &faultFS{}
	opts := faultTestOptions(ffs)
	opts.SegmentSize = 4096
	s := openTestStore(t, dir, opts)
	acked := appendSome(t, s, "w", 5, 100)
	if _, end := lastSegment(t, dir); end > 2000 {
		t.Fatalf("segment already holds %d bytes", end)
	}

	type outcome struct {
		parts []StreamAppend
		res   Result
		err   error
	}
	start := func(parts []StreamAppend) <-chan outcome {
		ch := make(chan outcome, 1)
		go func() {
			res, err := s.AppendMulti(ctx, parts)
			ch <- outcome{parts, res, err}
		}()
		return ch
	}
	waitQueued := func(n int) {
		for deadline := time.Now().Add(10 * time.Second); len(s.queue) < n; time.Sleep(100 * time.Microsecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d appends queued, want %d", len(s.queue), n)
			}
		}
	}
	// Hold the committer inside the write of a0 while r1 and r2 queue up,
	// so that they form the next group, in that order.
	held, release := ffs.holdNextWrite()
	defer release()
	a0 := start(cmdParts("a0", []string{"a-0"}, 1, 0))
	<-held
	r1 := start(cmdParts("r1", []string{"r-1"}, 1, 0))
	waitQueued(1)
	r2 := start(cmdParts("r2", []string{"r-2"}, 1, 3000))
	waitQueued(2)
	ffs.set(func(fs *faultFS) { fs.failNextWrite = true })
	release()

	o0, o1, o2 := <-a0, <-r1, <-r2
	if o0.err != nil {
		t.Fatalf("a0: %v", o0.err)
	}
	acked = append(acked, ackedOf(o0.parts, o0.res)...)
	if o2.err == nil || len(ffs.faults()) != 1 {
		t.Fatalf("r2 = %v, faults %q; want r2 to fail at its roll", o2.err, ffs.faults())
	}
	if !errors.Is(o2.err, ErrStoreFailed) {
		t.Errorf("BUG: r2, whose roll failed to write, returned %v; want ErrStoreFailed", o2.err)
	}
	if o1.err == nil {
		acked = append(acked, ackedOf(o1.parts, o1.res)...)
		if _, err := s.GetEvent(ctx, o1.parts[0].Events[0].ID); err != nil {
			t.Errorf("BUG: r1 was acknowledged (position %d) but its event was never written: GetEvent: %v", o1.res.FirstPosition, err)
		}
	}
	// The store went on as if r1 were written.
	_, err := s.Append(ctx, "after-1", ExpectAny, jsonEvent("After", `{}`))
	t.Logf("append after the failed roll: %v", err)
	s.Close()

	s2, err := Open(ctx, dir, testOptions())
	if err != nil {
		t.Fatalf("BUG: the store no longer opens: %v", err)
	}
	defer s2.Close()
	for _, a := range acked {
		if e, err := s2.GetEvent(ctx, a.ID); err != nil || e.Position != a.Pos {
			t.Errorf("BUG: acknowledged event %s at position %d after reopen: %+v, %v", a.ID, a.Pos, e, err)
		}
	}
}

// TestFaultFSConcurrentWriters injects one fault (a failed or torn
// operation, chosen at random among the next ones, rolls included) while
// four writers append, then checks that every error was a store failure,
// that the failure is sticky, and that after a reopen every acknowledged
// event is there, positions are gapless and every command is whole.
func TestFaultFSConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for trial := range 12 {
		mode := [...]string{"fail", "tear"}[trial%2]
		after := 5 + rng.IntN(80)
		t.Run(fmt.Sprintf("%s_op_%d", mode, after), func(t *testing.T) {
			dir := t.TempDir()
			ffs := &faultFS{}
			opts := faultTestOptions(ffs)
			opts.SegmentSize = 8192
			opts.Clock = time.Now // called concurrently
			s := openTestStore(t, dir, opts)
			ffs.set(func(fs *faultFS) {
				if mode == "fail" {
					fs.failOp = fs.ops + after
				} else {
					fs.tearOp = fs.ops + after
				}
			})
			var mu sync.Mutex
			var acked []ackedEvent
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := range 30 {
						cmd := fmt.Sprintf("w%d-%d", w, i)
						parts := cmdParts(cmd, []string{fmt.Sprintf("s%d-%d", w, i%3)}, 1, 200)
						if i%4 == 3 {
							parts = cmdParts(cmd, []string{"shared-1", fmt.Sprintf("s%d-x", w)}, 3, 100)
						}
						res, err := s.AppendMulti(ctx, parts)
						if err != nil {
							if !errors.Is(err, ErrStoreFailed) {
								t.Errorf("append %s: %v; want ErrStoreFailed", cmd, err)
							}
							return
						}
						mu.Lock()
						acked = append(acked, ackedOf(parts, res)...)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if faults := ffs.faults(); len(faults) > 0 {
				if _, err := s.Append(ctx, "after-1", ExpectAny, jsonEvent("After", `{}`)); !errors.Is(err, ErrStoreFailed) {
					t.Errorf("append after %s: %v; want ErrStoreFailed", faults[0], err)
				}
				t.Logf("%s; %d events acknowledged", faults[0], len(acked))
			}
			s.Close()
			s, _ = reopenAndCheck(t, dir, acked)
			s.Close()
		})
	}
}
