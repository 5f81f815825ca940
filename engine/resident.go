package engine

import (
	"errors"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Random reads through populated mappings.
//
// A random-access read (a stream's events, GetEvent) costs a pread of a
// few microseconds on the project's VM, and a first touch of a mapped
// page costs as much (a page fault), but a read of a page already mapped
// into the process costs a memory access: 0.4-0.6 µs against 1.3-2.2 µs
// for a pread of the same 1 KiB at random over a 10M-event log in the page
// cache, and 5+ µs for a pread on a busy machine (a 16-event stream
// lookup spent ~90 µs in preads). So the log is mapped in chunks of
// residentChunk bytes: once a chunk is populated (its pages mapped into
// the process with MADV_POPULATE_READ, which runs at ~35 GB/s for pages in
// the page cache), reads inside it go through the mapping; until then
// they pread and ask the store's warmer to populate the chunk.
//
// After open the warmer maps the log from the newest segment back, up to
// half the memory the kernel reports available (MemAvailable), reading
// pages from disk where they are not cached, at idle I/O priority: what
// a database's buffer pool load does after a restart. Later it maps the
// chunks random reads ask for when at least residentShare of their pages
// are in the page cache already (mincore), so a random read never makes
// it read more than a quarter of a chunk from disk. The populated flags
// are hints: if the kernel later reclaims a page, a read through the
// mapping faults it in again (correct, only slower). The mapped pages are
// page cache, shown in the server's RSS as file pages and reclaimable
// under memory pressure.
const residentChunk = 2 << 20

// residentShare is the share of a chunk's pages that must be in the page
// cache for a random read's request to map it.
const residentShare = 0.75

// residency flags the populated chunks of one segment mapping, and the
// chunks a request found too little cached (asked, cleared from time to
// time), so reads do not ask again at every pread.
type residency struct {
	bits  []atomic.Uint64
	asked []atomic.Uint64
}

func newResidency(mapLen int) residency {
	chunks := (mapLen + residentChunk - 1) / residentChunk
	words := (chunks + 63) / 64
	return residency{bits: make([]atomic.Uint64, words), asked: make([]atomic.Uint64, words)}
}

// ask flags chunk as asked for; false when it was already.
func (r *residency) ask(chunk int) bool {
	w, bit := chunk/64, uint64(1)<<(chunk%64)
	if w >= len(r.asked) {
		return false
	}
	return r.asked[w].Or(bit)&bit == 0
}

// forget clears the asked flags.
func (r *residency) forget() {
	for i := range r.asked {
		r.asked[i].Store(0)
	}
}

// has reports whether the chunk holding file offset rel is populated.
func (r *residency) has(rel int64) bool {
	c := rel / residentChunk
	w := c / 64
	return w < int64(len(r.bits)) && r.bits[w].Load()&(1<<(c%64)) != 0
}

func (r *residency) set(chunk int) {
	r.bits[chunk/64].Or(1 << (chunk % 64))
}

func (r *residency) chunks() int { return len(r.bits) * 64 }

// chunkRequest asks the warmer to populate one chunk of a segment.
type chunkRequest struct {
	seg   *segment
	chunk int
}

// errPopulateUnsupported: the kernel lacks MADV_POPULATE_READ (before
// Linux 5.14); reads keep using pread.
var errPopulateUnsupported = errors.New("MADV_POPULATE_READ is not supported")

// populateChunk maps chunk of s into the process and flags it. Unless
// force is set, it does so only when at least residentShare of the
// chunk's pages are in the page cache. last says s is the active segment,
// whose partly written last chunk is left alone. vec is scratch space of
// residentChunk/pagesize bytes.
func populateChunk(s *segment, chunk int, last, force bool, vec []byte) (bool, error) {
	if s.mmap == nil || chunk >= s.resident.chunks() {
		return false, nil
	}
	start := int64(chunk) * residentChunk
	end := min(start+residentChunk, int64(len(s.mmap)))
	size := s.size.Load()
	if last && end > size || start >= size {
		return false, nil
	}
	end = min(end, size) // a sealed segment's last chunk ends at the file's end
	b := s.mmap[start:end]
	if !force && cachedShare(b, vec) < residentShare {
		return false, nil
	}
	if err := unix.Madvise(b, unix.MADV_POPULATE_READ); err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			return false, errPopulateUnsupported
		}
		return false, nil // e.g. EFAULT past a truncated end: stay on pread
	}
	s.resident.set(chunk)
	return true, nil
}

// cachedShare is the share of the pages of b (page aligned) that are in
// the page cache.
func cachedShare(b []byte, vec []byte) float64 {
	page := unix.Getpagesize()
	n := (len(b) + page - 1) / page
	if n == 0 || n > len(vec) {
		return 0
	}
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return 0
	}
	cached := 0
	for _, v := range vec[:n] {
		cached += int(v & 1)
	}
	return float64(cached) / float64(n)
}

// wantResident asks the warmer to populate the chunk of s holding file
// offset rel; it never blocks.
func (l *eventLog) wantResident(s *segment, rel int64) {
	if l.populate == nil {
		return
	}
	chunk := int(rel / residentChunk)
	if !s.resident.ask(chunk) {
		return
	}
	select {
	case l.populate <- chunkRequest{seg: s, chunk: chunk}:
	default:
	}
}
