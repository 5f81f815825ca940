//go:build linux

package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/google/uuid"

	"github.com/eventsql/eventsql/bench/benchgen"
)

// The generator: every system gets exactly the same events. An event is a
// pure function of (seed, key); the scenario decides which keys it uses
// and which stream and version each key lands at (see the layouts below),
// so the HTTP bodies, the MariaDB rows and the NDJSON/TSV files of one run
// carry the same ids, types, data and metadata.

// eventTypes are picked per event from its key.
var eventTypes = []string{"OrderLineAdded", "OrderLineChanged", "OrderLineRemoved", "OrderPriced"}

const (
	payloadPool = 4096 // distinct data documents
	metaPool    = 512  // distinct metadata documents
	minData     = 140  // data documents are minData..maxData bytes
	maxData     = 220
)

// Gen makes events for one seed.
type Gen struct {
	seed     uint64
	payloads [][]byte
	metas    [][]byte
}

// NewGen returns the generator for seed.
func NewGen(seed uint64) *Gen {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	const letters = "abcdefghijklmnopqrstuvwxyz "
	g := &Gen{seed: seed, payloads: make([][]byte, payloadPool), metas: make([][]byte, metaPool)}
	for i := range g.payloads {
		size := minData + r.IntN(maxData-minData+1)
		b := fmt.Appendf(nil, `{"orderId":"ord-%08d","sku":"SKU-%05d","qty":%d,"price":%d.%02d,"currency":"EUR","warehouse":"wh-%02d","customer":"cust-%07d","note":"`,
			r.IntN(1e8), r.IntN(1e5), 1+r.IntN(20), r.IntN(500), r.IntN(100), r.IntN(40), r.IntN(1e7))
		for len(b) < size-2 {
			b = append(b, letters[r.IntN(len(letters))])
		}
		g.payloads[i] = append(b, `"}`...)
	}
	for i := range g.metas {
		g.metas[i] = fmt.Appendf(nil, `{"correlationId":"corr-%08d","user":"u-%05d"}`, r.IntN(1e8), r.IntN(1e5))
	}
	return g
}

// Event is one generated event, without its stream and version.
type Event struct {
	ID       uuid.UUID
	Type     string
	Data     []byte // JSON, minData..maxData bytes
	Metadata []byte // JSON, ~47 bytes
}

// Event returns the event of key k. Distinct keys give distinct ids: the
// id's first 64 bits are a bijection of k (the four bits the UUID version
// takes from byte 6 are kept in byte 9), the rest looks random. Ids are
// version-4 shaped, so they spread over a unique index as clients' random
// ids do.
func (g *Gen) Event(k uint64) Event {
	x := benchgen.Mix(g.seed*0x9e3779b97f4a7c15 + k)
	y := benchgen.Mix(x ^ 0x5851f42d4c957f2d)
	var id uuid.UUID
	for i := range 8 {
		id[i] = byte(x >> (56 - 8*i))
	}
	for i := 8; i < 16; i++ {
		id[i] = byte(y >> (120 - 8*i))
	}
	id[9] = id[9]&0xf0 | id[6]>>4
	id[6] = 0x40 | id[6]&0x0f
	id[8] = 0x80 | id[8]&0x3f
	return Event{
		ID:       id,
		Type:     eventTypes[y%uint64(len(eventTypes))],
		Data:     g.payloads[(y>>8)%payloadPool],
		Metadata: g.metas[(y>>24)%metaPool],
	}
}

// Key spaces: each scenario draws its keys from its own range, so no two
// scenarios of a run share an event id.
const (
	keyClientShift   = 40 // client number above the call/event counter
	keyScenarioShift = 52 // scenario number (times 16, plus the round) above the client number
)

// appendKey is the key of event j of call `call` of client c in scenario s.
func appendKey(s, c, call, batch, j int) uint64 {
	return uint64(s)<<keyScenarioShift | uint64(c)<<keyClientShift | uint64(call*batch+j)
}

// streamsPerClient is how many streams each append client rotates over:
// call i of client c goes to stream appendStream(c, i), and a batch stays
// in one stream (POST /streams/{stream} takes one stream).
const streamsPerClient = 1000

func appendStream(c, call int) string {
	return "order-" + strconv.Itoa(c) + "_" + strconv.Itoa(call%streamsPerClient)
}

// appendVersion is the version event j of call `call` gets in its stream:
// each client owns its streams, so it is known without asking the store.
func appendVersion(call, batch, j int) int64 {
	return int64(call/streamsPerClient*batch + j)
}

// importLayout places the import file's events: event n goes to stream
// n % streams with version n / streams, so every stream's events are
// spread over the whole file, as in an export of a real store's log.
type importLayout struct{ streams int }

func (l importLayout) stream(n int) string { return "acct-" + strconv.Itoa(n%l.streams) }
func (l importLayout) version(n int) int64 { return int64(n / l.streams) }
func (l importLayout) key(s, n int) uint64 { return uint64(s)<<keyScenarioShift | uint64(n) }

// appendHTTPEvent appends e as an element of the EventStoreDB array body:
// {"eventId":..,"eventType":..,"data":..,"metadata":..}.
func appendHTTPEvent(b []byte, e Event) []byte {
	b = append(b, `{"eventId":"`...)
	b = appendUUID(b, e.ID)
	b = append(b, `","eventType":"`...)
	b = append(b, e.Type...)
	b = append(b, `","data":`...)
	b = append(b, e.Data...)
	b = append(b, `,"metadata":`...)
	b = append(b, e.Metadata...)
	return append(b, '}')
}

// appendNDJSON appends e as one line of the import format:
// {"stream":..,"eventType":..,"eventId":..,"data":..,"metadata":..}\n.
func appendNDJSON(b []byte, stream string, e Event) []byte {
	b = append(b, `{"stream":"`...)
	b = append(b, stream...)
	b = append(b, `","eventType":"`...)
	b = append(b, e.Type...)
	b = append(b, `","eventId":"`...)
	b = appendUUID(b, e.ID)
	b = append(b, `","data":`...)
	b = append(b, e.Data...)
	b = append(b, `,"metadata":`...)
	b = append(b, e.Metadata...)
	return append(b, "}\n"...)
}

// ndjsonOverhead is the length of an NDJSON line less its variable parts.
var ndjsonOverhead = len(appendNDJSON(nil, "", Event{})) - 36

// eventBytes is the size of e's NDJSON line in stream: the unit of every
// MB/s figure, whatever the system's wire format.
func eventBytes(stream string, e Event) int {
	return ndjsonOverhead + len(stream) + len(e.Type) + 36 + len(e.Data) + len(e.Metadata)
}

// appendTSV appends e as one row for MariaDB's LOAD DATA (default
// escaping: tab-separated, backslash escapes, newline-terminated), columns
// stream, version, event_id, event_type, data, metadata.
func appendTSV(b []byte, stream string, version int64, e Event) []byte {
	b = benchgen.AppendTSVEscaped(b, stream)
	b = append(b, '\t')
	b = strconv.AppendInt(b, version, 10)
	b = append(b, '\t')
	b = appendUUID(b, e.ID)
	b = append(b, '\t')
	b = benchgen.AppendTSVEscaped(b, e.Type)
	b = append(b, '\t')
	b = benchgen.AppendTSVEscaped(b, e.Data)
	b = append(b, '\t')
	b = benchgen.AppendTSVEscaped(b, e.Metadata)
	return append(b, '\n')
}

func appendUUID(b []byte, id uuid.UUID) []byte { return benchgen.AppendUUID(b, id) }

func hexID(dst []byte, id uuid.UUID) { benchgen.PutUUID(dst, id) }
