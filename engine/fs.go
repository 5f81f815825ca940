package engine

import (
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// FS is the filesystem seam of the log: tests swap it for one that fails
// writes and syncs or tears them (see faultfs_test.go). Reads of segment
// files go through mmap of the file descriptor, so a File must be a real
// file underneath.
type FS interface {
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	ReadDir(dir string) ([]os.DirEntry, error)
	MkdirAll(dir string, perm os.FileMode) error
	Remove(name string) error
	// SyncDir makes the creation or removal of files in dir durable.
	SyncDir(dir string) error
}

// File is an open segment file. Frames are written at explicit offsets.
type File interface {
	io.WriterAt
	io.ReaderAt
	io.Closer
	// Sync makes written data durable (fdatasync).
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Fd() uintptr
	Name() string
}

// OSFS is the operating system's filesystem.
type OSFS struct{}

// OpenFile opens a file with os.OpenFile.
func (OSFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// ReadDir lists a directory.
func (OSFS) ReadDir(dir string) ([]os.DirEntry, error) { return os.ReadDir(dir) }

// MkdirAll creates a directory and its parents.
func (OSFS) MkdirAll(dir string, perm os.FileMode) error { return os.MkdirAll(dir, perm) }

// Remove removes a file.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// SyncDir fsyncs a directory.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type osFile struct{ *os.File }

// Sync uses fdatasync: the log never depends on file metadata other than
// the size, which fdatasync flushes too.
func (f osFile) Sync() error {
	for {
		err := unix.Fdatasync(int(f.File.Fd()))
		if err != unix.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}

// osCreateExcl opens a new segment for writing; it must not exist yet.
const osCreateExcl = os.O_RDWR | os.O_CREATE | os.O_EXCL

// osOpenWrite opens the last segment to continue it.
const osOpenWrite = os.O_RDWR

// osOpenRead opens a sealed segment.
const osOpenRead = os.O_RDONLY
