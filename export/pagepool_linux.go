package export

import "golang.org/x/sys/unix"

// adviseHugePages asks for transparent huge pages (ignored where THP is
// off or unsupported: the memory then works with normal pages).
func adviseHugePages(m []byte) { _ = unix.Madvise(m, unix.MADV_HUGEPAGE) }
