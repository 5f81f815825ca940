package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/sys/unix"
)

// Store is an open event store: the log, its indexes and the write
// pipeline. It is safe for concurrent use.
type Store struct {
	dir    string
	opts   Options
	logger *slog.Logger
	id     string
	format int // of DIR/STORE
	lock   *os.File

	log   *eventLog
	db    *pebble.DB
	popts *pebble.Options
	ids   *idIndex

	// Owned by the indexer goroutine after Open.
	indexer *indexer
	// Owned by the committer goroutine after Open.
	applier *applier

	queue        chan *request
	groups       chan *group
	synced       chan []*group
	syncerDone   chan struct{} // closed when the indexer, the last stage, exits
	indexedGroup atomic.Uint64
	// unsynced counts appends submitted and not yet fsynced (or rejected).
	unsynced atomic.Int64

	closeMu sync.RWMutex // held shared by submitters while they enqueue
	closed  atomic.Bool
	closing chan struct{}
	// readers is held shared by every open iterator and point read, so
	// Close waits for them before unmapping the log.
	readers sync.RWMutex

	head   atomic.Pointer[head]
	notify atomic.Pointer[chan struct{}]
	// durableEnd and durablePosition are the log end and last position
	// made durable, hence acknowledged: the head catches up with them
	// once the indexer is done (see catchUp). indexStopped is set when
	// indexing failed and the head never will.
	durableEnd      atomic.Uint64
	durablePosition atomic.Uint64
	indexStopped    atomic.Bool

	background sync.WaitGroup
	// indexNow asks an indexer gathering bulk groups to index what it
	// has (a read waits for it; commit.go).
	indexNow chan struct{}
	// warming is true from Open until the existence filter is filled and
	// the warm-up passes are done (warmup.go).
	warming atomic.Bool

	restricted *restrictedView
	// typeBlocks caches decoded type posting blocks for stream reads
	// filtered by type (type_filter.go).
	typeBlocks typeBlockCache
	// positions caches position entries (offsetAtOrBefore).
	positions *positionCache
	stats     storeStats
	opened    time.Time

	failMu  sync.Mutex
	failErr error
}

// head is the published, durable and indexed end of the store.
type head struct {
	LastPosition uint64
	LogEnd       uint64
	Streams      uint64
	Bytes        uint64
}

// storeMeta is DIR/STORE.
type storeMeta struct {
	StoreID string `json:"storeId"`
	Format  int    `json:"format"`
}

// storeFormat is the format of DIR/STORE written by this version: 2 since
// log segments have zero-filled tails with tail marks (format 1 stores
// are upgraded on Open, see upgradeFormat1).
const storeFormat = 2

// supportedStoreFormat says whether this version reads a store format.
func supportedStoreFormat(f int) bool { return f == 1 || f == 2 }

// Open opens the store in dir, creating it when empty. Only one process
// may have a store open; a second Open fails with ErrLocked.
//
// On open the tail of the log is verified (a torn or uncommitted tail is
// truncated and logged) and the records after the index checkpoint are
// re-indexed. A missing or unusable index is rebuilt from the log.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{
		dir:        dir,
		opts:       opts,
		logger:     opts.Logger.With("component", "engine"),
		lock:       lock,
		queue:      make(chan *request, 1024),
		groups:     make(chan *group, 2),
		synced:     make(chan []*group, 2),
		syncerDone: make(chan struct{}),
		closing:    make(chan struct{}),
		indexNow:   make(chan struct{}, 1),
		restricted: newRestrictedView(),
		positions:  newPositionCache(),
		opened:     time.Now(),
	}
	if err := s.open(ctx); err != nil {
		s.closeFiles()
		return nil, err
	}
	ch := make(chan struct{})
	s.notify.Store(&ch)
	s.publish()
	s.durableEnd.Store(s.indexer.cp.LogEnd)
	s.durablePosition.Store(s.indexer.cp.LastPosition)
	go s.runCommitter()
	go s.runSyncer()
	go s.runIndexer()
	s.warming.Store(true)
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		s.fillFilterNow(s.applier.filter, 0)
		s.warm()
	}()
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	meta, err := loadOrCreateMeta(s.dir, int(min(s.segmentVersion(), storeFormat)))
	if err != nil {
		return err
	}
	s.id, s.format = meta.StoreID, meta.Format
	indexDir := filepath.Join(s.dir, "index")
	removeIngestLeftovers(s.dir)
	s.db, s.popts, err = openIndex(indexDir, s.opts)
	if err != nil {
		return err
	}
	cp, found, err := readCheckpoint(s.db)
	if err != nil {
		s.logger.Warn("index checkpoint unreadable; rebuilding the index", "err", err)
		if err := s.resetIndex(indexDir); err != nil {
			return err
		}
		cp, found = checkpoint{}, false
	}
	var rec recovery
	s.log, rec, err = openLog(ctx, filepath.Join(s.dir, "log"), s.opts.FS, s.opts.SegmentSize, s.segmentVersion(), s.logger, cp.LogEnd)
	if err != nil {
		return err
	}
	if cp.LogEnd > rec.End {
		s.logger.Warn("index is ahead of the log; rebuilding the index", "index_end", cp.LogEnd, "log_end", rec.End)
		if err := s.resetIndex(indexDir); err != nil {
			return err
		}
		cp, found = checkpoint{}, false
	}
	if err := s.restricted.load(s.db); err != nil {
		return err
	}
	idsEnd, err := readIDsCheckpoint(s.db)
	if err != nil {
		return err
	}
	s.ids = newIDIndex(s.db, s.popts, s.dir, s.opts.idFlushEntries, s.logger, s.fail)
	s.ids.bulk = true
	if found && idsEnd < cp.LogEnd {
		// Ids indexed before the checkpoint but not yet ingested.
		if err := loadIDs(s.log, s.ids, idsEnd, cp.LogEnd); err != nil {
			return fmt.Errorf("reload event ids from offset %d: %w", idsEnd, err)
		}
	}
	s.indexer = newIndexer(s.db, cp)
	s.indexer.spare = s.ids.spare
	if !found {
		// Rebuilding from nothing: the indexer has seen every stream there
		// is, so a stream missing from its filter is new (no index probe).
		s.indexer.seen = newExistenceFilter(rec.End / 256)
	}
	start := time.Now()
	from := cp.LogEnd
	if err := indexRange(s.log, s.indexer, from, rec.End, rebuildBatchEvents, s.afterIndexCommit); err != nil {
		return fmt.Errorf("index the log from offset %d: %w", from, err)
	}
	if n := s.indexer.cp.LastPosition - cp.LastPosition; !found || n > 0 {
		el := time.Since(start)
		s.logger.Info("indexed the log", "full_rebuild", !found, "events", n,
			"seconds", el.Seconds(), "events_per_sec", int(float64(n)/max(el.Seconds(), 1e-9)))
	}
	if err := s.upgradeFormat1(); err != nil {
		return err
	}
	filter := newExistenceFilterMin(2*(s.indexer.cp.LastPosition+s.indexer.cp.Streams), s.opts.filterMinKeys)
	s.indexer.seen = nil
	s.ids.endBulk()
	s.applier = newApplier(s.db, s.log, s.ids, s.indexer.cp, filter)
	s.applier.startFill = s.fillFilter
	return nil
}

// fillFilter fills an existence filter from the index in the background,
// once the index covers group afterGroup (keys applied before the filter
// existed must be in the index before it is scanned).
func (s *Store) fillFilter(f *existenceFilter, afterGroup uint64) {
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		s.fillFilterNow(f, afterGroup)
	}()
}

// fillFilterNow is fillFilter on the calling goroutine.
func (s *Store) fillFilterNow(f *existenceFilter, afterGroup uint64) {
	for {
		ch := *s.notify.Load()
		if s.indexedGroup.Load() >= afterGroup {
			break
		}
		select {
		case <-ch:
		case <-s.closing:
			return
		}
	}
	s.readers.RLock()
	defer s.readers.RUnlock()
	if s.closed.Load() && s.syncerStopped() {
		return
	}
	start := time.Now()
	s.ids.eachInMemory(f.add) // before the index: ids move from memory to the index
	if err := f.fill(s.db, s.closing); err != nil {
		s.logger.Warn("building the event id filter failed; appends probe the index instead", "err", err)
		return
	}
	s.logger.Debug("event id filter ready", "keys", f.count.Load(), "seconds", time.Since(start).Seconds())
}

// afterIndexCommit publishes what a committed index batch changed to the
// in-memory parts of the index.
func (s *Store) afterIndexCommit(fb *finishedBatch) {
	s.restricted.apply(fb.restricted)
	s.ids.add(fb.ids, fb.end)
}

// loadIDs reads the event ids in [from, to) of the log into the idIndex.
func loadIDs(l *eventLog, ids *idIndex, from, to uint64) error {
	sc := l.scan(from, to)
	var batch []pendingID
	for {
		r, off, ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok || len(batch) == 1<<14 {
			ids.add(batch, sc.position())
			batch = batch[:0]
		}
		if !ok {
			return nil
		}
		if r.Kind == kindEvent {
			batch = append(batch, pendingID{id: r.ID, e: idEntry{pos: r.Position, off: off}})
		}
	}
}

// removeIngestLeftovers deletes tables of event ids that a crash left
// before they were ingested.
func removeIngestLeftovers(dir string) {
	leftovers, _ := filepath.Glob(filepath.Join(dir, "ids-*.sst.tmp"))
	for _, f := range leftovers {
		os.Remove(f)
	}
}

// rebuildBatchEvents is the size of the index batches written when
// indexing the log on open. Batches this large (tens of MB) skip Pebble's
// memtable skiplist and are flushed as sorted tables, which is what makes
// a rebuild fast.
const rebuildBatchEvents = 1 << 18

// resetIndex deletes the index and opens an empty one.
func (s *Store) resetIndex(indexDir string) error {
	if err := s.db.Close(); err != nil {
		s.logger.Warn("closing the old index", "err", err)
	}
	s.db = nil
	if err := os.RemoveAll(indexDir); err != nil {
		return fmt.Errorf("remove index: %w", err)
	}
	db, popts, err := openIndex(indexDir, s.opts)
	if err != nil {
		return err
	}
	s.db, s.popts = db, popts
	return nil
}

// publish makes everything indexed so far visible to readers and wakes
// live-tail waiters.
func (s *Store) publish() {
	cp := s.indexer.cp
	s.head.Store(&head{LastPosition: cp.LastPosition, LogEnd: cp.LogEnd, Streams: cp.Streams, Bytes: cp.Bytes})
	s.wakeReaders()
}

// wakeReaders wakes everyone waiting for the head to move.
func (s *Store) wakeReaders() {
	ch := make(chan struct{})
	old := s.notify.Swap(&ch)
	close(*old)
}

// catchUp returns the published head once it covers every record made
// durable before the call. Appends are acknowledged when durable and
// indexed right after, so a read that starts after an acknowledgement
// waits here for that one index round (usually well under a millisecond)
// and sees the append. It returns at once when nothing is in flight, and
// when indexing has stopped for good.
func (s *Store) catchUp() *head {
	want := s.durableEnd.Load()
	for {
		ch := *s.notify.Load()
		if h := s.head.Load(); h.LogEnd >= want || s.indexStopped.Load() {
			return h
		}
		select { // the indexer may be gathering bulk groups: index now
		case s.indexNow <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-s.syncerDone:
			return s.head.Load()
		}
	}
}

// Close stops accepting writes, waits for queued ones and for open
// iterators, persists the index and closes the files.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed.Load() {
		s.closeMu.Unlock()
		return nil
	}
	s.closed.Store(true)
	close(s.closing)
	close(s.queue)
	s.closeMu.Unlock()
	<-s.syncerDone
	s.background.Wait()
	s.readers.Lock() // wait for open iterators
	defer s.readers.Unlock()
	var err error
	healthy := s.failure() == nil
	s.ids.close(healthy)
	s.ids = nil
	if healthy {
		// Persist the index so the next Open re-indexes nothing.
		if ferr := s.db.Flush(); ferr != nil {
			err = fmt.Errorf("flush index: %w", ferr)
		}
	}
	if cerr := s.closeFiles(); err == nil {
		err = cerr
	}
	return err
}

func (s *Store) closeFiles() error {
	if s.ids != nil {
		s.ids.close(false)
		s.ids = nil
	}
	var err error
	if s.db != nil {
		err = s.db.Close()
		s.db = nil
	}
	if s.log != nil {
		if cerr := s.log.close(); err == nil {
			err = cerr
		}
	}
	if s.lock != nil {
		unix.Flock(int(s.lock.Fd()), unix.LOCK_UN)
		s.lock.Close()
		s.lock = nil
	}
	return err
}

// ID returns the store's unique id, chosen when it was created.
func (s *Store) ID() string { return s.id }

// Limits returns Options.MaxEventSize and Options.MaxAppendSize, for
// callers that split input into appends (bulk import).
func (s *Store) Limits() (maxEventSize, maxAppendSize int) {
	return s.opts.MaxEventSize, s.opts.MaxAppendSize
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Head returns the position of the last durable event (0 when empty).
func (s *Store) Head() uint64 { return s.catchUp().LastPosition }

// WaitForEvents blocks until an event after position after is durable
// and readable, then returns the new head. It returns at once when there
// is one already, and with ctx's error or ErrClosed otherwise.
func (s *Store) WaitForEvents(ctx context.Context, after uint64) (uint64, error) {
	return s.waitHead(ctx, after, func(h *head) uint64 { return h.LastPosition })
}

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	return f, nil
}

func (s *Store) segmentVersion() uint16 {
	if s.opts.segmentVersion != 0 {
		return s.opts.segmentVersion
	}
	return segmentFormatVersion
}

// upgradeFormat1 moves a store written by an older version (store format
// 1, whose log segments grow with every write) to format 2: DIR/STORE
// says 2 first (older versions then refuse the store plainly instead of
// stumbling on a segment they cannot read), then the log rolls to a new
// version 2 segment, so the version 1 segments are sealed as they are and
// every write from now on goes to a zero-filled tail. A crash between the
// two steps leaves a format 2 store whose last segment is version 1,
// which the next Open rolls again.
func (s *Store) upgradeFormat1() error {
	if s.segmentVersion() < 2 || s.log.active.header.Version >= 2 {
		return nil
	}
	if s.format < 2 {
		if err := writeMeta(s.dir, storeMeta{StoreID: s.id, Format: storeFormat}); err != nil {
			return err
		}
		s.format = storeFormat
	}
	if err := s.log.roll(s.indexer.cp.LastPosition+1, 0); err != nil {
		return fmt.Errorf("roll the log to a version 2 segment: %w", err)
	}
	s.logger.Info("upgraded the store to format 2: new writes go to a zero-filled log segment", "file", s.log.active.path)
	return nil
}

func loadOrCreateMeta(dir string, format int) (storeMeta, error) {
	path := filepath.Join(dir, "STORE")
	b, err := os.ReadFile(path)
	if err == nil {
		var m storeMeta
		if err := json.Unmarshal(b, &m); err != nil || m.StoreID == "" {
			return storeMeta{}, fmt.Errorf("read %s: not a valid store file", path)
		}
		if !supportedStoreFormat(m.Format) {
			return storeMeta{}, fmt.Errorf("%s: store format %d is not supported by this version (want %d)", path, m.Format, storeFormat)
		}
		return m, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return storeMeta{}, fmt.Errorf("read store file: %w", err)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return storeMeta{}, err
	}
	m := storeMeta{StoreID: hex.EncodeToString(raw[:]), Format: format}
	return m, writeMeta(dir, m)
}

// writeMeta replaces DIR/STORE atomically and durably.
func writeMeta(dir string, m storeMeta) error {
	path := filepath.Join(dir, "STORE")
	b, _ := json.MarshalIndent(m, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write store file: %w", err)
	}
	if f, err := os.Open(tmp); err == nil {
		f.Sync()
		f.Close()
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write store file: %w", err)
	}
	if err := (OSFS{}).SyncDir(dir); err != nil {
		return fmt.Errorf("sync data directory: %w", err)
	}
	return nil
}
