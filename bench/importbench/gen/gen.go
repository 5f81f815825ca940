// Package gen writes deterministic NDJSON event files for the bulk import
// benchmarks (POST /import, `eventsql import`), so every benchmark — ours
// and the comparisons with other databases — loads the same bytes.
//
// Each line is one event of about 330 bytes:
//
//	{"stream":"cart-1200","eventType":"ItemAdded","eventId":"<uuid>",
//	 "data":{"sku":"SKU-04821","qty":3,"price":19.99,"currency":"EUR",
//	  "customer":{"id":"cust-0012345","tier":"gold"},"tags":["web","promo"],"note":"..."},
//	 "metadata":{"source":"gen","seq":12}}
//
// Streams are carts with StreamLen events each, interleaved the way a
// time-ordered export is: the events of Window consecutive carts are
// spread over Window*StreamLen consecutive lines, so a cart's events are
// Window lines apart. Event ids are derived from the line number, so a
// file generated twice is identical and importing it twice is an
// idempotent retry.
package gen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"

	"github.com/eventsql/eventsql/bench/benchgen"
)

// Defaults of Options.
const (
	DefaultStreamLen = 10
	DefaultWindow    = 1000
	// TargetLineSize is the size the lines are padded to (newline included).
	TargetLineSize = 330
)

// EventTypes are the event types, chosen per line.
var eventTypes = [...]string{"ItemAdded", "ItemRemoved", "QuantityChanged", "CheckedOut"}

// Options shape the generated events.
type Options struct {
	// StreamLen is the number of events per stream (default 10).
	StreamLen int
	// Window is the number of streams whose events are interleaved
	// (default 1000; 1 writes each stream's events consecutively).
	Window int
	// Seed varies the payloads and ids (0 is a valid seed).
	Seed uint64
}

func (o Options) withDefaults() Options {
	if o.StreamLen <= 0 {
		o.StreamLen = DefaultStreamLen
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	return o
}

// Stats says what was written.
type Stats struct {
	Events  int64
	Streams int64
	Bytes   int64
}

// Write writes events to w until at least size bytes are written, ending
// at a whole window of streams (so every stream has StreamLen events) —
// the file may exceed size by up to one window.
func Write(w io.Writer, size int64, opts Options) (Stats, error) {
	opts = opts.withDefaults()
	bw := bufio.NewWriterSize(w, 1<<20)
	g := newGenerator(opts)
	var st Stats
	line := make([]byte, 0, 512)
	block := int64(opts.StreamLen * opts.Window)
	for n := int64(0); st.Bytes < size || n%block != 0; n++ {
		line = g.appendLine(line[:0], n)
		if _, err := bw.Write(line); err != nil {
			return st, fmt.Errorf("write generated events: %w", err)
		}
		st.Events++
		st.Bytes += int64(len(line))
	}
	st.Streams = st.Events / int64(opts.StreamLen)
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("write generated events: %w", err)
	}
	return st, nil
}

// Line returns line n (0-based) of the file Write generates with opts,
// newline included.
func Line(n int64, opts Options) []byte {
	return newGenerator(opts.withDefaults()).appendLine(nil, n)
}

type generator struct {
	opts Options
}

func newGenerator(opts Options) *generator { return &generator{opts: opts} }

// Stream returns the stream of line n.
func (g *generator) stream(n int64) int64 {
	block := int64(g.opts.StreamLen * g.opts.Window)
	w := int64(g.opts.Window)
	return (n/block)*w + n%w
}

// appendUUID appends a version-4-shaped UUID derived from (seed, n).
func appendUUID(dst []byte, seed uint64, n int64) []byte {
	r := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(n)))
	var b [16]byte
	hi, lo := r.Uint64(), r.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return benchgen.AppendUUID(dst, b)
}

func (g *generator) appendLine(dst []byte, n int64) []byte {
	r := rand.New(rand.NewPCG(g.opts.Seed, uint64(n)))
	start := len(dst)
	dst = append(dst, `{"stream":"cart-`...)
	dst = strconv.AppendInt(dst, g.stream(n), 10)
	dst = append(dst, `","eventType":"`...)
	dst = append(dst, eventTypes[r.IntN(len(eventTypes))]...)
	dst = append(dst, `","eventId":"`...)
	dst = appendUUID(dst, g.opts.Seed, n)
	dst = append(dst, `","data":{"sku":"SKU-`...)
	dst = appendPadded(dst, r.IntN(100000), 5)
	dst = append(dst, `","qty":`...)
	dst = strconv.AppendInt(dst, int64(1+r.IntN(20)), 10)
	dst = append(dst, `,"price":`...)
	dst = strconv.AppendInt(dst, int64(r.IntN(500)), 10)
	dst = append(dst, '.')
	dst = appendPadded(dst, r.IntN(100), 2)
	dst = append(dst, `,"currency":"EUR","customer":{"id":"cust-`...)
	dst = appendPadded(dst, r.IntN(10000000), 7)
	dst = append(dst, `","tier":"`...)
	dst = append(dst, [...]string{"basic", "silver", "gold"}[r.IntN(3)]...)
	dst = append(dst, `"},"tags":["web","promo"],"note":"`...)
	tail := `"},"metadata":{"source":"gen","seq":` + strconv.FormatInt(n, 10) + "}}\n"
	const letters = "abcdefghijklmnopqrstuvwxyz "
	for len(dst)-start+len(tail) < TargetLineSize {
		dst = append(dst, letters[r.IntN(len(letters))])
	}
	return append(dst, tail...)
}

func appendPadded(dst []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for range width - len(s) {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}
