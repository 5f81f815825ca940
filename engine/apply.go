package engine

import (
	"hash/maphash"
	"strings"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// applier decides commands: positions, versions, expected-version checks
// and idempotency, from the command and the current state only. It runs
// in the committer goroutine and stages the command's records in the log.
//
// Its state is the index plus what it applied since (groups written but
// not yet indexed): cachedState entries and recent event ids, each tagged
// with the group that last changed it. Entries of groups the index has
// covered may be dropped; the index then answers.
type applier struct {
	db  *pebble.DB
	log *eventLog
	ids *idIndex

	nextPosition uint64
	lastTime     int64 // µs; stamps never go backwards
	group        uint64

	states    map[string]*cachedState
	recentIDs map[uuid.UUID]recentID
	recent    []recentGroup // ids per unindexed group, oldest first
	// cmdIDs are the ids the Independent command being applied has
	// accepted so far; cmdIdx indexes them once a lookup needs it
	// (cmdIndexed).
	cmdIDs     []recentEntry
	cmdIdx     *runIndex
	cmdIndexed bool
	// freeRuns are id runs of forgotten groups, for reuse as cmdIDs;
	// freeIdx their indexes.
	freeRuns [][]recentEntry
	freeIdx  []*runIndex
	idSeed   maphash.Seed
	// work and eachBuf hold the streams' working states of the
	// Independent command being applied (reused).
	work    map[string]int32
	eachBuf []eachState

	// filter answers "certainly absent" for ids and stream names without
	// an index lookup; next is its larger successor while it is built.
	filter *existenceFilter
	next   *existenceFilter
	sink   uint64 // keeps probeIDs' loads from being optimised away
	// idHash and idMaybe are probeIDs' hashes and answers, per event of
	// the Independent command being applied.
	idHash    []uint64
	idMaybe   []bool
	startFill func(f *existenceFilter, afterGroup uint64)
	// expected is the number of events a bulk writer announced
	// (Store.ExpectEvents), taken by maintainFilter.
	expected atomic.Uint64
	key      []byte

	buf    []byte      // the command's frames
	rec    []byte      // one record's payload
	frames frameReader // reads the records of ids found in the index
	locs   []idLoc
	// created lists streams first written in the current group.
	created []string
}

type cachedState struct {
	s     streamState
	group uint64 // last group that changed it
}

type recentID struct {
	pos     uint64
	stream  string
	version int64
}

type recentGroup struct {
	seq uint64
	ids []uuid.UUID // in recentIDs
	// runs hold the ids of the group's Independent (bulk) commands, one
	// run per command: no map insert and delete per id, and forgetting
	// the group drops them at once. Lookups rarely get this far (the
	// existence filter answers first), so a run is indexed (idx, same
	// order) only when one does. See applyEach.
	runs [][]recentEntry
	idx  []*runIndex
}

// lookupRuns finds id among g's runs.
func (a *applier) lookupRuns(g *recentGroup, id uuid.UUID) (recentID, bool) {
	for i, run := range g.runs {
		for len(g.idx) <= i {
			g.idx = append(g.idx, nil)
		}
		if g.idx[i] == nil {
			g.idx[i] = a.takeIndex().sync(run)
		}
		if r, ok := g.idx[i].lookup(run, id); ok {
			return r, true
		}
	}
	return recentID{}, false
}

// takeIndex returns an empty run index.
func (a *applier) takeIndex() *runIndex {
	if n := len(a.freeIdx); n > 0 {
		x := a.freeIdx[n-1]
		a.freeIdx = a.freeIdx[:n-1]
		return x
	}
	return newRunIndex(a.idSeed)
}

// recentEntry is an id applied by an Independent command.
type recentEntry struct {
	id uuid.UUID
	r  recentID
}

// recentInRuns looks id up among the runs of unindexed groups and the
// ids of the Independent command being applied.
func (a *applier) recentInRuns(id uuid.UUID) (recentID, bool) {
	if len(a.cmdIDs) > 0 {
		// The first lookup that gets this far during a command (rare:
		// the filter answered "maybe") indexes its ids, later ones the
		// ids accepted since.
		if a.cmdIdx == nil {
			a.cmdIdx = newRunIndex(a.idSeed)
		}
		if !a.cmdIndexed {
			a.cmdIdx.reset()
			a.cmdIndexed = true
		}
		if r, ok := a.cmdIdx.sync(a.cmdIDs).lookup(a.cmdIDs, id); ok {
			return r, true
		}
	}
	for i := len(a.recent) - 1; i >= 0; i-- {
		if r, ok := a.lookupRuns(&a.recent[i], id); ok {
			return r, true
		}
	}
	return recentID{}, false
}

const maxCommitterStates = 100_000

func newApplier(db *pebble.DB, log *eventLog, ids *idIndex, cp checkpoint, filter *existenceFilter) *applier {
	return &applier{
		ids:          ids,
		filter:       filter,
		db:           db,
		log:          log,
		frames:       newFrameReader(log),
		nextPosition: cp.LastPosition + 1,
		lastTime:     cp.LastTime,
		states:       make(map[string]*cachedState),
		recentIDs:    make(map[uuid.UUID]recentID),
		idSeed:       maphash.MakeSeed(),
	}
}

// forget drops state the index now covers (groups up to indexed).
func (a *applier) forget(indexed uint64) {
	for len(a.recent) > 0 && a.recent[0].seq <= indexed {
		for _, id := range a.recent[0].ids {
			delete(a.recentIDs, id)
		}
		for _, run := range a.recent[0].runs {
			if len(a.freeRuns) < maxFreeRuns {
				a.freeRuns = append(a.freeRuns, run[:0])
			}
		}
		for _, x := range a.recent[0].idx {
			if x != nil && len(a.freeIdx) < maxFreeRuns {
				x.reset()
				a.freeIdx = append(a.freeIdx, x)
			}
		}
		a.recent[0] = recentGroup{}
		a.recent = a.recent[1:]
	}
	if len(a.states) > maxCommitterStates {
		for name, c := range a.states {
			if c.group <= indexed {
				delete(a.states, name)
			}
		}
	}
}

// cacheState records a stream's state as of the current group.
func (a *applier) cacheState(name string, s streamState) {
	if c, ok := a.states[name]; ok {
		c.s, c.group = s, a.group
		return
	}
	// The cache outlives the command: keep a copy of the name, not the
	// caller's string (a bulk import carves names out of shared blocks).
	a.states[strings.Clone(name)] = &cachedState{s: s, group: a.group}
}

// state returns a stream's state; found is false for a stream never written.
func (a *applier) state(stream string) (s streamState, found bool, err error) {
	if c, ok := a.states[stream]; ok {
		return c.s, true, nil
	}
	a.key = append(append(a.key[:0], prefixStreamState), stream...)
	if !a.mayExist(a.key) {
		return newStreamState(), false, nil
	}
	return loadStreamState(a.db, stream)
}

// mayExist asks the existence filter about an index key.
func (a *applier) mayExist(key []byte) bool {
	return !a.filter.ready.Load() || a.filter.mayContain(key)
}

// remember adds a key applied now to the existence filters.
func (a *applier) remember(key []byte) {
	if a.filter.ready.Load() {
		a.filter.addOwned(key)
	} else {
		a.filter.add(key) // its filler is still adding too
	}
	if a.next != nil {
		a.next.add(key)
	}
}

// maintainFilter swaps in a rebuilt filter and starts a bigger one when
// the current one is full. It runs at the start of each group.
func (a *applier) maintainFilter() {
	if a.next != nil && a.next.ready.Load() {
		a.filter, a.next = a.next, nil
	}
	if a.next != nil || a.startFill == nil {
		return
	}
	want := uint64(0)
	if a.filter.full() {
		// Four times the keys: each rebuild scans the whole index (about
		// 0.6 us per key), and doubling made a growing store rebuild
		// often (1 GB import: 1.8 s of 18 s CPU in rebuilds).
		want = 4 * a.filter.count.Load()
	}
	if a.filter.ready.Load() {
		// Room for the events announced, each with an id and perhaps a
		// new stream: growing now, before they come, scans the index as
		// it is instead of the larger index halfway through them.
		// At least four times the keys, as when it fills up: a hint must
		// not make a large store rebuild twice.
		if n := a.expected.Swap(0); n > 0 {
			count := a.filter.count.Load()
			if need := count + 2*n; need > a.filter.capacity {
				want = max(want, need, 4*count)
			}
		}
	}
	if want > 0 {
		a.next = a.filter.larger(want)
		a.startFill(a.next, a.group)
	}
}

// lookupID finds an event id among recent groups, then in the index.
//
// The filter is asked first: it holds every id applied, recent ones too
// (remember), so the usual answer for a new id costs one probe.
func (a *applier) lookupID(id uuid.UUID) (recentID, bool, error) {
	a.key = eventIDKey(a.key[:0], id)
	if !a.mayExist(a.key) {
		return recentID{}, false, nil
	}
	return a.findID(id)
}

// findID is lookupID for an id the filter may hold.
func (a *applier) findID(id uuid.UUID) (recentID, bool, error) {
	if r, ok := a.recentIDs[id]; ok {
		return r, true, nil
	}
	if r, ok := a.recentInRuns(id); ok {
		return r, true, nil
	}
	e, ok, err := a.ids.lookup(id)
	if err != nil || !ok {
		return recentID{}, false, err
	}
	r := recentID{pos: e.pos}
	payload, err := a.frames.read(e.off, ^uint64(0))
	if err != nil {
		return recentID{}, false, err
	}
	var rec record
	if err := decodeRecord(payload, &rec); err != nil {
		return recentID{}, false, err
	}
	r.stream, r.version = string(rec.Stream), rec.Version
	return r, true, nil
}

// maxFreeRuns bounds the id runs of bulk commands kept for reuse.
const maxFreeRuns = 8

// takeRun returns an empty run for the next bulk command's ids.
func (a *applier) takeRun() []recentEntry {
	if n := len(a.freeRuns); n > 0 {
		r := a.freeRuns[n-1]
		a.freeRuns = a.freeRuns[:n-1]
		return r
	}
	return nil
}

// beginGroup starts a new group commit.
func (a *applier) beginGroup() uint64 {
	a.maintainFilter()
	a.group++
	a.recent = append(a.recent, recentGroup{seq: a.group})
	return a.group
}

// apply decides cmd and stages its records. On error nothing is staged
// and the state is unchanged.
func (a *applier) apply(cmd *Command) (Result, error) {
	at := max(cmd.Time.UnixMicro(), a.lastTime)
	switch {
	case cmd.Metadata != nil:
		return a.applyMetadata(cmd.Metadata, at)
	case cmd.Delete != nil:
		return a.applyDelete(cmd.Delete, at)
	}
	if cmd.Independent {
		return a.applyEach(cmd.Appends, cmd.partErrs, cmd.frameBytes, at, cmd.ResultBuf)
	}
	return a.applyAppend(cmd.Appends, at)
}

func (a *applier) applyAppend(parts []StreamAppend, at int64) (Result, error) {
	// Work on copies; commit them to the caches only on success.
	work := make(map[string]*streamState, len(parts))
	var created []string
	stateOf := func(stream string) (*streamState, error) {
		if s, ok := work[stream]; ok {
			return s, nil
		}
		st, found, err := a.state(stream)
		if err != nil {
			return nil, err
		}
		if !found {
			created = append(created, stream)
		}
		work[stream] = &st
		return &st, nil
	}

	// Pass 1: is this a retry of an append already written?
	res := Result{Streams: make([]StreamResult, len(parts))}
	replayed := 0
	var replayErr error
	for i := range parts {
		p := &parts[i]
		s, err := stateOf(p.Stream)
		if err != nil {
			return Result{}, err
		}
		if s.Deleted == hardDeleted {
			return Result{}, &StreamError{Stream: p.Stream, Err: ErrStreamDeleted}
		}
		r, isReplay, err := a.checkReplay(p, nil)
		if err != nil {
			return Result{}, err
		}
		if isReplay {
			res.Streams[i] = r
			replayed++
			if replayErr == nil {
				replayErr = &DuplicateEventIDError{ID: p.Events[0].ID, Stream: p.Stream,
					Version: r.NextExpectedVersion - int64(len(p.Events)) + 1}
			}
		}
	}
	if replayed == len(parts) {
		res.Idempotent = true
		res.FirstPosition, res.LastPosition = res.Streams[0].FirstPosition, res.Streams[len(parts)-1].LastPosition
		return res, nil
	}
	if replayed > 0 {
		// A real retry repeats the whole (atomic) append; a mix of written
		// and new events reuses ids.
		return Result{}, replayErr
	}

	// Pass 2: check expected versions and assign versions and positions.
	firstPosition := a.nextPosition
	next := firstPosition
	for i := range parts {
		p := &parts[i]
		s := work[p.Stream]
		if err := checkExpected(p.Stream, p.Expected, s); err != nil {
			return Result{}, err
		}
		first := next
		for range p.Events {
			s.applyEvent(next, s.Version+1, at)
			next++
		}
		res.Streams[i] = StreamResult{Stream: p.Stream, FirstPosition: first, LastPosition: next - 1, NextExpectedVersion: s.Version}
	}

	// Encode the records.
	a.buf = a.buf[:0]
	a.locs = a.locs[:0]
	for i := range parts {
		p := &parts[i]
		sr := res.Streams[i]
		version := sr.NextExpectedVersion - int64(len(p.Events)) + 1
		for j := range p.Events {
			e := &p.Events[j]
			flags := uint8(0)
			if e.DataIsJSON {
				flags |= flagDataJSON
			}
			if e.MetadataIsJSON {
				flags |= flagMetadataJSON
			}
			if i == len(parts)-1 && j == len(p.Events)-1 {
				flags |= flagCommit
			}
			pos := sr.FirstPosition + uint64(j)
			a.locs = append(a.locs, idLoc{id: e.ID, stream: p.Stream, version: version + int64(j), pos: pos})
			a.buf = appendEventFrame(a.buf, flags, pos, version+int64(j), at, e.ID, p.Stream, e.Type, e.Data, e.Metadata)
		}
	}
	if _, err := a.log.reserve(len(a.buf)); err != nil {
		return Result{}, err
	}
	a.buf = a.log.stage(a.buf)

	// Commit the decision to the caches.
	g := &a.recent[len(a.recent)-1]
	for _, l := range a.locs {
		a.recentIDs[l.id] = recentID{pos: l.pos, stream: l.stream, version: l.version}
		g.ids = append(g.ids, l.id)
		a.key = eventIDKey(a.key[:0], l.id)
		a.remember(a.key)
	}
	for _, name := range created {
		a.rememberStream(name, false)
	}
	for name, s := range work {
		a.cacheState(name, *s)
	}
	a.nextPosition = next
	a.lastTime = at
	res.FirstPosition, res.LastPosition = firstPosition, next-1
	return res, nil
}

type idLoc struct {
	id      uuid.UUID
	stream  string
	version int64
	pos     uint64
}

// checkReplay reports whether p repeats events already written: all its
// ids exist, in p's stream, at consecutive versions, in order, where p's
// expected version put them. Some but not all ids existing, or existing
// elsewhere, is a DuplicateEventIDError.
//
// maybe, when not nil, holds the existence filter's answer for each id
// (probeIDs): ids it has not seen are not looked up.
func (a *applier) checkReplay(p *StreamAppend, maybe []bool) (StreamResult, bool, error) {
	var first recentID
	found := 0
	for j := range p.Events {
		var r recentID
		var ok bool
		var err error
		switch {
		case maybe == nil:
			r, ok, err = a.lookupID(p.Events[j].ID)
		case maybe[j]:
			r, ok, err = a.findID(p.Events[j].ID)
		}
		if err != nil {
			return StreamResult{}, false, err
		}
		if !ok {
			if found > 0 {
				return StreamResult{}, false, &DuplicateEventIDError{ID: p.Events[0].ID, Stream: first.stream, Version: first.version}
			}
			continue
		}
		if found != j {
			return StreamResult{}, false, &DuplicateEventIDError{ID: p.Events[j].ID, Stream: r.stream, Version: r.version}
		}
		if j == 0 {
			first = r
		}
		if r.stream != p.Stream || r.version != first.version+int64(j) || r.pos != first.pos+uint64(j) {
			return StreamResult{}, false, &DuplicateEventIDError{ID: p.Events[j].ID, Stream: r.stream, Version: r.version}
		}
		found++
	}
	if found == 0 {
		return StreamResult{}, false, nil
	}
	switch {
	case p.Expected >= 0 && int64(p.Expected) != first.version-1,
		p.Expected == ExpectNoStream && first.version != 0,
		p.Expected == ExpectStreamExists && first.version == 0:
		return StreamResult{}, false, &DuplicateEventIDError{ID: p.Events[0].ID, Stream: first.stream, Version: first.version}
	}
	n := int64(len(p.Events))
	return StreamResult{Stream: p.Stream, FirstPosition: first.pos, LastPosition: first.pos + uint64(n) - 1,
		NextExpectedVersion: first.version + n - 1}, true, nil
}

func checkExpected(stream string, ev ExpectedVersion, s *streamState) error {
	ok := true
	switch {
	case ev == ExpectAny:
	case ev == ExpectNoStream:
		ok = !s.exists()
	case ev == ExpectStreamExists:
		ok = s.exists()
	default:
		ok = s.Version == int64(ev)
	}
	if !ok {
		return &WrongExpectedVersionError{Stream: stream, Expected: ev, Current: s.currentVersion()}
	}
	return nil
}

func (a *applier) applyMetadata(m *MetadataChange, at int64) (Result, error) {
	s, found, err := a.state(m.Stream)
	if err != nil {
		return Result{}, err
	}
	if s.Deleted == hardDeleted {
		return Result{}, &StreamError{Stream: m.Stream, Err: ErrStreamDeleted}
	}
	a.rec = appendMetadataRecord(a.rec[:0], a.nextPosition-1, at, m.Stream, m.Metadata)
	if err := a.stageOne(); err != nil {
		return Result{}, err
	}
	s.applyMetadata(m.Metadata, at)
	a.states[m.Stream] = &cachedState{s: s, group: a.group}
	a.rememberStream(m.Stream, found)
	a.lastTime = at
	return Result{}, nil
}

func (a *applier) applyDelete(d *StreamDelete, at int64) (Result, error) {
	s, found, err := a.state(d.Stream)
	if err != nil {
		return Result{}, err
	}
	if s.Deleted == hardDeleted {
		return Result{}, &StreamError{Stream: d.Stream, Err: ErrStreamDeleted}
	}
	if !d.Hard && !s.exists() {
		return Result{}, &StreamError{Stream: d.Stream, Err: ErrStreamNotFound}
	}
	if err := checkExpected(d.Stream, d.Expected, &s); err != nil {
		return Result{}, err
	}
	a.rec = appendDeleteRecord(a.rec[:0], a.nextPosition-1, at, d.Stream, d.Hard)
	if err := a.stageOne(); err != nil {
		return Result{}, err
	}
	s.applyDelete(d.Hard, at)
	a.states[d.Stream] = &cachedState{s: s, group: a.group}
	a.rememberStream(d.Stream, found)
	a.lastTime = at
	return Result{}, nil
}

func (a *applier) rememberStream(name string, found bool) {
	if !found {
		a.key = append(append(a.key[:0], prefixStreamState), name...)
		a.remember(a.key)
		a.created = append(a.created, name)
	}
}

// takeCreated returns the streams created since the last call.
func (a *applier) takeCreated() []string {
	c := a.created
	a.created = nil
	return c
}

func (a *applier) stageOne() error {
	a.buf = appendFrame(a.buf[:0], a.rec)
	if _, err := a.log.reserve(len(a.buf)); err != nil {
		return err
	}
	a.buf = a.log.stage(a.buf)
	return nil
}
