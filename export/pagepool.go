package export

import (
	"errors"
	"io"
	"sync"

	"golang.org/x/sys/unix"
)

// pagePool is the page-buffer pool (parquet.ColumnPageBuffers) of a run's
// part files. parquet-go keeps the compressed pages of each column chunk
// in such a buffer until the row group is complete, so these buffers are
// most of an export's memory (about 250 MB for a million events of the
// benchmark, all of it in one row group per file). parquet-go's own pool
// takes them from the Go heap, where they are fresh memory: every 4 KiB
// page is a page fault the first time it is written, and on the 2-core VM
// the benchmarks run on a fault costs 3 to 20 µs, which made faults the
// largest single cost of an export (a million events touched ~90,000 new
// pages). This pool maps its memory itself, in slabs advised as
// transparent huge pages (one fault per 2 MiB where the kernel gives huge
// pages on request, as with the default "madvise" setting), keeps it
// across row groups and files for the whole run rather than losing it to
// the garbage collector between row groups, and unmaps it when the run
// ends (release).
//
// release must only be called when no parquet writer that used the pool
// is in use any more: the buffers point into the mappings.
type pagePool struct {
	mu       sync.Mutex
	free     [][]byte // free chunks, the next one last
	slabs    [][]byte
	released bool
}

const (
	pageChunkSize = 64 << 10 // a buffer grows by chunks of this size
	pageSlabSize  = 32 << 20 // memory is mapped by slabs of this size
)

var _ interface {
	GetBuffer() io.ReadWriteSeeker
	PutBuffer(io.ReadWriteSeeker)
} = (*pagePool)(nil)

func (p *pagePool) GetBuffer() io.ReadWriteSeeker { return &pageBuffer{pool: p} }

func (p *pagePool) PutBuffer(rws io.ReadWriteSeeker) {
	b, ok := rws.(*pageBuffer)
	if !ok || b.pool != p {
		return
	}
	p.mu.Lock()
	for i := len(b.chunks) - 1; i >= 0; i-- {
		p.free = append(p.free, b.chunks[i][:0])
	}
	p.mu.Unlock()
	*b = pageBuffer{pool: p}
}

// chunk returns an empty chunk of pageChunkSize bytes' capacity.
func (p *pagePool) chunk() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.released {
		return nil, errPagePoolReleased
	}
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		return c, nil
	}
	slab, err := mapSlab(pageSlabSize)
	if err != nil {
		return nil, err
	}
	p.slabs = append(p.slabs, slab)
	// Hand the slab out from its start, so that a small export touches
	// few huge pages.
	for off := len(slab) - pageChunkSize; off > 0; off -= pageChunkSize {
		p.free = append(p.free, slab[off:off:off+pageChunkSize])
	}
	return slab[0:0:pageChunkSize], nil
}

var errPagePoolReleased = errors.New("export: page buffer used after its run ended")

// release unmaps the pool's memory.
func (p *pagePool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.released = true
	p.free = nil
	for _, s := range p.slabs {
		unix.Munmap(s)
	}
	p.slabs = nil
}

// mapSlab maps n bytes of anonymous memory and advises huge pages for it.
func mapSlab(n int) ([]byte, error) {
	m, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, err
	}
	// Ignored where THP is off: the memory then has normal pages.
	_ = unix.Madvise(m, unix.MADV_HUGEPAGE)
	return m, nil
}

// pageBuffer is one column chunk's pages: written once from the start,
// then read from the start (parquet-go seeks to 0, then copies it to the
// file with WriteTo).
type pageBuffer struct {
	pool   *pagePool
	chunks [][]byte // all full but the last
	size   int64
	off    int64
}

func (b *pageBuffer) Write(data []byte) (int, error) {
	if b.off != b.size {
		return 0, errors.New("export: page buffer written in the middle")
	}
	n := len(data)
	for len(data) > 0 {
		last := len(b.chunks) - 1
		if last < 0 || len(b.chunks[last]) == cap(b.chunks[last]) {
			c, err := b.pool.chunk()
			if err != nil {
				return n - len(data), err
			}
			b.chunks = append(b.chunks, c)
			last++
		}
		c := b.chunks[last]
		k := copy(c[len(c):cap(c)], data)
		b.chunks[last] = c[:len(c)+k]
		data = data[k:]
	}
	b.size += int64(n)
	b.off = b.size
	return n, nil
}

func (b *pageBuffer) Read(p []byte) (int, error) {
	if b.off >= b.size {
		return 0, io.EOF
	}
	c := b.chunks[b.off/pageChunkSize]
	n := copy(p, c[b.off%pageChunkSize:])
	b.off += int64(n)
	return n, nil
}

func (b *pageBuffer) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for b.off < b.size {
		c := b.chunks[b.off/pageChunkSize]
		n, err := w.Write(c[b.off%pageChunkSize:])
		b.off += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (b *pageBuffer) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += b.off
	case io.SeekEnd:
		offset += b.size
	}
	if offset < 0 {
		return b.off, errors.New("export: seek before the start of a page buffer")
	}
	b.off = min(offset, b.size)
	return b.off, nil
}
