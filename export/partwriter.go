package export

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
)

// tempPrefix starts the names of files being written: Hadoop readers and
// DuckDB's **/*.parquet glob skip them, and cleanup removes them.
const tempPrefix = "_tmp-"

// outFile is what a part file is written to (an *os.File; tests inject
// faults).
type outFile interface {
	io.Writer
	Sync() error
	Close() error
}

// createFunc creates a file for writing.
type createFunc func(name string) (outFile, error)

func createOS(name string) (outFile, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

// countingWriter counts bytes on their way to the file.
type countingWriter struct {
	w     io.Writer
	total *atomic.Int64 // bytes written by the run (progress)
	c     int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.c += int64(n)
	c.total.Add(int64(n))
	return n, err
}

// partFile is one part file being written under a temp name.
type partFile struct {
	dataset, date string
	dir           string // the partition directory
	tmp           string
	f             outFile
	wb            *writebackFile // f, with write-back started as it goes
	buf           *bufio.Writer
	cw            *countingWriter
	w             parquetWriter
	ev            eventsSink // the events dataset's rows (nil: pending)
	cols          []Column
	schema        int // index into the dataset's schemas
	rows          int64
	from, to      uint64
	rgBase        int64 // w.Size() when the current row group started
	// sz is w.Size() after the last write: it changes only when rows are
	// written, and computing it walks every column (it was 3% of the
	// export's CPU when asked per event).
	sz     int64
	rgRows int64 // rows of the current row group written by writeColumns
	// helper, when set, writes column helperCol in writeColumns while
	// the caller writes the others.
	helper    *colHelper
	helperCol int
	opts      *Options
	lastUse   uint64
}

// parquetWriter is parquet-go's GenericWriter of any row type.
type parquetWriter interface {
	WriteRows(rows []parquet.Row) (int, error)
	ColumnWriters() []*parquet.ColumnWriter
	Flush() error
	Close() error
	Size() int64
}

// partConfig holds what every part file of a run shares. close releases
// its page buffers: call it when no part file is written any more.
type partConfig struct {
	root   string
	runID  string
	create createFunc
	bytes  *atomic.Int64
	writer []parquet.WriterOption
	opts   *Options
	pages  *pagePool
}

func newPartConfig(root, runID string, o *Options) (*partConfig, error) {
	c, err := codec(o.Compression)
	if err != nil {
		return nil, err
	}
	pages := &pagePool{}
	return &partConfig{root: root, runID: runID, create: o.create, bytes: new(atomic.Int64), opts: o, pages: pages,
		writer: []parquet.WriterOption{
			parquet.ColumnPageBuffers(pages),
			parquet.Compression(c),
			parquet.DataPageVersion(1),
			parquet.DefaultEncoding(&parquet.Plain), // no DELTA_* (older Spark/Hive vectorized readers reject them)
			// Min/max per page go to the column index (and per column
			// chunk to the footer), which is what readers prune with; the
			// copy in every data page header (deprecated by the column
			// index, ignored by parquet-mr's and DuckDB's filters)
			// computed the bounds a second time: 5% of the export's CPU.
			parquet.DataPageStatistics(false),
			parquet.MaxRowsPerRowGroup(o.RowGroupRows),
			// parquet-go formats "<app> version <v>(build <b>)" without the
			// space the spec (and parsers like parquet-mr's) expect: add it.
			parquet.CreatedBy("eventsql", o.Version+" ", o.Build),
		}}, nil
}

// close releases the page buffers of the run's part files (finished or
// abandoned).
func (pc *partConfig) close() { pc.pages.release() }

// open starts a part file of dataset in partition date with schema cols,
// written column by column (writeColumns) or as parquet.Row values
// (writeRows), never both.
func (pc *partConfig) open(dataset, date string, cols []Column, schemaIdx int, first uint64) (*partFile, error) {
	p, err := pc.create1(dataset, date, cols, schemaIdx, first)
	if err != nil {
		return nil, err
	}
	opts := append([]parquet.WriterOption{parquetSchema(path.Base(dataset), cols, pc.opts.Timestamps)}, pc.writer...)
	p.w = parquet.NewGenericWriter[any](p.buf, opts...)
	return p, nil
}

// openEvents starts a part file of the events dataset, written as
// structs (eventRecord); rb holds the strings the rows point to.
func (pc *partConfig) openEvents(date string, schemaIdx int, first uint64, rb *rowBuilder) (*partFile, error) {
	p, err := pc.create1("events", date, eventsColumns, schemaIdx, first)
	if err != nil {
		return nil, err
	}
	if p.w, p.ev, err = newEventsParquet(p.buf, pc.opts.Timestamps, rb, pc.writer); err != nil {
		p.abort()
		return nil, err
	}
	return p, nil
}

// create1 creates the temp file of a part file.
func (pc *partConfig) create1(dataset, date string, cols []Column, schemaIdx int, first uint64) (*partFile, error) {
	dir := filepath.Join(pc.root, filepath.FromSlash(dataset), "date="+date)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	tmp := filepath.Join(dir, fmt.Sprintf("%s%s-%d.parquet", tempPrefix, pc.runID, first))
	f, err := pc.create(tmp)
	if err != nil {
		return nil, fmt.Errorf("create part file: %w", err)
	}
	p := &partFile{dataset: dataset, date: date, dir: dir, tmp: tmp, f: f, cols: cols, schema: schemaIdx, from: first, opts: pc.opts}
	p.wb = newWritebackFile(f)
	p.cw = &countingWriter{w: p.wb, total: pc.bytes}
	p.buf = bufio.NewWriterSize(p.cw, 1<<20)
	return p, nil
}

// addEvent queues an event of the events dataset (written by flush; the
// batch must stay valid until then).
func (p *partFile) addEvent(b *batch, r *evRow) {
	if p.rows == 0 && p.ev.pending() == 0 {
		p.from = r.pos
	}
	p.to = r.pos
	p.ev.add(b, r)
}

// queued is the number of events waiting for flush.
func (p *partFile) queued() int {
	if p.ev != nil {
		return p.ev.pending()
	}
	return 0
}

// flush writes the queued events, ending the row group when it reached
// RowGroupBytes.
func (p *partFile) flush() error {
	if p.ev == nil || p.ev.pending() == 0 {
		return nil
	}
	n, err := p.ev.write()
	if err != nil {
		return fmt.Errorf("write %s: %w", p.tmp, err)
	}
	p.rows += int64(n)
	return p.wrote()
}

// wrote notes the file's size after a write and ends the row group when
// it reached RowGroupBytes.
func (p *partFile) wrote() error {
	p.sz = p.w.Size()
	if p.sz-p.rgBase >= p.opts.RowGroupBytes {
		return p.endRowGroup()
	}
	return nil
}

func (p *partFile) endRowGroup() error {
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", p.tmp, err)
	}
	p.sz = p.w.Size()
	p.rgBase = p.sz
	p.rgRows = 0
	return nil
}

// columnChunkRows is how many rows of a column writeColumns hands to
// parquet-go at once: pages are cut between such writes, so this bounds
// how far a page overshoots the page size (parquet-go's own writers use
// 64 rows; larger writes let its buffers grow in fewer steps).
const columnChunkRows = 256

// writeColumns writes rows given column by column (cols[c][i] is row i's
// value of column c, with its levels; every column has the same number
// of rows) through the row group's column writers, ending row groups at
// RowGroupRows rows and RowGroupBytes. from and to are the rows' first
// and last positions.
func (p *partFile) writeColumns(cols [][]parquet.Value, from, to uint64) error {
	n := int64(len(cols[0]))
	if p.rows == 0 {
		p.from = from
	}
	p.to = to
	for done := int64(0); done < n; {
		k := min(n-done, p.opts.RowGroupRows-p.rgRows)
		cw := p.w.ColumnWriters()
		if p.helper != nil {
			p.helper.jobs <- colJob{cw: cw[p.helperCol], vals: cols[p.helperCol][done : done+k]}
		}
		var err error
		for c, col := range cols {
			if p.helper != nil && c == p.helperCol {
				continue
			}
			if err = writeColumnChunks(cw[c], col[done:done+k]); err != nil {
				break
			}
		}
		if p.helper != nil {
			if herr := <-p.helper.done; err == nil {
				err = herr
			}
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", p.tmp, err)
		}
		done += k
		p.rows += k
		p.rgRows += k
		if p.rgRows >= p.opts.RowGroupRows {
			if err := p.endRowGroup(); err != nil {
				return err
			}
		}
	}
	return p.wrote()
}

// buffered estimates the bytes of the current row group held in memory.
func (p *partFile) buffered() int64 { return p.sz - p.rgBase }

// size estimates the file's size so far.
func (p *partFile) size() int64 { return p.sz }

// finish completes the file, syncs it and renames it into place as
// part-<from>-<to>.parquet (part-<from>-<to>-<run>.parquet if that name
// is taken by a file of the previous snapshot).
func (p *partFile) finish() (File, error) { return p.finishAsync().wait() }

// finishAsync is finish with the last part — fsync, rename — done on
// another goroutine: a writer goes on with its next file meanwhile (the
// fsync of a 1 GiB file took 0.2 to 0.5 s here, during which the
// export's pipeline stood still). Every pendingFile must be waited for.
func (p *partFile) finishAsync() *pendingFile {
	pf := &pendingFile{done: make(chan struct{})}
	err := p.flush()
	if err == nil {
		err = p.w.Close()
		if err == nil {
			err = p.buf.Flush()
		}
		if err != nil {
			err = fmt.Errorf("write %s: %w", p.tmp, err)
		}
	}
	if err != nil {
		p.abort()
		pf.err = err
		close(pf.done)
		return pf
	}
	go func() {
		defer close(pf.done)
		pf.file, pf.err = p.complete()
	}()
	return pf
}

// pendingFile is a part file being completed by finishAsync.
type pendingFile struct {
	done chan struct{}
	file File
	err  error
}

func (pf *pendingFile) wait() (File, error) {
	<-pf.done
	return pf.file, pf.err
}

// waitAll waits for pending files and returns those completed and the
// first error.
func waitAll(pending []*pendingFile) ([]File, error) {
	var files []File
	var first error
	for _, pf := range pending {
		f, err := pf.wait()
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		files = append(files, f)
	}
	return files, first
}

// complete syncs, closes and renames the file.
func (p *partFile) complete() (File, error) {
	p.wb.stop()
	err := p.f.Sync()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	p.f = nil
	if err != nil {
		os.Remove(p.tmp)
		return File{}, fmt.Errorf("write %s: %w", p.tmp, err)
	}
	name := fmt.Sprintf("part-%d-%d.parquet", p.from, p.to)
	if _, err := os.Lstat(filepath.Join(p.dir, name)); err == nil {
		name = fmt.Sprintf("part-%d-%d-%s.parquet", p.from, p.to, p.runIDFromTmp())
	} else if !errors.Is(err, fs.ErrNotExist) {
		os.Remove(p.tmp)
		return File{}, err
	}
	if err := os.Rename(p.tmp, filepath.Join(p.dir, name)); err != nil {
		os.Remove(p.tmp)
		return File{}, fmt.Errorf("rename part file: %w", err)
	}
	return File{
		Path:    p.dataset + "/date=" + p.date + "/" + name,
		Dataset: p.dataset, Date: p.date, Rows: p.rows, Bytes: p.cw.c,
		FromPosition: p.from, ToPosition: p.to, Schema: p.schema,
	}, nil
}

func (p *partFile) runIDFromTmp() string {
	b := filepath.Base(p.tmp)[len(tempPrefix):]
	for i := 0; i < len(b); i++ {
		if b[i] == '-' {
			return b[:i]
		}
	}
	return b
}

// abort drops the file.
func (p *partFile) abort() {
	if p.f != nil {
		p.wb.stop()
		p.f.Close()
		p.f = nil
	}
	os.Remove(p.tmp)
}

// writeRows writes rows at once (compaction), ending row groups at
// RowGroupBytes like flush.
func (p *partFile) writeRows(rows []parquet.Row) error {
	if _, err := p.w.WriteRows(rows); err != nil {
		return fmt.Errorf("write %s: %w", p.tmp, err)
	}
	p.rows += int64(len(rows))
	return p.wrote()
}
