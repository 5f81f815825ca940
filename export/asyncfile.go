package export

import (
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// asyncFile writes a part file's bytes on a goroutine of its own, so that
// the writer encoding the file goes on while the kernel takes them.
//
// On the benchmark VM a write(2) of a finished row group (~200 MB of
// pages) blocked the events writer for up to 0.7 s once the page cache
// held a lot of dirty data, and while it blocked the pipeline stopped:
// the log reader ran out of batches and the by_type writers out of work,
// so one core idled. Here the writer only copies the bytes into blocks
// of a run-wide pool (ioPool) and blocks only when every block of the
// pool is waiting for the disk.
//
// The goroutine also starts the write-back of what it wrote every
// writebackEvery bytes (sync_file_range(2) with SYNC_FILE_RANGE_WRITE,
// which does not wait for the disk), so the disk works while the export
// runs, dirty pages do not pile up until the kernel throttles writers,
// and the fsync at the end of the file finds little left to write.
type asyncFile struct {
	f    outFile
	fd   int // -1 when f is not an OS file (tests)
	pool *ioPool
	cur  []byte
	ch   chan []byte
	done chan struct{}
	// err is the first write error; Write returns it from then on.
	err    atomic.Pointer[error]
	closed bool
}

// writebackEvery is how many written bytes start a write-back.
const writebackEvery = 16 << 20

func newAsyncFile(f outFile, pool *ioPool) *asyncFile {
	a := &asyncFile{f: f, fd: -1, pool: pool, ch: make(chan []byte, ioQueueBlocks), done: make(chan struct{})}
	if fo, ok := f.(interface{ Fd() uintptr }); ok {
		a.fd = int(fo.Fd())
	}
	go a.run()
	return a
}

// ioQueueBlocks bounds the blocks queued to one file (the pool bounds
// them across files).
const ioQueueBlocks = 64

func (a *asyncFile) run() {
	defer close(a.done)
	var off, synced int64
	for b := range a.ch {
		if a.err.Load() == nil {
			n, err := a.f.Write(b)
			off += int64(n)
			if err == nil && n < len(b) {
				err = errShortWrite
			}
			if err != nil {
				a.err.Store(&err)
			} else if a.fd >= 0 && off-synced >= writebackEvery {
				// Advisory: an error here (e.g. a file system without
				// it) changes nothing; fsync reports real failures.
				_ = unix.SyncFileRange(a.fd, synced, off-synced, unix.SYNC_FILE_RANGE_WRITE)
				synced = off
			}
		}
		a.pool.put(b)
	}
}

var errShortWrite = errors.New("short write")

func (a *asyncFile) failed() error {
	if p := a.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Write queues a copy of p.
func (a *asyncFile) Write(p []byte) (int, error) {
	if err := a.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		if a.cur == nil {
			a.cur = a.pool.get()
		}
		k := copy(a.cur[len(a.cur):cap(a.cur)], p)
		a.cur = a.cur[:len(a.cur)+k]
		p = p[k:]
		if len(a.cur) == cap(a.cur) {
			a.ch <- a.cur
			a.cur = nil
		}
	}
	return n, nil
}

// finish writes what is queued and waits for it; the file stays open.
func (a *asyncFile) finish() error {
	if !a.closed {
		a.closed = true
		if len(a.cur) > 0 {
			a.ch <- a.cur
		} else if a.cur != nil {
			a.pool.put(a.cur)
		}
		a.cur = nil
		close(a.ch)
	}
	<-a.done
	return a.failed()
}

// abort drops what is queued and stops the goroutine.
func (a *asyncFile) abort() {
	err := errAborted
	a.err.CompareAndSwap(nil, &err)
	a.finish()
}

var errAborted = errors.New("export: part file aborted")

// ioPool is the run's pool of write blocks: at most max blocks of
// ioBlockSize bytes, made when first needed and reused after.
type ioPool struct {
	free chan []byte
	mu   sync.Mutex
	made int
	max  int
}

const ioBlockSize = 1 << 20

func newIOPool(maxBytes int) *ioPool {
	n := max(2, maxBytes/ioBlockSize)
	return &ioPool{free: make(chan []byte, n), max: n}
}

func (p *ioPool) get() []byte {
	select {
	case b := <-p.free:
		return b
	default:
	}
	p.mu.Lock()
	if p.made < p.max {
		p.made++
		p.mu.Unlock()
		return make([]byte, 0, ioBlockSize)
	}
	p.mu.Unlock()
	return <-p.free
}

func (p *ioPool) put(b []byte) { p.free <- b[:0] }
