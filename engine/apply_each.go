package engine

import (
	"errors"
	"slices"

	"github.com/google/uuid"
)

// eachState is a stream's working state during an Independent command.
type eachState struct {
	name    string
	s       streamState
	cached  *cachedState // the committer's cache entry, when there is one
	found   bool         // the stream existed before the command
	written bool         // a part of the command wrote to it
}

// applyEach decides an Independent command: each part on its own, in
// order, seeing the parts accepted before it. Rejected parts get their
// error in their StreamResult and change nothing; the accepted ones are
// staged together as one command (one commit flag, on the last record).
// Errors returned are failures of the store (index reads, log I/O).
//
// bound is the size of the frames of all parts (Command.frameBytes);
// results is Command.ResultBuf.
func (a *applier) applyEach(parts []StreamAppend, partErrs []error, bound int, at int64, results []StreamResult) (Result, error) {
	// A roll must come before anything changes (probeIDs adds the ids to
	// the filter): reserve the most the parts can take.
	if _, err := a.log.reserve(bound); err != nil {
		return Result{}, err
	}
	res := Result{}
	if cap(results) >= len(parts) {
		res.Streams = results[:len(parts)]
		clear(res.Streams)
	} else {
		res.Streams = make([]StreamResult, len(parts))
	}
	// The streams' working states, reused from command to command.
	if a.work == nil || len(a.work) > 1<<16 {
		a.work = make(map[string]int32, min(len(parts), 1<<16))
	} else {
		clear(a.work)
	}
	a.eachBuf = a.eachBuf[:0]
	g := &a.recent[len(a.recent)-1]
	a.cmdIDs, a.cmdIndexed = a.cmdIDs[:0], false
	defer func() { a.cmdIDs, a.cmdIndexed = a.cmdIDs[:0], false }()
	probed := a.probeIDs(parts)
	ev := 0 // events of the parts before parts[i]
	firstPosition := a.nextPosition
	next := firstPosition
	last := -1 // last accepted part
	size := 0  // bytes of the accepted parts' frames
	for i := range parts {
		p := &parts[i]
		sr := &res.Streams[i]
		sr.Stream = p.Stream
		var maybe []bool // whether each id of p may exist (probeIDs)
		if probed {
			maybe = a.idMaybe[ev : ev+len(p.Events)]
		}
		ev += len(p.Events)
		if partErrs != nil && partErrs[i] != nil {
			sr.Err = partErrs[i]
			continue
		}
		wi, ok := a.work[p.Stream]
		if !ok {
			w := eachState{name: p.Stream}
			if w.cached = a.states[p.Stream]; w.cached != nil {
				w.s, w.found = w.cached.s, true
			} else {
				var err error
				if w.s, w.found, err = a.state(p.Stream); err != nil {
					return Result{}, err
				}
			}
			a.eachBuf = append(a.eachBuf, w)
			wi = int32(len(a.eachBuf) - 1)
			a.work[p.Stream] = wi
		}
		w := &a.eachBuf[wi]
		if w.s.Deleted == hardDeleted {
			sr.Err = &StreamError{Stream: p.Stream, Err: ErrStreamDeleted}
			continue
		}
		// Ids accepted by earlier parts are in cmdIDs already, so a
		// repeat inside the command is a replay or a duplicate too.
		r, isReplay, err := a.checkReplay(p, maybe)
		if err != nil {
			var dup *DuplicateEventIDError
			if errors.As(err, &dup) {
				sr.Err = err
				continue
			}
			return Result{}, err
		}
		if isReplay {
			*sr = r
			sr.Replayed = true
			continue
		}
		if err := checkExpected(p.Stream, p.Expected, &w.s); err != nil {
			sr.Err = err
			continue
		}
		if err := repeatedID(p.Events); err != nil {
			sr.Err = err
			continue
		}
		sr.FirstPosition = next
		for j := range p.Events {
			w.s.applyEvent(next, w.s.Version+1, at)
			id := p.Events[j].ID
			r := recentID{pos: next, stream: p.Stream, version: w.s.Version}
			a.cmdIDs = append(a.cmdIDs, recentEntry{id: id, r: r})
			// Later parts look ids up through the filter first
			// (probeIDs has added them already).
			if !probed {
				a.key = eventIDKey(a.key[:0], id)
				a.remember(a.key)
			}
			next++
		}
		for j := range p.Events {
			e := &p.Events[j]
			size += frameHeaderSize + eventRecordSize(p.Stream, e.Type, e.Data, e.Metadata)
		}
		sr.LastPosition, sr.NextExpectedVersion = next-1, w.s.Version
		w.written = true
		last = i
	}
	if last < 0 {
		return res, nil
	}

	// Encode the accepted parts' records straight into the group's
	// pending frames (the reservation above covers them: size <= bound).
	buf := a.log.growPending(size)
	for i := range parts[:last+1] {
		p := &parts[i]
		sr := &res.Streams[i]
		if sr.Err != nil || sr.Replayed {
			continue
		}
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
			if i == last && j == len(p.Events)-1 {
				flags |= flagCommit
			}
			buf = appendEventFrame(buf, flags, sr.FirstPosition+uint64(j), version+int64(j), at, e.ID, p.Stream, e.Type, e.Data, e.Metadata)
		}
	}
	a.log.setPending(buf)

	// The group keeps the command's ids (until the index has them); the
	// next command takes a recycled slice.
	g.runs = append(g.runs, a.cmdIDs)
	a.cmdIDs = a.takeRun()
	for i := range a.eachBuf {
		w := &a.eachBuf[i]
		switch {
		case !w.written:
		case w.cached != nil: // no second lookup
			w.cached.s, w.cached.group = w.s, a.group
		default:
			if !w.found {
				a.rememberStream(w.name, false)
			}
			a.cacheState(w.name, w.s)
		}
	}
	a.nextPosition = next
	a.lastTime = at
	res.FirstPosition, res.LastPosition = firstPosition, next-1
	return res, nil
}

// repeatedID reports an id that appears twice among events.
func repeatedID(events []EventData) error {
	if len(events) < 2 {
		return nil
	}
	seen := make(map[uuid.UUID]struct{}, len(events))
	for _, e := range events {
		if _, dup := seen[e.ID]; dup {
			return &DuplicateEventIDError{ID: e.ID, Version: -1}
		}
		seen[e.ID] = struct{}{}
	}
	return nil
}

// probeIDs asks the existence filter about every event id of parts and
// adds them to it, in order, before the parts are decided: a.idMaybe
// holds, per event, whether its id may exist (in the store, or earlier in
// the command). Adding the ids of parts that end up rejected is harmless:
// a filter may answer "maybe" for any key, it only costs a lookup.
//
// The ids' hashes are computed once, and their blocks — random cache
// lines — are loaded in a tight loop of their own first, where the
// misses overlap, so the test-and-set loop finds them in the cache. It returns false,
// asking nothing, while the filter is not ready.
func (a *applier) probeIDs(parts []StreamAppend) bool {
	if !a.filter.ready.Load() {
		return false
	}
	a.idHash = a.idHash[:0]
	for i := range parts {
		for j := range parts[i].Events {
			a.key = eventIDKey(a.key[:0], parts[i].Events[j].ID)
			a.idHash = append(a.idHash, a.filter.hash(a.key))
		}
	}
	// Loads alone in a small loop: many misses in flight at once (with
	// the hashing in the same loop, ~100 ns an id; alone, ~25 with it).
	var sink uint64
	for _, h := range a.idHash {
		sink += a.filter.touchHash(h)
	}
	a.sink = sink
	a.idMaybe = slices.Grow(a.idMaybe[:0], len(a.idHash))[:len(a.idHash)]
	for k, h := range a.idHash {
		a.idMaybe[k] = a.filter.testAndAddOwned(h)
	}
	a.filter.count.Add(uint64(len(a.idHash)))
	if a.next != nil {
		for _, h := range a.idHash {
			a.next.addHash(h)
		}
	}
	return true
}
