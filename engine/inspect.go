package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// InspectOptions choose what Inspect prints.
type InspectOptions struct {
	// Records prints one line per record.
	Records bool
	// Index prints the index checkpoint and key counts per kind.
	Index bool
	// Limit stops record lines after this many (0: all).
	Limit int
}

// Inspect dumps a data directory without changing it: the store file,
// every segment (header, record counts, position range, and the state of
// its tail), optionally each record, and the index checkpoint. It works
// on a stopped store; on a running one the index is skipped (it is
// locked) and the tail may be mid-write.
func Inspect(ctx context.Context, dir string, w io.Writer, opts InspectOptions) error {
	meta, err := os.ReadFile(filepath.Join(dir, "STORE"))
	if err != nil {
		return fmt.Errorf("%s is not an eventsql data directory: %w", dir, err)
	}
	var m storeMeta
	if err := json.Unmarshal(meta, &m); err != nil {
		return fmt.Errorf("read STORE: %w", err)
	}
	fmt.Fprintf(w, "store %s (format %d) in %s\n", m.StoreID, m.Format, dir)

	logDir := filepath.Join(dir, "log")
	entries, err := os.ReadDir(logDir)
	if err != nil {
		return fmt.Errorf("list log: %w", err)
	}
	var bases []uint64
	for _, e := range entries {
		if b, ok := parseSegmentName(e.Name()); ok {
			bases = append(bases, b)
		}
	}
	slices.Sort(bases)
	fmt.Fprintf(w, "log: %d segment(s)\n", len(bases))
	printed := 0
	for i, base := range bases {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := inspectSegment(filepath.Join(logDir, segmentName(base)), i == len(bases)-1, w, opts, &printed); err != nil {
			return err
		}
	}
	if opts.Index {
		return inspectIndex(filepath.Join(dir, "index"), w)
	}
	return nil
}

func inspectSegment(path string, last bool, w io.Writer, opts InspectOptions, printed *int) (err error) {
	s, err := openSegment(OSFS{}, path, osOpenRead, 0)
	if err != nil {
		fmt.Fprintf(w, "  %s: unreadable: %v\n", filepath.Base(path), err)
		return nil
	}
	defer s.close()
	// A running server may cut the zero-filled window off this segment
	// (a roll) while it is read: see committedEnd.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); !ok {
				panic(r)
			}
			fmt.Fprintf(w, "  %s: changed while it was read (the server rolled the log)\n", filepath.Base(path))
			err = nil
		}
	}()
	size := s.size.Load()
	buf := s.bytes(0, size)
	var (
		rec                      record
		events, metas, dels, cmd int
		firstPos, lastPos        uint64
		firstTime, lastTime      int64
		off                      = int64(segmentHeaderSize)
	)
	for off < size {
		payload, n, status := checkFrame(buf[off:])
		if status != frameOK {
			break
		}
		if err := decodeRecord(payload, &rec); err != nil {
			break // examineTail reports it below
		}
		switch rec.Kind {
		case kindEvent:
			if events == 0 {
				firstPos, firstTime = rec.Position, rec.CreatedAt
			}
			lastPos, lastTime = rec.Position, rec.CreatedAt
			events++
		case kindMetadata:
			metas++
		case kindDelete:
			dels++
		}
		if rec.commit() {
			cmd++
		}
		if opts.Records && (opts.Limit == 0 || *printed < opts.Limit) {
			*printed++
			fmt.Fprintf(w, "    %s\n", describeRecord(off, &rec))
		}
		off += frameHeaderSize + int64(n)
	}
	var tail string
	if st, err := examineTail(path, s.header, buf, segmentHeaderSize); err != nil {
		tail = err.Error()
	} else {
		tail = describeTail(st, size, last)
	}
	fmt.Fprintf(w, "  %s version=%d base=%d first_position=%d size=%d records=%d (events=%d metadata=%d deletes=%d commands=%d)",
		filepath.Base(path), s.header.Version, s.header.BaseOffset, s.header.FirstPosition, size, events+metas+dels, events, metas, dels, cmd)
	if events > 0 {
		fmt.Fprintf(w, " positions=%d..%d time=%s..%s", firstPos, lastPos,
			time.UnixMicro(firstTime).UTC().Format(time.RFC3339Nano), time.UnixMicro(lastTime).UTC().Format(time.RFC3339Nano))
	}
	fmt.Fprintf(w, " tail=%s\n", tail)
	return nil
}

// describeTail says what follows the last committed record of a segment
// of size bytes, in the terms of examineTail.
func describeTail(st tailState, size int64, last bool) string {
	var mark string
	if st.Durable > 0 {
		mark = fmt.Sprintf("; tail mark: durable up to log offset %d", st.Durable)
	}
	switch {
	case st.Damaged:
		return fmt.Sprintf("damage inside the log at offset %d: %s", st.damageOffset(size), st.Reason)
	case st.Garbage == 0 && st.Committed == size:
		return "clean"
	case st.Garbage == 0:
		return fmt.Sprintf("clean; records end at %d, then %d bytes of zero-filled window%s", st.Committed, size-st.Committed, mark)
	case !last:
		return fmt.Sprintf("%s, %d bytes after the last committed record in a sealed segment: damage inside the log%s", st.Reason, st.Garbage, mark)
	}
	return fmt.Sprintf("%s; nothing acknowledged follows: a torn tail of %d bytes after offset %d, Open truncates it%s", st.Reason, st.Garbage, st.Committed, mark)
}

func describeRecord(off int64, r *record) string {
	at := time.UnixMicro(r.CreatedAt).UTC().Format(time.RFC3339Nano)
	commit := ""
	if r.commit() {
		commit = " commit"
	}
	switch r.Kind {
	case kindEvent:
		return fmt.Sprintf("@%d event pos=%d stream=%q version=%d type=%q id=%s at=%s data=%dB meta=%dB json=%v%s",
			off, r.Position, r.Stream, r.Version, r.Type, uuid.UUID(r.ID), at, len(r.Data), len(r.Metadata), r.Flags&flagDataJSON != 0, commit)
	case kindMetadata:
		return fmt.Sprintf("@%d metadata stream=%q maxCount=%d maxAge=%s tb=%d custom=%dB at=%s%s",
			off, r.Stream, r.Meta.MaxCount, r.Meta.MaxAge, r.Meta.TruncateBefore, len(r.Meta.Custom), at, commit)
	default:
		return fmt.Sprintf("@%d delete stream=%q hard=%v at=%s%s", off, r.Stream, r.hard(), at, commit)
	}
}

func inspectIndex(dir string, w io.Writer) error {
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: true, Logger: pebbleLogger{slog.New(slog.DiscardHandler)}})
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(w, "index: missing (Open rebuilds it from the log)")
			return nil
		}
		fmt.Fprintf(w, "index: not readable (in use by a running server?): %v\n", err)
		return nil
	}
	defer db.Close()
	cp, found, err := readCheckpoint(db)
	switch {
	case err != nil:
		fmt.Fprintf(w, "index: checkpoint unreadable: %v\n", err)
	case !found:
		fmt.Fprintln(w, "index: no checkpoint (Open rebuilds it from the log)")
	default:
		fmt.Fprintf(w, "index checkpoint: log_end=%d last_position=%d streams=%d data_bytes=%d last_time=%s\n",
			cp.LogEnd, cp.LastPosition, cp.Streams, cp.Bytes, time.UnixMicro(cp.LastTime).UTC().Format(time.RFC3339Nano))
	}
	names := map[byte]string{
		prefixStreamState: "stream states", prefixStreamPost: "stream posting blocks",
		prefixTypePost: "type posting blocks", prefixCategoryPost: "category posting blocks",
		prefixTypeInfo: "event types", prefixCategoryInfo: "categories", prefixEventID: "event ids",
		prefixPosition: "position entries", prefixTime: "time entries", prefixRestricted: "restricted streams",
	}
	counts := map[byte]int{}
	it, err := db.NewIter(nil)
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		counts[it.Key()[0]]++
	}
	if err := it.Close(); err != nil {
		return err
	}
	keys := make([]byte, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %c %-24s %d\n", k, names[k], counts[k])
	}
	fmt.Fprintf(w, "  index disk usage: %d bytes\n", db.Metrics().DiskSpaceUsage())
	return nil
}
