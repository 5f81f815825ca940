package engine

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// logScanner reads records sequentially from the mapped segments, from a
// global offset up to an end offset, crossing segment boundaries.
type logScanner struct {
	segs []*segment
	i    int
	off  uint64 // global offset of the next frame
	end  uint64
	rec  record
}

// scan returns a scanner over [from, to). from == 0 means the start of the log.
func (l *eventLog) scan(from, to uint64) *logScanner {
	segs := l.segments()
	sc := &logScanner{segs: segs, end: to}
	if from == 0 {
		from = segs[0].header.BaseOffset + segmentHeaderSize
	}
	sc.seek(from)
	return sc
}

func (sc *logScanner) seek(off uint64) {
	sc.i = 0
	for sc.i+1 < len(sc.segs) && sc.segs[sc.i+1].header.BaseOffset <= off {
		sc.i++
	}
	sc.off = max(off, sc.segs[sc.i].header.BaseOffset+segmentHeaderSize)
}

// next returns the next record and its offset; ok is false at the end.
// The record is reused by the following call.
func (sc *logScanner) next() (rec *record, off uint64, ok bool, err error) {
	for {
		if sc.off >= sc.end {
			return nil, 0, false, nil
		}
		s := sc.segs[sc.i]
		segEnd := min(s.endOffset(), sc.end)
		if sc.off >= segEnd {
			if sc.i+1 >= len(sc.segs) || sc.off < s.endOffset() {
				return nil, 0, false, nil
			}
			sc.i++
			sc.off = sc.segs[sc.i].header.BaseOffset + segmentHeaderSize
			continue
		}
		rel := int64(sc.off - s.header.BaseOffset)
		payload, n, status := checkFrame(s.bytes(rel, int64(segEnd-sc.off)))
		if status != frameOK {
			return nil, 0, false, &CorruptionError{File: s.path, Offset: rel, Reason: status.String()}
		}
		if err := decodeRecord(payload, &sc.rec); err != nil {
			return nil, 0, false, &CorruptionError{File: s.path, Offset: rel, Reason: err.Error()}
		}
		off = sc.off
		sc.off += frameHeaderSize + uint64(n)
		return &sc.rec, off, true, nil
	}
}

// position is where the scanner will read next.
func (sc *logScanner) position() uint64 { return sc.off }

// indexRange feeds the records in [from, to) to the indexer, committing
// every commitEvery events (0: one batch at the end). It returns the
// restriction changes of all committed batches through onCommit.
func indexRange(l *eventLog, ix *indexer, from, to uint64, commitEvery int, onCommit func(map[string]streamState)) error {
	sc := l.scan(from, to)
	for {
		rec, off, ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := ix.add(rec, off, sc.position()); err != nil {
			return err
		}
		if commitEvery > 0 && ix.events >= commitEvery && rec.commit() {
			if err := commitIndexBatch(ix, onCommit); err != nil {
				return err
			}
		}
	}
	if ix.pending() {
		return commitIndexBatch(ix, onCommit)
	}
	return nil
}

func commitIndexBatch(ix *indexer, onCommit func(map[string]streamState)) error {
	b, restricted := ix.finishBatch()
	defer b.Close()
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("commit index batch: %w", err)
	}
	if onCommit != nil {
		onCommit(restricted)
	}
	return nil
}
