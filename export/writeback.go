package export

import (
	"golang.org/x/sys/unix"
)

// writebackFile writes a part file and starts the kernel's write-back of
// what it wrote every writebackEvery bytes, on a goroutine of its own
// (sync_file_range(2) with SYNC_FILE_RANGE_WRITE: it does not wait for
// the disk, but it allocates blocks and queues the I/O, and may wait for
// room in the device queue).
//
// Without it the page cache filled with the export's dirty pages until
// the kernel throttled the writer: at 10M events a write(2) of a
// finished 200 MB events row group took up to 0.73 s (0.06 s for the
// first ones), during which the export's pipeline stood still, and the
// fsync at the end of each file had most of the file left to write.
//
// The bytes themselves are written by the caller's goroutine, from its
// buffer while it is still in the CPU's cache: handing them to another
// goroutine (tried: a 128 MiB pool of 1 MiB blocks written by a
// goroutine per file) made the kernel's copy into the page cache 3.5
// times as costly (copy_folio_from_iter_atomic, 4.6% -> 16.4% of the
// export's CPU in perf), as the blocks had left the cache by then.
type writebackFile struct {
	f       outFile
	fd      int // -1 when f is not an OS file (tests)
	off     int64
	kicked  int64 // bytes handed to the write-back goroutine
	ranges  chan [2]int64
	done    chan struct{}
	stopped bool
}

// writebackEvery is how many written bytes start a write-back.
const writebackEvery = 16 << 20

func newWritebackFile(f outFile) *writebackFile {
	w := &writebackFile{f: f, fd: -1}
	if fo, ok := f.(interface{ Fd() uintptr }); ok {
		w.fd = int(fo.Fd())
		w.ranges, w.done = make(chan [2]int64, 64), make(chan struct{})
		go w.run()
	}
	return w
}

func (w *writebackFile) run() {
	defer close(w.done)
	for r := range w.ranges {
		// Advisory: an error here (e.g. a file system without it)
		// changes nothing; write and fsync report real failures.
		_ = unix.SyncFileRange(w.fd, r[0], r[1], unix.SYNC_FILE_RANGE_WRITE)
	}
}

func (w *writebackFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.ranges != nil && !w.stopped && w.off-w.kicked >= writebackEvery {
		select {
		case w.ranges <- [2]int64{w.kicked, w.off - w.kicked}:
			w.kicked = w.off
		default: // the goroutine is behind: the next write hands a larger range
		}
	}
	return n, err
}

// stop ends the write-back goroutine (before the file is synced or
// closed); safe to call twice.
func (w *writebackFile) stop() {
	if w.ranges == nil || w.stopped {
		return
	}
	w.stopped = true
	close(w.ranges)
	<-w.done
}
