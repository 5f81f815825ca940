package engine

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/sys/unix"
)

// Warm-up. A freshly opened store has an empty index block cache, so
// every read of a stream, type or category pays a pread of each index
// block it touches (a stream state and a posting block, often on several
// LSM levels) plus its decompression: at 10M events that was ~120 µs of a
// 16-event stream lookup's CPU. Databases warm their caches at start-up
// (MariaDB reloads its buffer pool in the background); the store does the
// same, once the existence filter is filled, on one goroutine locked to a
// thread of the lowest scheduling priority, so foreground work keeps the
// cores:
//
//  1. it fills the cache of position entries (position_cache.go) with
//     the newest ones;
//  2. it reads the index in the order reads need it until the block
//     cache is nearly full: stream states and stream postings first
//     (stream reads, appends to existing streams), then the type and
//     category postings and their counts, the sparse position and time
//     entries, and the event ids last (GetEvent, duplicate checks);
//  3. it maps the log into the process, newest segment first, up to half
//     the memory available, so random reads of it need no pread
//     (resident.go);
//  4. it then maps the chunks random reads ask for, until the store
//     closes.
var warmOrder = []byte{
	prefixStreamState, prefixStreamPost, prefixTypeInfo, prefixCategoryInfo,
	prefixTypePost, prefixCategoryPost, prefixPosition, prefixTime, prefixRestricted, prefixEventID,
}

// warmFillFraction is how full the block cache may get before the
// warm-up stops: the rest is left to what reads bring in.
const warmFillFraction = 0.9

// warm runs on the store's warmer goroutine after the existence filter
// is filled: it reads the index into the block cache, populates the
// mapping of the log's cached pages, newest segment first, then populates
// chunks that random reads ask for (resident.go) until the store closes.
func (s *Store) warm() {
	if s.opts.SkipWarmup {
		s.warming.Store(false)
		return
	}
	// A locked thread with the lowest CPU and I/O priority: the warmer
	// uses a core or the disk only when nothing else wants them. The
	// thread exits with the goroutine (it stays locked), so the
	// priorities do not leak.
	runtime.LockOSThread()
	tid := unix.Gettid()
	_ = unix.Setpriority(unix.PRIO_PROCESS, tid, 19)
	_, _, _ = unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), ioprioClassIdle<<ioprioClassShift)

	s.warmPositions()
	s.warmIndexCache()
	vec := make([]byte, residentChunk/unix.Getpagesize())
	ok := s.warmLog(vec, memAvailable()/2)
	s.warming.Store(false)
	if !ok {
		return
	}
	forget := time.NewTicker(10 * time.Second)
	defer forget.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-forget.C:
			// Chunks found too little cached may be cached by now.
			for _, seg := range s.log.segments() {
				seg.resident.forget()
			}
		case req := <-s.log.populate:
			if req.seg.resident.has(int64(req.chunk) * residentChunk) {
				continue
			}
			segs := s.log.segments()
			if _, err := populateChunk(req.seg, req.chunk, req.seg == segs[len(segs)-1], false, vec); err != nil {
				s.logger.Info("random log reads stay on pread", "reason", err)
				return
			}
		}
	}
}

// ioprio_set(2) constants: the idle class, for the warmer's thread.
const (
	ioprioWhoProcess = 1
	ioprioClassIdle  = 3
	ioprioClassShift = 13
)

// warmLog maps the log into the process, newest chunk first, until budget
// bytes are mapped; false when the store is closing or the kernel cannot
// populate mappings.
func (s *Store) warmLog(vec []byte, budget int64) bool {
	start := time.Now()
	segs := s.log.segments()
	var mapped int64
	for i := len(segs) - 1; i >= 0 && mapped < budget; i-- {
		seg := segs[i]
		for c := seg.resident.chunks() - 1; c >= 0 && mapped < budget; c-- {
			select {
			case <-s.closing:
				return false
			default:
			}
			ok, err := populateChunk(seg, c, i == len(segs)-1, true, vec)
			if err != nil {
				s.logger.Info("random log reads stay on pread", "reason", err)
				return false
			}
			if ok {
				mapped += residentChunk
			}
		}
	}
	s.logger.Debug("log mapping warmed", "bytes", mapped, "budget", budget, "seconds", time.Since(start).Seconds())
	return true
}

// memAvailable is the kernel's estimate of the memory available without
// swapping (MemAvailable in /proc/meminfo), or 1 GiB when unknown.
func memAvailable() int64 {
	const unknown = 1 << 30
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return unknown
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return unknown
			}
			return kb << 10
		}
	}
	return unknown
}

// warmPositions fills the cache of position entries, newest first.
func (s *Store) warmPositions() {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPosition}, UpperBound: []byte{prefixPosition + 1}})
	if err != nil {
		s.logger.Warn("warming the position cache failed", "err", err)
		return
	}
	defer it.Close()
	n := 0
	for ok := it.Last(); ok && n < positionCacheSlots; ok = it.Prev() {
		if n%4096 == 0 {
			select {
			case <-s.closing:
				return
			default:
			}
		}
		pos := binary.BigEndian.Uint64(it.Key()[1:])
		if pos%positionIndexEvery != 1 {
			continue // indexed before entries were aligned
		}
		off, err := positionEntryOffset(it.Value())
		if err != nil {
			s.logger.Warn("warming the position cache failed", "err", err)
			return
		}
		s.positions.put((pos-1)/positionIndexEvery, off)
		n++
	}
	if err := it.Error(); err != nil {
		s.logger.Warn("warming the position cache failed", "err", err)
	}
}

// warmIndexCache reads the index into the block cache (see above).
func (s *Store) warmIndexCache() {
	cache := s.popts.Cache
	if cache == nil {
		return
	}
	limit := int64(float64(cache.MaxSize()) * warmFillFraction)
	start := time.Now()
	var keys int64
	for _, prefix := range warmOrder {
		n, stop, err := s.warmPrefix(prefix, cache, limit)
		keys += n
		if err != nil {
			s.logger.Warn("warming the index cache failed", "err", err)
			return
		}
		if stop {
			break
		}
	}
	s.logger.Debug("index cache warmed", "keys", keys, "cache_bytes", cache.Metrics().Size,
		"seconds", time.Since(start).Seconds())
}

// warmPrefix reads the keys of prefix; stop is true when the cache
// reached limit or the store is closing.
func (s *Store) warmPrefix(prefix byte, cache *pebble.Cache, limit int64) (keys int64, stop bool, err error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return 0, false, fmt.Errorf("index: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if _, err := it.ValueAndErr(); err != nil {
			return keys, false, fmt.Errorf("index: %w", err)
		}
		if keys++; keys%4096 == 0 {
			select {
			case <-s.closing:
				return keys, true, nil
			default:
			}
			if cache.Metrics().Size >= limit {
				return keys, true, nil
			}
		}
	}
	return keys, false, it.Error()
}
