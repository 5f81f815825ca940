package export

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/eventsql/eventsql/engine"
)

// Source is what an export reads: an *engine.Store, or an
// *engine.LogReader for a store a running server holds.
type Source interface {
	ID() string
	// Head is the last position; the export covers the log up to the
	// head at its start.
	Head() uint64
	ReadAll(ctx context.Context, from uint64, opts engine.ReadOptions) (*engine.EventIterator, error)
}

// positionFinder is implemented by sources with a time index (Store):
// --since then starts reading where it begins.
type positionFinder interface {
	PositionAt(ctx context.Context, t time.Time) (uint64, error)
}

var (
	_ Source         = (*engine.Store)(nil)
	_ Source         = (*engine.LogReader)(nil)
	_ positionFinder = (*engine.Store)(nil)
)

// Summary describes a finished run.
type Summary struct {
	Dir          string  `json:"dir"`
	FromPosition uint64  `json:"fromPosition"` // first position this run read; 0 when it read none (UpToDate)
	ToPosition   uint64  `json:"toPosition"`   // the snapshot's last position
	Events       uint64  `json:"events"`       // events exported by this run
	Files        int     `json:"files"`        // part files written by this run (export and compaction)
	Bytes        int64   `json:"bytes"`        // bytes written
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"eventsPerSecond"`
	// UpToDate is set when there was nothing new to export.
	UpToDate bool `json:"upToDate,omitempty"`
	// Compacted is the number of files merged away by --compact.
	Compacted int `json:"compacted,omitempty"`
	// Removed counts leftovers and replaced files deleted.
	Removed int `json:"removed,omitempty"`
	// SnapshotFiles and SnapshotEvents describe the whole snapshot after the run.
	SnapshotFiles  int   `json:"snapshotFiles"`
	SnapshotEvents int64 `json:"snapshotEvents"`
}

// ErrBusy is returned when another export is writing the directory.
var ErrBusy = errors.New("another export is writing this directory")

// Run exports src into o.Dir: incrementally (only events after the
// manifest's last position) unless o.Full, then compacts with o.Compact.
// On any error the previous snapshot stays as it was.
func Run(ctx context.Context, src Source, opts Options) (*Summary, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	start := o.now()
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	old, found, err := loadManifest(dir)
	if err != nil {
		return nil, err
	}
	if !found {
		if f, err := foreignFile(dir); err != nil {
			return nil, err
		} else if f != "" {
			return nil, &ForeignFilesError{Dir: dir, Path: f}
		}
	}
	if found && old.StoreID != src.ID() {
		return nil, &StoreMismatchError{Dir: dir, Want: src.ID(), Got: old.StoreID}
	}
	filters := o.filters()
	if found && !o.Full && !old.Filters.equal(filters) {
		return nil, &FilterMismatchError{Dir: dir, Have: old.Filters, Now: filters}
	}
	sum := &Summary{Dir: dir}
	removed, err := cleanup(dir, old)
	if err != nil {
		return nil, err
	}
	sum.Removed += removed

	head := src.Head()
	m := &Manifest{FormatVersion: manifestFormat, StoreID: src.ID(), FromPosition: 1, Filters: filters,
		Datasets: map[string]*Dataset{}}
	from := uint64(1)
	if found && !o.Full {
		m = old.clone()
		from = old.ToPosition + 1
	}
	if found {
		m.Runs = old.Runs
	}
	if found && !o.Full && from > head {
		sum.UpToDate = true
		m = old
	} else {
		sum.FromPosition = from
		files, events, bytes, err := exportRange(ctx, src, dir, &o, m, from, head)
		if err != nil {
			return nil, err
		}
		sum.Events, sum.Files, sum.Bytes = events, len(files), bytes
		m.Files = append(m.Files, files...)
		m.ToPosition = head
		m.Runs++
		m.EventsqlVersion = o.Version
		m.ExportedAt = o.now().UTC().Format(time.RFC3339Nano)
		if err := syncPartitionDirs(dir, files); err != nil {
			return nil, err
		}
		if o.afterParts != nil {
			o.afterParts()
		}
		if err := commit(dir, m); err != nil {
			return nil, err
		}
		if found && o.Full {
			n, err := cleanup(dir, m) // the old snapshot's files
			if err != nil {
				return nil, err
			}
			sum.Removed += n
		}
	}
	if o.Compact {
		n, files, bytes, err := compact(ctx, dir, &o, m)
		if err != nil {
			return nil, err
		}
		sum.Compacted, sum.Files, sum.Bytes = n, sum.Files+files, sum.Bytes+bytes
		if n > 0 {
			k, err := cleanup(dir, m)
			if err != nil {
				return nil, err
			}
			sum.Removed += k
		}
	}
	if sum.UpToDate && sum.Compacted == 0 {
		// Make sure the derived files exist (a crash may have cut a run
		// short after the manifest was replaced).
		if err := writeDerived(dir, m); err != nil {
			return nil, err
		}
	}
	sum.ToPosition = m.ToPosition
	sum.SnapshotFiles = len(m.Files)
	var typedRows int64
	for _, f := range m.Files {
		if f.Dataset == "events" {
			sum.SnapshotEvents += f.Rows
		} else {
			typedRows += f.Rows
		}
	}
	if m.Datasets["events"] == nil { // by_type only: every event is in one of them
		sum.SnapshotEvents = typedRows
	}
	sum.Seconds = o.now().Sub(start).Seconds()
	if sum.Seconds > 0 {
		sum.EventsPerSec = float64(sum.Events) / sum.Seconds
	}
	if o.Progress != nil {
		o.Progress(Progress{Events: sum.Events, Bytes: sum.Bytes, Files: sum.Files, From: from, To: head,
			Elapsed: o.now().Sub(start), Done: true})
	}
	return sum, nil
}

// commit replaces the manifest, then writes hive.sql and _SUCCESS.
func commit(dir string, m *Manifest) error {
	if err := writeManifest(dir, m); err != nil {
		return err
	}
	return writeDerived(dir, m)
}

// writeDerived writes hive.sql and, last, _SUCCESS.
func writeDerived(dir string, m *Manifest) error {
	if err := writeFileAtomic(dir, "hive.sql", hiveSQL(dir, m)); err != nil {
		return err
	}
	return writeFileAtomic(dir, "_SUCCESS", fmt.Appendf(nil, "%s positions %d..%d\n", m.ExportedAt, m.FromPosition, m.ToPosition))
}

func (m *Manifest) clone() *Manifest {
	c := *m
	c.Files = slices.Clone(m.Files)
	c.Datasets = make(map[string]*Dataset, len(m.Datasets))
	for k, d := range m.Datasets {
		dc := *d
		dc.Schemas = slices.Clone(d.Schemas)
		dc.Inference = slices.Clone(d.Inference)
		c.Datasets[k] = &dc
	}
	return &c
}

func newRunID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// exportRange writes the events in [from, to] as new part files.
func exportRange(ctx context.Context, src Source, dir string, o *Options, m *Manifest, from, to uint64) ([]File, uint64, int64, error) {
	pc, err := newPartConfig(dir, newRunID(), o)
	if err != nil {
		return nil, 0, 0, err
	}
	defer pc.close() // after every writer is done (below)
	var ew *eventsWriter
	if o.writes(DatasetEvents) {
		evDS := m.Datasets["events"]
		if evDS == nil {
			evDS = &Dataset{}
			m.Datasets["events"] = evDS
		}
		if n := len(evDS.Schemas); n == 0 || !sameColumns(evDS.Schemas[n-1], eventsColumns) {
			evDS.Schemas = append(evDS.Schemas, eventsColumns)
		}
		// Alone, the events writer spreads its columns over two cores
		// (eventcols.go).
		ew = newEventsWriter(pc, len(evDS.Schemas)-1, !o.writes(DatasetByType) && runtime.GOMAXPROCS(0) > 1 && !o.eventsAsRecords)
	}
	shards := 0
	if o.writes(DatasetByType) {
		shards = typedShards()
	}
	var dsMu sync.Mutex
	tws := make([]*typedWriter, shards)
	for i := range tws {
		tws[i] = newTypedWriter(pc, m, &dsMu, i, shards)
	}
	if from > to {
		return nil, 0, 0, nil
	}
	startPos := from
	if pf, ok := src.(positionFinder); ok && !o.Since.IsZero() {
		p, err := pf.PositionAt(ctx, o.Since)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("find --since position: %w", err)
		}
		startPos = max(startPos, p)
	}

	var events atomic.Uint64
	var readPos atomic.Uint64
	g, gctx := errgroup.WithContext(ctx)
	free := make(chan *batch, numBatches)
	for range numBatches {
		free <- &batch{}
	}
	// A channel per writer: the events writer's first (when it writes).
	var chs []chan *batch
	if ew != nil {
		chs = append(chs, make(chan *batch, numBatches))
	}
	for range tws {
		chs = append(chs, make(chan *batch, numBatches))
	}
	release := func(b *batch) {
		if b.refs.Add(-1) == 0 {
			b.reset()
			free <- b
		}
	}
	g.Go(func() error {
		defer func() {
			for _, ch := range chs {
				close(ch)
			}
		}()
		return readLog(gctx, src, o, startPos, to, newShardPicker(max(shards, 1)), free, func(b *batch) error {
			b.refs.Store(int32(len(chs)))
			n := len(b.rows) // the batch is the writers' once sent
			if n > 0 {
				readPos.Store(b.rows[n-1].pos)
			}
			for _, ch := range chs {
				select {
				case ch <- b:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			events.Add(uint64(n))
			return nil
		})
	})
	// Each writer finishes its open files itself when the log is read, so
	// that the last row groups of every dataset are encoded, written and
	// synced in parallel.
	consume := func(ch chan *batch, write func(*batch) error, finish func() error) func() error {
		return func() error {
			var err error
			for b := range ch {
				if err == nil {
					err = write(b)
				}
				release(b)
				if err != nil {
					return err // the reader stops on the cancelled context
				}
			}
			if err := gctx.Err(); err != nil {
				return err
			}
			return finish()
		}
	}
	next := chs
	if ew != nil {
		g.Go(consume(next[0], func(b *batch) error {
			if err := ew.write(b); err != nil {
				return err
			}
			return gctx.Err()
		}, ew.close))
		next = next[1:]
	}
	for i, tw := range tws {
		g.Go(consume(next[i], func(b *batch) error { return tw.write(gctx, b) }, tw.close))
	}

	done := make(chan struct{})
	if o.Progress != nil {
		go func() {
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			begin := o.now()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					o.Progress(Progress{Events: events.Load(), Bytes: pc.bytes.Load(), From: from, To: to,
						CurrentPos: readPos.Load(), Elapsed: o.now().Sub(begin)})
				}
			}
		}()
	}
	err = g.Wait()
	close(done)
	var files []File
	if ew != nil {
		if err != nil {
			ew.abort()
		}
		files = ew.files
	}
	for _, tw := range tws {
		if err != nil {
			tw.abort()
		}
	}
	for _, tw := range tws {
		files = append(files, tw.files...)
	}
	if err != nil {
		for _, f := range files { // renamed into place but never listed
			os.Remove(filepath.Join(dir, filepath.FromSlash(f.Path)))
		}
		return nil, 0, 0, err
	}
	return files, events.Load(), pc.bytes.Load(), nil
}

// typedShards is the number of goroutines writing by_type datasets: the
// events dataset has one, the log reader one; by_type files cost the most
// (JSON parsing, more columns), so they get the cores.
func typedShards() int { return max(1, min(runtime.GOMAXPROCS(0), 4)) }

// readLog reads [from, to], applies the filters and hands out batches.
func readLog(ctx context.Context, src Source, o *Options, from, to uint64, shards *shardPicker, free chan *batch, send func(*batch) error) error {
	it, err := src.ReadAll(ctx, from, engine.ReadOptions{})
	if err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	defer it.Close()
	var types map[string]bool
	if len(o.Types) > 0 {
		types = make(map[string]bool, len(o.Types))
		for _, t := range o.Types {
			types[t] = true
		}
	}
	var since, until int64 = 0, 0
	if !o.Since.IsZero() {
		since = o.Since.UnixMicro()
	}
	if !o.Until.IsZero() {
		until = o.Until.UnixMicro()
	}
	lastStream, lastCategoryOK := "", false
	var b *batch
	take := func() error {
		select {
		case b = <-free:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := take(); err != nil {
		return err
	}
	for it.Next() {
		e := it.Event()
		if e.Position > to {
			break
		}
		created := e.CreatedAt.UnixMicro()
		if until != 0 && created >= until {
			break // append times never go backwards
		}
		if since != 0 && created < since {
			continue
		}
		if types != nil && !types[e.Type] {
			continue
		}
		if o.Category != "" {
			if e.Stream != lastStream {
				lastStream, lastCategoryOK = e.Stream, engine.Category(e.Stream) == o.Category
			}
			if !lastCategoryOK {
				continue
			}
		}
		shard, typeID := shards.pick(e.Type)
		b.add(e, shard, typeID)
		if b.full() {
			if err := send(b); err != nil {
				return err
			}
			if err := take(); err != nil {
				return err
			}
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	if len(b.rows) > 0 {
		return send(b)
	}
	free <- b
	return nil
}

// syncPartitionDirs fsyncs the directories new files were renamed into.
func syncPartitionDirs(root string, files []File) error {
	dirs := map[string]bool{}
	for _, f := range files {
		d := filepath.Dir(filepath.Join(root, filepath.FromSlash(f.Path)))
		for d != root && !dirs[d] {
			dirs[d] = true
			d = filepath.Dir(d)
		}
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return syncDir(root)
}

// lockDir takes DIR/_export.lock so that two exports never write the
// same directory at once (the lock goes with the process).
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "_export.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("output directory %s is not writable: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrBusy, dir)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
