package engine

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/sstable/block"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
)

// idIndex is the event id -> (position, log offset) index.
//
// Event ids are random, and inserting random keys into Pebble's memtable
// skiplist costs ~3 µs each: more than everything else an append does.
// So ids do not go through the memtable. They collect in an in-memory
// map; every Options.idFlushEntries ids (default 256k) the map is frozen, written as one sorted
// table and ingested into Pebble in the background. Lookups check the
// maps, then Pebble.
//
// Crash safety: the key idsCheckpointKey records the log offset up to
// which ids are ingested. On open the ids in the log between it and the
// index checkpoint are read back into the map (at most about
// that many events). Ids ingested twice after a crash are the same
// keys with the same values.
type idIndex struct {
	db     *pebble.DB
	popts  *pebble.Options
	dir    string
	logger *slog.Logger
	onFail func(error)

	mu     sync.RWMutex
	active map[uuid.UUID]idEntry
	// runs hold the ids of large index batches (bulk appends), each
	// sorted by id: sorting 10k ids costs less than 10k map inserts.
	runs      [][]pendingID
	runIDs    int // ids in runs
	activeEnd uint64
	frozen    []frozenIDs // oldest first; frozen[0] is being ingested

	flushAt int
	// spare recycles id slices: the indexer's per-batch slices and the
	// sorted runs once ingested.
	spare *idSlices
	// bulk is set while the store opens: ids then collect in a slice and
	// are frozen sorted, with no map inserts (nothing looks them up yet).
	bulk    bool
	bulkIDs []pendingID

	wake chan struct{}
	done chan struct{}
	seq  int
}

type idEntry struct{ pos, off uint64 }

// frozenIDs is a set of ids waiting to be ingested: a map and sorted
// runs (frozen from the live path) or one slice sorted by id (from bulk
// loading on open).
type frozenIDs struct {
	ids    map[uuid.UUID]idEntry
	runs   [][]pendingID
	sorted []pendingID
	end    uint64 // log offset the ids cover up to
}

func (f *frozenIDs) get(id uuid.UUID) (idEntry, bool) {
	if e, ok := f.ids[id]; ok {
		return e, true
	}
	if e, ok := searchRuns(f.runs, id); ok {
		return e, true
	}
	return searchSorted(f.sorted, id)
}

// searchRuns looks id up in sorted runs, newest first.
func searchRuns(runs [][]pendingID, id uuid.UUID) (idEntry, bool) {
	for i := len(runs) - 1; i >= 0; i-- {
		if e, ok := searchSorted(runs[i], id); ok {
			return e, true
		}
	}
	return idEntry{}, false
}

func searchSorted(sorted []pendingID, id uuid.UUID) (idEntry, bool) {
	i, ok := slices.BinarySearchFunc(sorted, id, func(p pendingID, id uuid.UUID) int { return bytes.Compare(p.id[:], id[:]) })
	if !ok {
		return idEntry{}, false
	}
	return sorted[i].e, true
}

// minSortedRun is the smallest index batch whose ids are kept as a
// sorted run rather than in the map; smaller ones would make lookups
// search many tiny runs.
const minSortedRun = 1024

// pendingID is an id the indexer saw in the current batch.
type pendingID struct {
	id uuid.UUID
	e  idEntry
}

const defaultIDFlushEntries = 1 << 18

// runIDsWeight: an id in a sorted run counts for 1/runIDsWeight of one in
// the map towards the flush. A run takes 32 bytes an id against ~80 in
// the map, and each ingested table spans the whole id range, so Pebble
// rewrites the ids below it when L0 compacts: fewer, larger tables from
// bulk imports cut that work (3 GB import: compactions 6.3 -> 2.0 s of
// CPU, 2.99 -> 2.47 us per event).
const runIDsWeight = 4

var idsCheckpointKey = []byte{prefixCheckpoint, 'i', 'd', 's'}

func newIDIndex(db *pebble.DB, popts *pebble.Options, dir string, flushAt int, logger *slog.Logger, onFail func(error)) *idIndex {
	x := &idIndex{
		db: db, popts: popts, dir: dir, logger: logger, onFail: onFail, flushAt: flushAt,
		active: make(map[uuid.UUID]idEntry),
		spare:  &idSlices{},
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	go x.run()
	return x
}

// ingestedEnd returns the log offset up to which ids are in Pebble.
func readIDsCheckpoint(db *pebble.DB) (uint64, error) {
	v, ok, err := getValue(db, idsCheckpointKey, nil)
	if err != nil || !ok || len(v) != 8 {
		return 0, err
	}
	return binary.LittleEndian.Uint64(v), nil
}

// add records ids indexed up to log offset end. Outside bulk loading it
// takes ids over (they may be recycled).
func (x *idIndex) add(ids []pendingID, end uint64) {
	if len(ids) == 0 {
		return
	}
	x.mu.Lock()
	if x.bulk {
		x.bulkIDs = append(x.bulkIDs, ids...)
		x.activeEnd = end
		full := len(x.bulkIDs) >= x.flushAt
		if full {
			x.freezeBulkLocked()
		}
		x.mu.Unlock()
		if full {
			x.signal()
		}
		return
	}
	x.mu.Unlock()
	// Sorted outside the lock: only this goroutine adds.
	var run []pendingID
	switch {
	case len(ids) >= sortIDsBuckets:
		run = sortIDsInto(x.spare.get(len(ids))[:len(ids)], ids)
	case len(ids) >= minSortedRun:
		run = ids
		slices.SortFunc(run, compareIDs)
	}
	x.mu.Lock()
	if run != nil {
		x.runs = append(x.runs, run)
		x.runIDs += len(run)
	} else {
		for _, p := range ids {
			x.active[p.id] = p.e
		}
	}
	x.activeEnd = end
	full := len(x.active)+x.runIDs/runIDsWeight >= x.flushAt
	if full {
		x.freezeLocked()
	}
	x.mu.Unlock()
	if run == nil || &run[0] != &ids[0] {
		x.spare.put(ids)
	}
	if full {
		x.signal()
	}
}

func (x *idIndex) freezeLocked() {
	if len(x.active) == 0 && len(x.runs) == 0 {
		return
	}
	x.frozen = append(x.frozen, frozenIDs{ids: x.active, runs: x.runs, end: x.activeEnd})
	// The next map will likely take as many ids as this one: size it
	// so, as growing a map costs more than filling it.
	x.active = make(map[uuid.UUID]idEntry, len(x.active))
	x.runs, x.runIDs = nil, 0
}

func (x *idIndex) freezeBulkLocked() {
	if len(x.bulkIDs) == 0 {
		return
	}
	x.frozen = append(x.frozen, frozenIDs{sorted: sortIDs(x.bulkIDs), end: x.activeEnd})
	x.bulkIDs = nil
	if x.bulk {
		x.bulkIDs = make([]pendingID, 0, x.flushAt)
	}
}

// endBulk ends bulk loading: what is left is frozen for ingestion and
// later ids go to the map.
func (x *idIndex) endBulk() {
	x.mu.Lock()
	x.bulk = false
	x.freezeBulkLocked()
	x.mu.Unlock()
	x.signal()
}

func (x *idIndex) signal() {
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// lookup finds an id in memory, then in Pebble.
func (x *idIndex) lookup(id uuid.UUID) (idEntry, bool, error) {
	x.mu.RLock()
	e, ok := x.active[id]
	if !ok {
		e, ok = searchRuns(x.runs, id)
	}
	for i := len(x.frozen) - 1; !ok && i >= 0; i-- {
		e, ok = x.frozen[i].get(id)
	}
	x.mu.RUnlock()
	if ok {
		return e, true, nil
	}
	v, found, err := getValue(x.db, eventIDKey(nil, id), nil)
	if err != nil || !found {
		return idEntry{}, false, err
	}
	if len(v) != 16 {
		return idEntry{}, false, fmt.Errorf("engine: malformed event id entry in the index")
	}
	return idEntry{pos: binary.BigEndian.Uint64(v), off: binary.BigEndian.Uint64(v[8:])}, true, nil
}

// eachInMemory calls fn with the index key of every id held in memory.
func (x *idIndex) eachInMemory(fn func(key []byte)) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var k []byte
	for id := range x.active {
		k = eventIDKey(k[:0], id)
		fn(k)
	}
	eachInRuns := func(runs [][]pendingID) {
		for _, run := range runs {
			for _, p := range run {
				k = eventIDKey(k[:0], p.id)
				fn(k)
			}
		}
	}
	eachInRuns(x.runs)
	for _, f := range x.frozen {
		for id := range f.ids {
			k = eventIDKey(k[:0], id)
			fn(k)
		}
		eachInRuns(f.runs)
		for _, p := range f.sorted {
			k = eventIDKey(k[:0], p.id)
			fn(k)
		}
	}
}

func (x *idIndex) run() {
	defer close(x.done)
	for range x.wake {
		for {
			x.mu.RLock()
			if len(x.frozen) == 0 {
				x.mu.RUnlock()
				break
			}
			f := x.frozen[0]
			x.mu.RUnlock()
			if err := x.ingest(f); err != nil {
				x.onFail(fmt.Errorf("ingest event ids: %w", err))
				break
			}
			x.mu.Lock()
			x.frozen = x.frozen[1:]
			x.mu.Unlock()
			// No lookup can reach the runs any more.
			for _, run := range f.runs {
				x.spare.put(run)
			}
		}
	}
}

// ingest writes f as a sorted table, ingests it and moves the ids
// checkpoint.
func (x *idIndex) ingest(f frozenIDs) error {
	// The ids come sorted: the runs are, the map's few are sorted here,
	// and a merge of them all feeds the table (no copy of them all, no
	// sort again).
	runs := f.runs
	if f.sorted != nil {
		runs = [][]pendingID{f.sorted}
	}
	if len(f.ids) > 0 {
		fromMap := make([]pendingID, 0, len(f.ids))
		for id, e := range f.ids {
			fromMap = append(fromMap, pendingID{id: id, e: e})
		}
		runs = append(slices.Clip(runs), sortIDs(fromMap))
	}
	x.seq++
	path := filepath.Join(x.dir, fmt.Sprintf("ids-%d-%d.sst.tmp", os.Getpid(), x.seq))
	file, err := vfs.Default.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	w := sstable.NewWriter(objstorageprovider.NewFileWritable(file), idTableOptions(x.popts, x.db))
	var k, v []byte
	var prev uuid.UUID
	first := true
	err = mergeIDRuns(runs, func(p pendingID) error {
		if !first && p.id == prev {
			return nil // the same id loaded twice after a crash
		}
		first, prev = false, p.id
		k = eventIDKey(k[:0], p.id)
		v = binary.BigEndian.AppendUint64(v[:0], p.e.pos)
		v = binary.BigEndian.AppendUint64(v, p.e.off)
		return w.Set(k, v)
	})
	if err != nil {
		w.Close()
		os.Remove(path)
		return err
	}
	if err := w.Close(); err != nil {
		os.Remove(path)
		return err
	}
	if err := x.db.Ingest(context.Background(), []string{path}); err != nil {
		os.Remove(path)
		return err
	}
	return x.db.Set(idsCheckpointKey, binary.LittleEndian.AppendUint64(nil, f.end), pebble.NoSync)
}

// mergeIDRuns calls fn with the ids of runs, each sorted, in order (a
// k-way merge over a heap of the runs' heads, keyed by the heads' first
// eight bytes so most comparisons need no other load).
func mergeIDRuns(runs [][]pendingID, fn func(pendingID) error) error {
	type cursor struct {
		head uint64      // first eight bytes of rest[0].id, big-endian
		rest []pendingID // what is left of the run
	}
	h := make([]cursor, 0, len(runs)) // a min-heap by head
	for _, r := range runs {
		if len(r) > 0 {
			h = append(h, cursor{binary.BigEndian.Uint64(r[0].id[:8]), r})
		}
	}
	less := func(i, j int) bool {
		if h[i].head != h[j].head {
			return h[i].head < h[j].head
		}
		return compareIDs(h[i].rest[0], h[j].rest[0]) < 0
	}
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && less(c+1, c) {
				c++
			}
			if !less(c, i) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(h) > 0 {
		top := &h[0]
		if err := fn(top.rest[0]); err != nil {
			return err
		}
		if top.rest = top.rest[1:]; len(top.rest) > 0 {
			top.head = binary.BigEndian.Uint64(top.rest[0].id[:8])
		} else {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
	return nil
}

// compareIDs orders ids as their bytes (as the index keys do), eight
// bytes at a time.
func compareIDs(a, b pendingID) int {
	if x, y := binary.BigEndian.Uint64(a.id[:8]), binary.BigEndian.Uint64(b.id[:8]); x != y {
		return cmp.Compare(x, y)
	}
	return cmp.Compare(binary.BigEndian.Uint64(a.id[8:]), binary.BigEndian.Uint64(b.id[8:]))
}

// sortIDs returns ids sorted by id. Ids are mostly random, so it
// distributes them into 65536 buckets by their first two bytes (one
// counting pass, one scatter) and sorts each small bucket; a skewed
// bucket (time-ordered UUIDv7 ids share their first bytes) falls back to
// pdqsort. About 3x faster than sorting the whole slice.
func sortIDs(ids []pendingID) []pendingID {
	if len(ids) < sortIDsBuckets {
		slices.SortFunc(ids, compareIDs)
		return ids
	}
	return sortIDsInto(make([]pendingID, len(ids)), ids)
}

// sortIDsBuckets is the smallest slice sortIDs sorts by buckets.
const sortIDsBuckets = 4096

// sortIDsInto is sortIDs into out (len(ids) long), for len(ids) >=
// sortIDsBuckets.
func sortIDsInto(out, ids []pendingID) []pendingID {
	// About four ids a bucket: the buckets' counts cost as much as the
	// ids once there are more buckets than ids (a batch of 20k ids used
	// to fill and scan 64k buckets, twice).
	width := min(max(bits.Len(uint(len(ids)/4)), 4), 16)
	shift := 16 - width
	buckets := 1 << width
	bucket := func(p *pendingID) int { return int(uint16(p.id[0])<<8|uint16(p.id[1])) >> shift }
	starts := make([]int32, 2*buckets+1) // starts, then the next free slot of each bucket
	for i := range ids {
		starts[bucket(&ids[i])+1]++
	}
	for b := range buckets {
		starts[b+1] += starts[b]
	}
	next := starts[buckets+1:]
	copy(next, starts[:buckets])
	for i := range ids {
		b := bucket(&ids[i])
		out[next[b]] = ids[i]
		next[b]++
	}
	for b := range buckets {
		bucket := out[starts[b]:starts[b+1]]
		if len(bucket) > 1 {
			if len(bucket) <= 12 {
				for i := 1; i < len(bucket); i++ {
					for j := i; j > 0 && compareIDs(bucket[j], bucket[j-1]) < 0; j-- {
						bucket[j], bucket[j-1] = bucket[j-1], bucket[j]
					}
				}
			} else {
				slices.SortFunc(bucket, compareIDs)
			}
		}
	}
	return out
}

// flush ingests everything held in memory and stops the worker.
func (x *idIndex) close(flush bool) {
	if flush {
		x.mu.Lock()
		x.freezeLocked()
		x.mu.Unlock()
		x.signal()
	}
	close(x.wake)
	<-x.done
}

// idTableOptions are the writer options of an ingested id table: the
// row-based table format and no compression. Ids are random, so blocks
// of them do not compress (Snappy saved 0.002%) and trying costs; and
// Pebble's row-based writer builds a table of 256k ids in about 36 ms of
// CPU against 57 ms for the columnar one (71 ms compressed). Compactions
// rewrite the tables in the store's own format later, as they would
// anyway.
func idTableOptions(popts *pebble.Options, db *pebble.DB) sstable.WriterOptions {
	wo := popts.MakeWriterOptions(6, db.TableFormat())
	wo.Compression = block.NoCompression
	wo.TableFormat = min(wo.TableFormat, sstable.TableFormatPebblev4)
	return wo
}

// idSlices recycles slices of ids: an index batch's (the indexer's) and
// sorted runs once ingested. ~20k ids (640 KB) allocated per batch, twice,
// were the largest share of a bulk import's allocations.
type idSlices struct {
	mu   sync.Mutex
	free [][]pendingID
}

const maxSpareIDSlices = 32

// get returns an empty slice with room for n ids.
func (p *idSlices) get(n int) []pendingID {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.free) - 1; i >= 0; i-- {
		if s := p.free[i]; cap(s) >= n {
			p.free = slices.Delete(p.free, i, i+1)
			return s[:0]
		}
	}
	return make([]pendingID, 0, n)
}

// put hands back a slice nothing uses any more.
func (p *idSlices) put(s []pendingID) {
	if cap(s) < minSortedRun {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) < maxSpareIDSlices {
		p.free = append(p.free, s[:0])
	}
}
