package engine

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
)

// indexer turns records, in log order, into index entries. The same code
// indexes live appends (one batch per group commit), the tail of the log
// on open and a full rebuild, so the three cannot disagree.
//
// Its caches are authoritative: the indexer is the only writer of the
// index. They are bounded and cleared after a commit when too large.
type indexer struct {
	db *pebble.DB
	cp checkpoint

	states   map[string]*indexedStream // cache of stream states
	typeInfo map[string]*nameInfo
	catInfo  map[string]*nameInfo

	// Per batch.
	batch        *pebble.Batch
	touched      map[*indexedStream]struct{}
	touchedTypes map[string]*nameInfo
	touchedCats  map[string]*nameInfo
	streamRuns   map[string]*postingRun
	freeRuns     []*postingRun // emptied stream runs, for reuse
	typeRuns     map[string]*postingRun
	catRuns      map[string]*postingRun
	lastPosEntry uint64 // position of the last 'p' entry written
	events       int    // events added to this batch
	// restrictedChanged lists streams whose restriction state changed or
	// whose visible window moved, with their new state, for the store's
	// in-memory view used by $all/type/category reads.
	restrictedChanged map[string]streamState
	// ids go to the idIndex, not the batch (see idindex.go).
	ids []pendingID

	// created lists streams the applier created in the groups being
	// indexed; seen is set during a full rebuild. Both spare an index
	// probe for a stream that cannot be there yet.
	created map[string]struct{}
	seen    *existenceFilter

	key []byte
	val []byte
}

// indexedStream is a cached stream state with its name, so the hot path
// never converts the record's name bytes to a new string.
type indexedStream struct {
	name string
	st   streamState
}

// nameInfo summarises an event type or a category (keys 'E' and 'C').
type nameInfo struct {
	Count         uint64
	FirstPosition uint64
	LastPosition  uint64
}

func (n *nameInfo) encode(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, n.Count)
	dst = binary.LittleEndian.AppendUint64(dst, n.FirstPosition)
	return binary.LittleEndian.AppendUint64(dst, n.LastPosition)
}

func decodeNameInfo(b []byte) (nameInfo, error) {
	if len(b) != 24 {
		return nameInfo{}, fmt.Errorf("engine: malformed type or category summary in the index")
	}
	return nameInfo{
		Count:         binary.LittleEndian.Uint64(b),
		FirstPosition: binary.LittleEndian.Uint64(b[8:]),
		LastPosition:  binary.LittleEndian.Uint64(b[16:]),
	}, nil
}

// postingRun is a posting block being built. For stream blocks First is
// the version of the first entry (versions are consecutive); for type and
// category blocks it is the first position.
type postingRun struct {
	First uint64
	Ps    []posting
}

const maxCachedStates = 200_000

func newIndexer(db *pebble.DB, cp checkpoint) *indexer {
	ix := &indexer{
		db:       db,
		cp:       cp,
		states:   make(map[string]*indexedStream),
		typeInfo: make(map[string]*nameInfo),
		catInfo:  make(map[string]*nameInfo),
		created:  make(map[string]struct{}),
	}
	ix.resetBatch()
	return ix
}

func (ix *indexer) resetBatch() {
	ix.batch = ix.db.NewBatch()
	ix.touched = make(map[*indexedStream]struct{})
	ix.touchedTypes = make(map[string]*nameInfo)
	ix.touchedCats = make(map[string]*nameInfo)
	// Stream runs are many and short-lived (one per stream a batch
	// touches): keep the emptied ones for the next batch.
	for _, run := range ix.streamRuns {
		ix.freeRuns = append(ix.freeRuns, run)
	}
	if ix.streamRuns == nil {
		ix.streamRuns = make(map[string]*postingRun)
	} else {
		clear(ix.streamRuns)
	}
	ix.typeRuns = make(map[string]*postingRun)
	ix.catRuns = make(map[string]*postingRun)
	ix.restrictedChanged = make(map[string]streamState)
	// The finished batch keeps the old slice; size the next like it.
	ix.ids = make([]pendingID, 0, cap(ix.ids))
	ix.events = 0
}

func (ix *indexer) state(stream []byte) (*indexedStream, error) {
	if s, ok := ix.states[string(stream)]; ok {
		return s, nil
	}
	is := &indexedStream{name: string(stream)}
	var found bool
	_, isNew := ix.created[is.name]
	if ix.seen != nil {
		ix.key = append(append(ix.key[:0], prefixStreamState), stream...)
		if !ix.seen.mayContain(ix.key) {
			isNew = true
		}
		ix.seen.add(ix.key)
	}
	if isNew {
		is.st = newStreamState()
	} else {
		var err error
		if is.st, found, err = loadStreamState(ix.db, is.name); err != nil {
			return nil, err
		}
	}
	if !found {
		ix.cp.Streams++
	}
	ix.states[is.name] = is
	return is, nil
}

func (ix *indexer) info(cache map[string]*nameInfo, prefix byte, name []byte) (*nameInfo, error) {
	if n, ok := cache[string(name)]; ok {
		return n, nil
	}
	n := &nameInfo{}
	v, ok, err := getValue(ix.db, nameKey(prefix, string(name)), nil)
	if err != nil {
		return nil, err
	}
	if ok {
		if *n, err = decodeNameInfo(v); err != nil {
			return nil, err
		}
	}
	cache[string(name)] = n
	return n, nil
}

// add indexes one record found at global log offset off; end is the
// offset just past it.
func (ix *indexer) add(r *record, off, end uint64) error {
	switch r.Kind {
	case kindEvent:
		if err := ix.addEvent(r, off); err != nil {
			return err
		}
	case kindMetadata, kindDelete:
		is, err := ix.state(r.Stream)
		if err != nil {
			return err
		}
		s := &is.st
		was := s.restricted()
		if r.Kind == kindMetadata {
			s.applyMetadata(r.Meta, r.CreatedAt)
		} else {
			s.applyDelete(r.hard(), r.CreatedAt)
		}
		ix.touched[is] = struct{}{}
		ix.noteRestriction(is.name, s, was)
	default:
		return fmt.Errorf("engine: cannot index record kind %d", r.Kind)
	}
	ix.cp.LogEnd = end
	return nil
}

func (ix *indexer) addEvent(r *record, off uint64) error {
	is, err := ix.state(r.Stream)
	if err != nil {
		return err
	}
	s := &is.st
	if r.Version != s.Version+1 || r.Position != ix.cp.LastPosition+1 {
		return &CorruptionError{Offset: int64(off), Reason: fmt.Sprintf(
			"record has position %d version %d of stream %q, expected position %d version %d (records missing or out of order)",
			r.Position, r.Version, r.Stream, ix.cp.LastPosition+1, s.Version+1)}
	}
	was := s.restricted()
	s.applyEvent(r.Position, r.Version, r.CreatedAt)
	stream := is.name
	ix.touched[is] = struct{}{}
	if was || s.restricted() {
		ix.noteRestriction(stream, s, was)
	}
	p := posting{Pos: r.Position, Off: off}

	// Stream block: consecutive versions.
	run := ix.streamRuns[stream]
	if run != nil && (run.First+uint64(len(run.Ps)) != uint64(r.Version) || len(run.Ps) == maxPostingsPerBlock) {
		ix.flushRun(prefixStreamPost, stream, run)
		run.First = uint64(r.Version)
	}
	if run == nil {
		if n := len(ix.freeRuns); n > 0 {
			run = ix.freeRuns[n-1]
			ix.freeRuns = ix.freeRuns[:n-1]
			run.First = uint64(r.Version)
		} else {
			run = &postingRun{First: uint64(r.Version)}
		}
		ix.streamRuns[stream] = run
	}
	run.Ps = append(run.Ps, p)

	if err := ix.addToName(ix.typeRuns, ix.typeInfo, ix.touchedTypes, prefixTypePost, prefixTypeInfo, unsafeString(r.Type), p); err != nil {
		return err
	}
	if err := ix.addToName(ix.catRuns, ix.catInfo, ix.touchedCats, prefixCategoryPost, prefixCategoryInfo,
		Category(stream), p); err != nil {
		return err
	}

	ix.ids = append(ix.ids, pendingID{id: r.ID, e: idEntry{pos: r.Position, off: off}})
	if ix.events == 0 || r.Position-ix.lastPosEntry >= positionIndexEvery {
		ix.key = positionKey(ix.key[:0], r.Position)
		ix.val = binary.BigEndian.AppendUint64(ix.val[:0], off)
		ix.val = binary.BigEndian.AppendUint64(ix.val, uint64(r.CreatedAt))
		if err := ix.batch.Set(ix.key, ix.val, nil); err != nil {
			return err
		}
		ix.key = timeKey(ix.key[:0], r.CreatedAt, r.Position)
		if err := ix.batch.Set(ix.key, nil, nil); err != nil {
			return err
		}
		ix.lastPosEntry = r.Position
	}
	ix.events++
	ix.cp.LastPosition = r.Position
	ix.cp.LastTime = r.CreatedAt
	ix.cp.Bytes += uint64(len(r.Data) + len(r.Metadata))
	return nil
}

// addToName adds p to the posting run and summary of a type or category.
// name may alias the log (see unsafeString): it is only stored after
// being cloned.
func (ix *indexer) addToName(runs map[string]*postingRun, infos, touched map[string]*nameInfo,
	postPrefix, infoPrefix byte, name string, p posting) error {
	run, ok := runs[name]
	if !ok {
		name = strings.Clone(name)
		run = &postingRun{First: p.Pos}
		runs[name] = run
	} else if len(run.Ps) == maxPostingsPerBlock {
		ix.flushRun(postPrefix, name, run)
		run.First = p.Pos
	} else if len(run.Ps) == 0 {
		run.First = p.Pos
	}
	run.Ps = append(run.Ps, p)
	info, ok := touched[name]
	if !ok {
		var err error
		if info, err = ix.info(infos, infoPrefix, []byte(name)); err != nil {
			return err
		}
		touched[strings.Clone(name)] = info
	}
	if info.Count == 0 {
		info.FirstPosition = p.Pos
	}
	info.Count++
	info.LastPosition = p.Pos
	return nil
}

func (ix *indexer) noteRestriction(stream string, s *streamState, was bool) {
	now := s.restricted()
	if now != was {
		ix.key = nameKey(prefixRestricted, stream)
		if now {
			ix.batch.Set(ix.key, nil, nil)
		} else {
			ix.batch.Delete(ix.key, nil)
		}
	}
	if now || was {
		ix.restrictedChanged[stream] = *s
	}
}

// flushRun writes a posting block into the batch and empties the run.
func (ix *indexer) flushRun(prefix byte, name string, run *postingRun) {
	if len(run.Ps) == 0 {
		return
	}
	ix.key = postingKey(ix.key[:0], prefix, name, run.First)
	ix.val = appendPostingBlock(ix.val[:0], run.Ps)
	ix.batch.Set(ix.key, ix.val, nil)
	run.Ps = run.Ps[:0]
}

// pending reports whether the batch holds anything to commit.
func (ix *indexer) pending() bool {
	return ix.batch.Count() > 0 || len(ix.touched) > 0 || len(ix.ids) > 0
}

// finishBatch writes the remaining runs, summaries and the checkpoint into
// the batch and returns it (uncommitted) with the restriction changes;
// the indexer starts a new batch. The caches keep the batch's state, so
// the next batch can be built before this one is committed.
func (ix *indexer) finishBatch() *finishedBatch {
	for name, run := range ix.streamRuns {
		ix.flushRun(prefixStreamPost, name, run)
	}
	for name, run := range ix.typeRuns {
		ix.flushRun(prefixTypePost, name, run)
	}
	for name, run := range ix.catRuns {
		ix.flushRun(prefixCategoryPost, name, run)
	}
	for is := range ix.touched {
		ix.val = is.st.encode(ix.val[:0])
		ix.batch.Set(nameKey(prefixStreamState, is.name), ix.val, nil)
	}
	for name, n := range ix.touchedTypes {
		ix.batch.Set(nameKey(prefixTypeInfo, name), n.encode(ix.val[:0]), nil)
	}
	for name, n := range ix.touchedCats {
		ix.batch.Set(nameKey(prefixCategoryInfo, name), n.encode(ix.val[:0]), nil)
	}
	ix.batch.Set(checkpointKey, ix.cp.encode(), nil)
	fb := &finishedBatch{batch: ix.batch, restricted: ix.restrictedChanged, ids: ix.ids, end: ix.cp.LogEnd}
	ix.resetBatch()
	return fb
}

// finishedBatch is an index batch and what must follow its commit.
type finishedBatch struct {
	batch      *pebble.Batch
	restricted map[string]streamState // for the restricted view
	ids        []pendingID            // for the idIndex
	end        uint64                 // log offset the batch covers up to
}

// cachesFull reports whether the caches should be trimmed.
func (ix *indexer) cachesFull() bool {
	return len(ix.states) > maxCachedStates || len(ix.catInfo) > maxCachedStates || len(ix.typeInfo) > maxCachedStates
}

// trimCaches empties the caches. Only call it when every finished batch
// is committed: afterwards the index is the only copy of their state.
func (ix *indexer) trimCaches() {
	clear(ix.states)
	clear(ix.catInfo)
	clear(ix.typeInfo)
}

// unsafeString views b as a string without copying, for map lookups. The
// result must not be kept: b aliases the mapped log.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
