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
	files  []File
}

func newEventsWriter(pc *partConfig, schemaIdx int) *eventsWriter {
	return &eventsWriter{pc: pc, schema: schemaIdx, rb: rowBuilder{ts: pc.opts.Timestamps}}
}

func (w *eventsWriter) write(b *batch) error {
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

func (w *eventsWriter) finishCurrent() error {
	f, err := w.cur.finish()
	w.cur = nil
	if err != nil {
		return err
	}
	w.files = append(w.files, f)
	w.rb.reset() // rows of the finished file are written
	return nil
}

func (w *eventsWriter) close() error {
	if w.cur == nil {
		return nil
	}
	return w.finishCurrent()
}

func (w *eventsWriter) abort() {
	if w.cur != nil {
		w.cur.abort()
		w.cur = nil
	}
}
