package engine

import (
	"errors"
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

// indexFrames feeds the records of frames this process staged moments
// ago (the live path) to the indexer; base is the global log offset of
// buf[0]. Their checksums were computed from these very bytes, which never
// left memory, so they are not verified again.
func indexFrames(ix *indexer, buf []byte, base uint64) error {
	var rec record
	for off := 0; off < len(buf); {
		payload, n, status := frameOfOwnWrite(buf[off:])
		if status != frameOK {
			return &CorruptionError{Offset: int64(base) + int64(off), Reason: "staged frame: " + status.String()}
		}
		if err := decodeRecord(payload, &rec); err != nil {
			return &CorruptionError{Offset: int64(base) + int64(off), Reason: err.Error()}
		}
		next := off + frameHeaderSize + n
		if err := ix.add(&rec, base+uint64(off), base+uint64(next)); err != nil {
			return err
		}
		off = next
	}
	return nil
}

// indexRange feeds the records in [from, to) of the log to the indexer
// (open, rebuild). It commits every commitEvery events at a command
// boundary, and commits each batch in the background while the next one
// is built, so reading the log and inserting into the index use both
// cores. Restriction changes of committed batches go to onCommit.
func indexRange(l *eventLog, ix *indexer, from, to uint64, commitEvery int, onCommit func(*finishedBatch)) error {
	var inflight *batchCommit
	wait := func() error {
		if inflight == nil {
			return nil
		}
		err := <-inflight.done
		if err == nil {
			onCommit(inflight.fb)
		}
		inflight = nil
		return err
	}
	defer wait()
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
			var ce *CorruptionError
			if errors.As(err, &ce) && ce.File == "" {
				// Locate it: the indexer only knows global log offsets.
				seg := sc.segs[sc.i]
				ce.File, ce.Offset = seg.path, int64(off-seg.header.BaseOffset)
			}
			return err
		}
		if commitEvery > 0 && ix.events >= commitEvery && rec.commit() {
			if err := wait(); err != nil {
				return err
			}
			fb := ix.finishBatch()
			if ix.cachesFull() {
				// The caches are about to be dropped: the index must hold
				// everything they knew first.
				if err := commitBatch(fb.batch); err != nil {
					return err
				}
				onCommit(fb)
				ix.trimCaches()
				continue
			}
			inflight = &batchCommit{fb: fb, done: make(chan error, 1)}
			go func(done chan error) { done <- commitBatch(fb.batch) }(inflight.done)
		}
	}
	if err := wait(); err != nil {
		return err
	}
	if ix.pending() {
		fb := ix.finishBatch()
		if err := commitBatch(fb.batch); err != nil {
			return err
		}
		onCommit(fb)
	}
	if ix.cachesFull() {
		ix.trimCaches()
	}
	return nil
}

type batchCommit struct {
	fb   *finishedBatch
	done chan error
}

func commitBatch(b *pebble.Batch) error {
	defer b.Close()
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("commit index batch: %w", err)
	}
	return nil
}
