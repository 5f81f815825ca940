package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// errPowerCut is what powerFS returns once the power is cut.
var errPowerCut = errors.New("power cut")

// powerFS simulates a power loss. It keeps, per file, the bytes made
// durable by its last successful Sync (what a file held when it was
// opened counts as durable). cut returns, per file, an image of what the
// disk could hold after a power loss at that instant: every 512-byte
// sector written since the last Sync comes independently from before or
// after the write, so later sectors of a group can be on disk while
// earlier ones are not, and a file that grew since its last Sync keeps
// its old size, its new one or anything between. After cut every
// mutating operation fails.
type powerFS struct {
	OSFS
	mu      sync.Mutex
	rng     *rand.Rand
	durable map[string][]byte // nil value: created, never synced
	isCut   bool
}

var _ FS = (*powerFS)(nil)

type powerFile struct {
	File
	fs *powerFS
}

func newPowerFS(seed uint64) *powerFS {
	return &powerFS{rng: rand.New(rand.NewPCG(seed, 7)), durable: map[string][]byte{}}
}

func (p *powerFS) check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isCut {
		return errPowerCut
	}
	return nil
}

func (p *powerFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if err := p.check(); err != nil && flag&os.O_CREATE != 0 {
		return nil, err
	}
	f, err := p.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.durable[name]; !ok {
		if flag&os.O_CREATE != 0 {
			p.durable[name] = nil
		} else if b, err := os.ReadFile(name); err == nil {
			p.durable[name] = b
		}
	}
	return &powerFile{File: f, fs: p}, nil
}

func (p *powerFS) Remove(name string) error {
	if err := p.check(); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.durable, name)
	p.mu.Unlock()
	return p.OSFS.Remove(name)
}

func (p *powerFS) SyncDir(dir string) error {
	if err := p.check(); err != nil {
		return err
	}
	return p.OSFS.SyncDir(dir)
}

func (f *powerFile) WriteAt(b []byte, off int64) (int, error) {
	if err := f.fs.check(); err != nil {
		return 0, err
	}
	return f.File.WriteAt(b, off)
}

func (f *powerFile) Truncate(size int64) error {
	if err := f.fs.check(); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *powerFile) Sync() error {
	if err := f.fs.check(); err != nil {
		return err
	}
	if err := f.File.Sync(); err != nil {
		return err
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.isCut {
		return errPowerCut // the power went during the fsync: not durable
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return err
	}
	f.fs.durable[f.Name()] = b
	return nil
}

// cut cuts the power and returns the disk image: file name → contents
// (files never synced are left out: a crash may lose them).
func (p *powerFS) cut(t testing.TB) map[string][]byte {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = true
	images := map[string][]byte{}
	for name, dur := range p.durable {
		if dur == nil {
			continue
		}
		cur, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		images[name] = mixSectors(dur, cur, func(n int) int { return p.rng.IntN(n) })
	}
	return images
}

// mixSectors builds what a disk may hold after a power loss, from a
// file's durable bytes and its current bytes; choose(n) picks one of n
// possibilities.
func mixSectors(dur, cur []byte, choose func(n int) int) []byte {
	const sector = 512
	size := len(dur)
	if len(cur) > len(dur) {
		// The new size may or may not have reached the disk.
		switch choose(3) {
		case 0:
			size = len(cur)
		case 1:
			size = len(dur) + choose((len(cur)-len(dur))/sector+1)*sector
			size = min(size, len(cur))
		}
	} else if len(cur) < len(dur) && choose(2) == 0 {
		size = len(cur) // a truncation that reached the disk
	}
	img := make([]byte, size)
	for off := 0; off < size; off += sector {
		end := min(off+sector, size)
		var d, c []byte
		if off < len(dur) {
			d = dur[off:min(end, len(dur))]
		}
		if off < len(cur) {
			c = cur[off:min(end, len(cur))]
		}
		switch {
		case c == nil:
			copy(img[off:end], d)
		case choose(2) == 0:
			copy(img[off:end], c)
		default:
			copy(img[off:end], d) // zeros where there was nothing durable
		}
	}
	return img
}

// writeImages replaces the log files of dir with a power-loss image.
func writeImages(t testing.TB, dir string, images map[string][]byte) {
	t.Helper()
	logDir := filepath.Join(dir, "log")
	entries, err := os.ReadDir(logDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := images[filepath.Join(logDir, e.Name())]; !ok {
			if err := os.Remove(filepath.Join(logDir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, img := range images {
		if err := os.WriteFile(name, img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPowerLoss cuts the power at random moments while four writers
// append (rolls included), builds the disk image a power loss could
// leave (sectors of unsynced writes persisted or not, in any order,
// sizes old or new) and opens it. Open must never report damage — out
// of order sectors of unacknowledged groups are a torn tail, not damage
// — and every acknowledged event must be there, positions gapless and
// every command whole. Some trials open the image with a power-cut file
// system again and cut a second time.
func TestPowerLoss(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	trials := 24
	if testing.Short() {
		trials = 6
	}
	for trial := range trials {
		segSize := []int64{4096, 16 << 10, 64 << 10}[rng.IntN(3)]
		t.Run(fmt.Sprintf("trial_%d_segment_%d", trial, segSize), func(t *testing.T) {
			dir := t.TempDir()
			var acked []ackedEvent
			for gen := range 1 + rng.IntN(2) {
				acked = powerLossRound(t, dir, rng, segSize, fmt.Sprintf("g%d", gen), acked)
			}
			s, _ := reopenAndCheck(t, dir, acked)
			s.Close()
		})
	}
}

// powerLossRound opens dir through a powerFS, appends from four writers
// until a random number of appends were acknowledged, cuts the power,
// writes the image and checks that it opens with every acknowledged
// event. It returns the acknowledged events.
func powerLossRound(t *testing.T, dir string, rng *rand.Rand, segSize int64, prefix string, acked []ackedEvent) []ackedEvent {
	t.Helper()
	ctx := context.Background()
	pfs := newPowerFS(rng.Uint64())
	opts := faultTestOptions(pfs)
	opts.SegmentSize = segSize
	opts.Clock = time.Now
	s := openTestStore(t, dir, opts)
	target := 5 + rng.IntN(120)
	var mu sync.Mutex
	n := 0
	cutDone := make(chan map[string][]byte, 1)
	var wg sync.WaitGroup
	for w := range 4 {
		wr := rand.New(rand.NewPCG(rng.Uint64(), uint64(w)))
		wg.Go(func() {
			for i := 0; ; i++ {
				cmd := fmt.Sprintf("%s-w%d-%d", prefix, w, i)
				parts := cmdParts(cmd, []string{fmt.Sprintf("%s-s%d", prefix, wr.IntN(6))}, 1, wr.IntN(1200))
				if wr.IntN(4) == 0 {
					parts = cmdParts(cmd, []string{prefix + "-m1", prefix + "-m2"}, 2+wr.IntN(4), wr.IntN(900))
				}
				res, err := s.AppendMulti(ctx, parts)
				if err != nil {
					if !errors.Is(err, ErrStoreFailed) {
						t.Errorf("append %s: %v", cmd, err)
					}
					return
				}
				mu.Lock()
				acked = append(acked, ackedOf(parts, res)...)
				if n++; n == target {
					cutDone <- pfs.cut(t)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait() // the writers stop at the cut: their appends fail
	var images map[string][]byte
	select {
	case images = <-cutDone:
	default:
		t.Fatalf("the writers stopped before the power cut")
	}
	crashClose(s)
	writeImages(t, dir, images)
	if rng.IntN(3) == 0 {
		if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(ctx, dir, testOptions())
	if err != nil {
		t.Fatalf("Open after a power loss: %v", err)
	}
	checkDurable(t, s, acked)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return acked
}

// unsyncedTemplate is a closed store whose last segment ends with acked
// commands and then one command whose fsync failed: written, never
// acknowledged. dur is the last segment as it was durable before that
// command, cur as it is with it.
type unsyncedTemplate struct {
	dir      string
	path     string
	acked    []ackedEvent
	dur, cur []byte
	end      int64 // offset just past the acked records
}

func buildUnsyncedTemplate(t testing.TB, acked int) *unsyncedTemplate {
	t.Helper()
	ctx := context.Background()
	ffs := &faultFS{}
	opts := faultTestOptions(ffs)
	u := &unsyncedTemplate{dir: t.TempDir()}
	s := openTestStore(t, u.dir, opts)
	u.acked = appendSome(t, s, "a", acked, 300)
	u.path, u.end = lastSegment(t, u.dir)
	var err error
	if u.dur, err = os.ReadFile(u.path); err != nil {
		t.Fatal(err)
	}
	ffs.set(func(fs *faultFS) { fs.failNextSync = true })
	// Three events of ~1.5 KiB: the command spans several sectors.
	if _, err := s.AppendMulti(ctx, cmdParts("unsynced", []string{"u-1", "u-2"}, 3, 1500)); !errors.Is(err, ErrStoreFailed) {
		t.Fatalf("append whose fsync fails: %v", err)
	}
	crashClose(s)
	if u.cur, err = os.ReadFile(u.path); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(u.dir, "index")); err != nil {
		t.Fatal(err)
	}
	if len(u.cur) != len(u.dur) || u.end+3*1500 > int64(len(u.cur)) {
		t.Fatalf("template: the unsynced command should overwrite the zero-filled tail (%d → %d bytes)", len(u.dur), len(u.cur))
	}
	return u
}

// open writes img as the last segment of a copy of the template and
// opens it.
func (u *unsyncedTemplate) open(t testing.TB, img []byte) (*Store, string, error) {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, u.dir, dir)
	path := filepath.Join(dir, "log", filepath.Base(u.path))
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), dir, testOptions())
	return s, path, err
}

// TestOutOfOrderTailIsTruncated: after a power loss, the later sectors of
// a command that was never acknowledged (its commit record among them)
// are on disk while its first sector is not. In a version 1 segment this
// looked like damage followed by committed records; in the zero-filled
// tail it is a torn tail: the tail mark before the command records only
// what was acknowledged. Open drops it and restores a clean end.
func TestOutOfOrderTailIsTruncated(t *testing.T) {
	u := buildUnsyncedTemplate(t, 6)
	first := u.end / 512 * 512
	for _, tt := range []struct {
		name string
		keep func(sector int64) bool // sectors of the unsynced write that reached the disk
	}{
		{"all but the first sector", func(s int64) bool { return s != first }},
		{"only the last sectors", func(s int64) bool { return s >= first+1024 }},
		{"every other sector", func(s int64) bool { return (s-first)/512%2 == 1 }},
		{"all of it", func(s int64) bool { return true }},
		{"none of it", func(s int64) bool { return false }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img := append([]byte(nil), u.dur...)
			for off := first; off < int64(len(img)); off += 512 {
				if tt.keep(off) {
					copy(img[off:min(off+512, int64(len(img)))], u.cur[off:])
				}
			}
			s, path, err := u.open(t, img)
			if err != nil {
				t.Fatalf("Open: %v; want the unacknowledged command dropped as a torn tail", err)
			}
			all := checkDurable(t, s, u.acked)
			want := len(u.acked)
			if tt.name == "all of it" {
				want += 3 // whole on disk: kept, like any written command
			}
			if len(all) != want {
				t.Fatalf("%d events after Open, want %d", len(all), want)
			}
			s.Close()
			if want == len(u.acked) {
				checkCleanEnd(t, path, u.end)
			}
		})
	}
}

// TestAckedDamageInZeroFilledTailIsReported: damage to acknowledged
// records is still damage inside the log when a later group's tail mark
// records them as durable, whatever else of the tail reached the disk.
func TestAckedDamageInZeroFilledTailIsReported(t *testing.T) {
	u := buildUnsyncedTemplate(t, 6)
	frames := segmentFrames(t, u.path) // of cur: the acked frames, then the unsynced command
	var acked []frameInfo
	for _, f := range frames {
		if f.Off < u.end {
			acked = append(acked, f)
		}
	}
	if len(acked) < 4 {
		t.Fatalf("template: %d acked frames", len(acked))
	}
	// The unsynced command's tail mark records the log as durable up to
	// u.end: damage anywhere before is reported. The acked commands' own
	// marks were overwritten by the commands after them.
	for _, img := range []struct {
		name string
		b    []byte
	}{{"with the unsynced command", u.cur}, {"without it", u.dur}} {
		for _, i := range []int{0, len(acked) / 2, len(acked) - 2} {
			fr := acked[i]
			t.Run(fmt.Sprintf("%s/frame_%d", img.name, i), func(t *testing.T) {
				b := append([]byte(nil), img.b...)
				b[fr.Off+fr.Len-1] ^= 0xff
				s, path, err := u.open(t, b)
				if img.name == "without it" && fr.Off >= lastCommandStart(acked) {
					// The last acknowledged command's own mark only vouches
					// for what came before it: damage to it is a torn tail
					// (documented in docs/format.md).
					if err != nil {
						t.Fatalf("Open: %v", err)
					}
					s.Close()
					return
				}
				if err == nil {
					s.Close()
					t.Fatalf("Open succeeded; want the damage at offset %d reported", fr.Off)
				}
				checkCorruption(t, err, path, fr.Off)
			})
		}
	}
}

// lastCommandStart is the offset of the first frame of the last command.
func lastCommandStart(frames []frameInfo) int64 {
	i := len(frames) - 1
	for i > 0 && !frames[i-1].Commit {
		i--
	}
	return frames[i].Off
}

// FuzzPowerLossImage builds the disk image of a power loss from fuzzed
// choices (which sectors of an unacknowledged command reached the disk,
// whether the file's size did) and, optionally, flips one byte of the
// acknowledged records. Without the flip Open must succeed with every
// acknowledged event and the unacknowledged command whole or absent; with
// it, Open must report ErrCorrupt or keep every event committed before
// the flipped byte. Never a panic.
func FuzzPowerLossImage(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 1}, uint32(0), false)
	f.Add([]byte{1, 1, 1, 1, 0, 0, 0}, uint32(100), true)
	f.Add([]byte{2, 0, 1, 1, 1, 1, 1, 1, 1}, uint32(2000), true)
	u := buildUnsyncedTemplate(f, 5)
	f.Fuzz(func(t *testing.T, choices []byte, flipAt uint32, flip bool) {
		i := 0
		img := mixSectors(u.dur, u.cur, func(n int) int {
			if i >= len(choices) {
				return 0
			}
			i++
			return int(choices[i-1]) % n
		})
		changed := u.end
		if flip {
			at := segmentHeaderSize + int64(flipAt)%(u.end-segmentHeaderSize)
			img[at] ^= 0x5a
			changed = at
		}
		s, _, err := u.open(t, img)
		if err != nil {
			if flip && errors.Is(err, ErrCorrupt) {
				return
			}
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		all := collect(t)(s.ReadAll(context.Background(), 0, ReadOptions{}))
		checkCommandsWhole(t, all)
		for _, a := range u.acked {
			if a.Pos > uint64(len(all)) {
				if flip {
					break // dropped after the flip: allowed only past it (below)
				}
				t.Fatalf("acknowledged event at position %d lost", a.Pos)
			}
			if all[a.Pos-1].ID != a.ID {
				t.Fatalf("position %d holds %s, want %s", a.Pos, all[a.Pos-1].ID, a.ID)
			}
		}
		if flip {
			// Everything committed before the flipped byte survives.
			var kept uint64
			for _, fr := range segmentFrames(t, u.path) {
				if fr.Off+fr.Len <= changed && fr.Commit && fr.Kind == kindEvent {
					kept = fr.Pos
				}
			}
			if uint64(len(all)) < kept {
				t.Fatalf("%d events after a flip at offset %d, want at least %d", len(all), changed, kept)
			}
		}
	})
}
