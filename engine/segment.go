package engine

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

const segmentExt = ".seg"

// segment is one log file, memory-mapped for reads. The mapping covers the
// segment's capacity up front (reads never touch bytes past the durable
// size, so the unwritten part of the mapping is never faulted in).
type segment struct {
	path   string
	header segmentHeader
	file   File
	mmap   []byte
	// resident flags the chunks of mmap populated for random reads
	// (resident.go).
	resident residency
	// size is the number of bytes of the file known to be valid: for the
	// active segment, what is written and fsynced.
	size atomic.Int64
}

func segmentName(baseOffset uint64) string {
	return fmt.Sprintf("%020d%s", baseOffset, segmentExt)
}

func parseSegmentName(name string) (uint64, bool) {
	if !strings.HasSuffix(name, segmentExt) || len(name) != 20+len(segmentExt) {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSuffix(name, segmentExt), 10, 64)
	return v, err == nil
}

// mapSegment maps capacity bytes of file (rounded up to a page).
func mapSegment(file File, capacity int64) ([]byte, error) {
	if capacity <= 0 {
		return nil, nil
	}
	page := int64(unix.Getpagesize())
	capacity = (capacity + page - 1) / page * page
	m, err := unix.Mmap(int(file.Fd()), 0, int(capacity), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", file.Name(), err)
	}
	// The log is read mostly sequentially; a stream read touches few pages
	// anyway, and the kernel's default readahead suits both.
	return m, nil
}

// openSegment opens an existing segment file for reading and, when it is
// the last one, appending. capacity is the mapping size (at least the
// file size).
func openSegment(fs FS, path string, flag int, capacity int64) (*segment, error) {
	f, err := fs.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open segment: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat segment: %w", err)
	}
	if st.Size() < segmentHeaderSize {
		f.Close()
		return nil, &CorruptionError{File: path, Offset: 0, Reason: fmt.Sprintf("file of %d bytes is shorter than the segment header", st.Size())}
	}
	var hb [segmentHeaderSize]byte
	if _, err := f.ReadAt(hb[:], 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("read segment header %s: %w", path, err)
	}
	h, err := decodeSegmentHeader(hb[:])
	if err != nil {
		f.Close()
		return nil, &CorruptionError{File: path, Offset: 0, Reason: err.Error()}
	}
	if base, ok := parseSegmentName(filepath.Base(path)); !ok || base != h.BaseOffset {
		f.Close()
		return nil, &CorruptionError{File: path, Offset: 0, Reason: fmt.Sprintf("header base offset %d does not match the file name", h.BaseOffset)}
	}
	capacity = max(capacity, st.Size())
	m, err := mapSegment(f, capacity)
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &segment{path: path, header: h, file: f, mmap: m, resident: newResidency(len(m))}
	s.size.Store(st.Size())
	return s, nil
}

// createSegment creates a new segment file with its header written and
// synced, and syncs the directory so the file survives a crash.
func createSegment(fs FS, dir string, h segmentHeader, capacity int64) (*segment, error) {
	path := filepath.Join(dir, segmentName(h.BaseOffset))
	f, err := fs.OpenFile(path, osCreateExcl, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	if _, err := f.WriteAt(h.encode(), 0); err != nil {
		f.Close()
		fs.Remove(path)
		return nil, fmt.Errorf("write segment header %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		fs.Remove(path)
		return nil, fmt.Errorf("sync new segment %s: %w", path, err)
	}
	if err := fs.SyncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("sync log directory: %w", err)
	}
	m, err := mapSegment(f, max(capacity, segmentHeaderSize))
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &segment{path: path, header: h, file: f, mmap: m, resident: newResidency(len(m))}
	s.size.Store(segmentHeaderSize)
	return s, nil
}

// bytes returns the mapped bytes [off, off+n) of the segment (file offsets).
func (s *segment) bytes(off, n int64) []byte { return s.mmap[off : off+n : off+n] }

// endOffset is the global log offset just past the segment's valid bytes.
func (s *segment) endOffset() uint64 { return s.header.BaseOffset + uint64(s.size.Load()) }

func (s *segment) close() error {
	var err error
	if s.mmap != nil {
		err = unix.Munmap(s.mmap)
		s.mmap = nil
	}
	if cerr := s.file.Close(); err == nil {
		err = cerr
	}
	return err
}
