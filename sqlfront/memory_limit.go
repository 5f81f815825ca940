package sqlfront

import (
	"bufio"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
)

// memoryLimit is the memory reporter of go-mysql-server's memory manager:
// the operators that hold rows in memory (ORDER BY of an unindexed
// column, GROUP BY and DISTINCT on GMS's path, hash joins, subquery
// caches) check it before adding a row, and fail the query with "no
// memory available" (answered as ERROR 1037) once the server's Go heap
// is over the limit, instead of growing until the kernel kills the
// store. GMS's default reporter has no limit unless the MAX_MEMORY
// environment variable is set, and reads runtime.MemStats (a
// stop-the-world) per row when it is.
type memoryLimit struct {
	limit uint64
	// used is the heap in use as last read, at read (unix ns): it is
	// read again when older than memoryRefresh, so a row costs a clock
	// read, and GMS's collection before giving up is seen.
	used atomic.Uint64
	read atomic.Int64
}

// memoryRefresh is how long a reading of the heap is used.
const memoryRefresh = time.Millisecond

var _ sql.Reporter = (*memoryLimit)(nil)

// MaxMemory is the limit in bytes.
func (m *memoryLimit) MaxMemory() uint64 { return m.limit }

// UsedMemory is the Go heap's live and not yet collected objects.
func (m *memoryLimit) UsedMemory() uint64 {
	now := time.Now().UnixNano()
	if now-m.read.Load() < int64(memoryRefresh) {
		return m.used.Load()
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	var v uint64
	if s[0].Value.Kind() == metrics.KindUint64 {
		v = s[0].Value.Uint64()
	}
	m.used.Store(v)
	m.read.Store(now)
	return v
}

// memoryCheck is for the operators that keep rows without asking GMS's
// memory manager (window inputs, aggregation buffers, hash join builds):
// every limitCheckRows rows it asks whether the server is over its SQL
// memory limit and, like GMS's caches, collects once before giving up.
type memoryCheck struct{ rows int }

// limitCheckRows is how many rows pass between two checks.
const limitCheckRows = 1024

// row counts a row; an ErrNoMemoryAvailable (ERROR 1037) once over the
// limit.
func (m *memoryCheck) row(ctx *sql.Context) error {
	if m.rows++; m.rows%limitCheckRows != 0 || ctx.Memory == nil || ctx.Memory.HasAvailable() {
		return nil
	}
	runtime.GC()
	if ctx.Memory.HasAvailable() {
		return nil
	}
	return sql.ErrNoMemoryAvailable.New()
}

// DefaultSQLMemoryLimit is the SQL memory limit when none is given: a
// quarter of the machine's memory, at least 256 MiB.
func DefaultSQLMemoryLimit() uint64 {
	const floor = 256 << 20
	total := physicalMemory()
	return max(total/4, floor)
}

// physicalMemory is MemTotal of /proc/meminfo (0 when unknown).
func physicalMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
