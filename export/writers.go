package export

import "time"

// dateOf returns the partition (UTC date) of a time in µs.
func dateOf(micros int64) string {
	return time.UnixMicro(micros).UTC().Format(time.DateOnly)
}

// dayOf is the UTC day number of a time in µs.
func dayOf(micros int64) int64 {
	d := micros / 86_400_000_000
	if micros < 0 && micros%86_400_000_000 != 0 {
		d--
	}
	return d
}

// eventsWriter writes the events dataset: one open part file at a time
// (append times never go backwards, so partitions come one after another).
type eventsWriter struct {
	pc     *partConfig
	schema int
	cur    *partFile
	day    int64
	rb     rowBuilder
	// pending are the files finished so far, completing in the background.
	pending []*pendingFile
	files   []File // set by close and abort
	// byColumn: rows go column by column, the data column written by
	// helper (eventcols.go); otherwise as eventRecord structs.
	byColumn bool
	helper   *colHelper
	ec       eventsCols
}

// newEventsWriter returns the events dataset's writer; byColumn writes
// it column by column on two goroutines (when it is the only dataset).
func newEventsWriter(pc *partConfig, schemaIdx int, byColumn bool) *eventsWriter {
	return &eventsWriter{pc: pc, schema: schemaIdx, rb: rowBuilder{ts: pc.opts.Timestamps}, byColumn: byColumn}
}

func (w *eventsWriter) write(b *batch) error {
	if w.byColumn {
		return w.writeByColumn(b)
	}
	for i := range b.rows {
		r := &b.rows[i]
		day := dayOf(r.created)
		if w.cur != nil && (day != w.day || w.cur.size() >= w.pc.opts.FileBytes) {
			if err := w.finishCurrent(); err != nil {
				return err
			}
		}
		if w.cur == nil {
			p, err := w.pc.openEvents(dateOf(r.created), w.schema, r.pos, &w.rb)
			if err != nil {
				return err
			}
			w.cur, w.day = p, day
		}
		w.cur.addEvent(b, r)
		if w.cur.queued() >= 1024 {
			if err := w.cur.flush(); err != nil {
				return err
			}
		}
	}
	if w.cur != nil {
		if err := w.cur.flush(); err != nil {
			return err
		}
	}
	w.rb.reset()
	return nil
}

// writeByColumn writes b in runs of rows of one day, column by column.
func (w *eventsWriter) writeByColumn(b *batch) error {
	for i := 0; i < len(b.rows); {
		r := &b.rows[i]
		day := dayOf(r.created)
		j := i + 1
		for j < len(b.rows) && dayOf(b.rows[j].created) == day {
			j++
		}
		if w.cur != nil && (day != w.day || w.cur.size() >= w.pc.opts.FileBytes) {
			if err := w.finishCurrent(); err != nil {
				return err
			}
		}
		if w.cur == nil {
			p, err := w.pc.open("events", dateOf(r.created), eventsColumns, w.schema, r.pos)
			if err != nil {
				return err
			}
			if w.helper == nil {
				w.helper = newColHelper() // stopped by close and abort
			}
			p.helper, p.helperCol = w.helper, evData
			w.cur, w.day = p, day
		}
		w.ec.build(b, i, j, &w.rb)
		if err := w.cur.writeColumns(w.ec.cols, r.pos, b.rows[j-1].pos); err != nil {
			return err
		}
		i = j
	}
	w.rb.reset()
	return nil
}

func (w *eventsWriter) finishCurrent() error {
	pf := w.cur.finishAsync()
	w.cur = nil
	w.pending = append(w.pending, pf)
	w.rb.reset() // rows of the finished file are written
	select {
	case <-pf.done: // failed at once
		return pf.err
	default:
		return nil
	}
}

// close finishes the open file and waits for every file to be complete.
func (w *eventsWriter) close() error {
	var err error
	if w.cur != nil {
		err = w.finishCurrent()
	}
	files, werr := waitAll(w.pending)
	w.pending, w.files = nil, append(w.files, files...)
	w.stopHelper()
	if err == nil {
		err = werr
	}
	return err
}

func (w *eventsWriter) stopHelper() {
	if w.helper != nil {
		w.helper.stop()
		w.helper = nil
	}
}

// abort drops the open file and waits for the files finished before
// (the caller removes them).
func (w *eventsWriter) abort() {
	if w.cur != nil {
		w.cur.abort()
		w.cur = nil
	}
	files, _ := waitAll(w.pending)
	w.pending, w.files = nil, append(w.files, files...)
	w.stopHelper()
}
