package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/eventsql/eventsql/bench/benchgen"
)

// The generator: orders and carts of a web shop, one stream each, as
// NDJSON lines of the import format. Everything is a pure function of
// (seed, stream number, version), so a run on the same -events and -seed
// loads the same events.
//
// An order stream (order-<n>) is
//
//	OrderPlaced     {orderId, customer, amount, currency, items, placedAt}
//	ItemAdded       {orderId, sku, qty, price}        (items of them, some ItemRemoved {orderId, sku})
//	PaymentReceived {orderId, amount, method, paidAt}
//	OrderShipped    {orderId, carrier, shippedAt}
//
// and a cart stream (cart-<n>) is CartCreated {cartId, customer,
// createdAt}, ItemAdded/ItemRemoved {cartId, sku, qty, price}, CheckedOut
// {cartId, total, currency}. Streams have 5 to 100 events (60% 5–10, 30%
// 10–30, 10% 30–100). The events of window consecutive streams are
// interleaved round by round, as in a store many clients write to.
type generator struct {
	seed      uint64
	window    int
	customers int
}

const (
	genWindow = 1000
	minLen    = 5
	maxLen    = 100
	epochUnix = 1767225600 // 2026-01-01T00:00:00Z
)

var (
	currencies = [...]string{"EUR", "EUR", "EUR", "EUR", "USD", "USD", "USD", "GBP", "CHF", "SEK"}
	methods    = [...]string{"card", "card", "paypal", "transfer"}
	carriers   = [...]string{"dhl", "ups", "post"}
)

// newGenerator sizes the customers so a customer has about four orders
// among events events.
func newGenerator(seed uint64, events int64) *generator {
	return &generator{seed: seed, window: genWindow, customers: int(max(10, events/150))}
}

// streamHash is the per-stream random word everything stream-level derives from.
func (g *generator) streamHash(s int64) uint64 {
	return benchgen.Mix(g.seed*0x9e3779b97f4a7c15 ^ uint64(s))
}

// isOrder tells order streams from cart streams (about half each).
func (g *generator) isOrder(s int64) bool { return g.streamHash(s)&1 == 0 }

// streamName is the name of stream number s.
func (g *generator) streamName(s int64) string {
	if g.isOrder(s) {
		return "order-" + strconv.FormatInt(s, 10)
	}
	return "cart-" + strconv.FormatInt(s, 10)
}

// streamLen is the number of events of stream s.
func (g *generator) streamLen(s int64) int {
	h := g.streamHash(s)
	u := (h >> 8) % 100
	r := int(h>>20) % 1000
	switch {
	case u < 60:
		return 5 + r%6
	case u < 90:
		return 10 + r%21
	}
	return 30 + r%71
}

// customer is the customer of stream s ("cust-0000042").
func (g *generator) customer(s int64) int { return int((g.streamHash(s) >> 32) % uint64(g.customers)) }

// orderAmount is the total of order s, in cents.
func (g *generator) orderAmount(s int64) int64 { return 500 + int64((g.streamHash(s)>>40)%99_500) }

func (g *generator) currency(s int64) string {
	return currencies[(g.streamHash(s)>>17)%uint64(len(currencies))]
}

// at is the time of event v of stream s: streams start a minute apart,
// events follow each other within minutes.
func (g *generator) at(s int64, v int) time.Time {
	return time.Unix(epochUnix+s*60+int64(v)*97, 0).UTC()
}

// stats counts what write produced.
type genStats struct {
	Events  int64
	Streams int64 // streams with at least one event
	Bytes   int64
}

// write writes n events as NDJSON to w.
func (g *generator) write(w io.Writer, n int64) (genStats, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var st genStats
	var line []byte
	lens := make([]int, g.window)
	for block := int64(0); st.Events < n; block++ {
		first := block * int64(g.window)
		longest := 0
		for i := range lens {
			lens[i] = g.streamLen(first + int64(i))
			longest = max(longest, lens[i])
		}
		for v := 0; v < longest && st.Events < n; v++ {
			for i := 0; i < g.window && st.Events < n; i++ {
				if v >= lens[i] {
					continue
				}
				if v == 0 {
					st.Streams++
				}
				line = g.appendLine(line[:0], first+int64(i), v, lens[i])
				if _, err := bw.Write(line); err != nil {
					return st, fmt.Errorf("write generated events: %w", err)
				}
				st.Events++
				st.Bytes += int64(len(line))
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("write generated events: %w", err)
	}
	return st, nil
}

// eventID derives event (s, v)'s id, version-4 shaped.
func (g *generator) eventID(s int64, v int) [16]byte {
	x := benchgen.Mix(g.streamHash(s) + uint64(v)*0x9e3779b97f4a7c15)
	y := benchgen.Mix(x ^ 0x5851f42d4c957f2d)
	var id [16]byte
	for i := range 8 {
		id[i] = byte(x >> (56 - 8*i))
		id[8+i] = byte(y >> (56 - 8*i))
	}
	id[6] = 0x40 | id[6]&0x0f
	id[8] = 0x80 | id[8]&0x3f
	return id
}

// eventType is the type of event v of a stream of n events.
func eventType(order bool, v, n int) string {
	switch {
	case v == 0 && order:
		return "OrderPlaced"
	case v == 0:
		return "CartCreated"
	case order && v == n-2:
		return "PaymentReceived"
	case order && v == n-1:
		return "OrderShipped"
	case !order && v == n-1:
		return "CheckedOut"
	case v%7 == 6:
		return "ItemRemoved"
	}
	return "ItemAdded"
}

// appendLine appends event v of stream s (of n events) as an NDJSON line.
func (g *generator) appendLine(b []byte, s int64, v, n int) []byte {
	order := g.isOrder(s)
	typ := eventType(order, v, n)
	r := rand.New(rand.NewPCG(g.streamHash(s), uint64(v)))
	b = append(b, `{"stream":"`...)
	b = append(b, g.streamName(s)...)
	b = append(b, `","eventId":"`...)
	b = benchgen.AppendUUID(b, g.eventID(s, v))
	b = append(b, `","eventType":"`...)
	b = append(b, typ...)
	b = append(b, `","data":{`...)
	if order {
		b = append(b, `"orderId":"`...)
	} else {
		b = append(b, `"cartId":"`...)
	}
	b = append(b, g.streamName(s)...)
	b = append(b, '"')
	switch typ {
	case "OrderPlaced":
		b = g.appendCustomer(b, s)
		b = appendMoney(append(b, `,"amount":`...), g.orderAmount(s))
		b = append(append(append(b, `,"currency":"`...), g.currency(s)...), '"')
		b = strconv.AppendInt(append(b, `,"items":`...), int64(n-3), 10)
		b = g.appendTime(append(b, `,"placedAt":`...), s, v)
	case "CartCreated":
		b = g.appendCustomer(b, s)
		b = g.appendTime(append(b, `,"createdAt":`...), s, v)
	case "PaymentReceived":
		b = appendMoney(append(b, `,"amount":`...), g.orderAmount(s))
		b = append(append(append(b, `,"method":"`...), methods[r.IntN(len(methods))]...), '"')
		b = g.appendTime(append(b, `,"paidAt":`...), s, v)
	case "OrderShipped":
		b = append(append(append(b, `,"carrier":"`...), carriers[r.IntN(len(carriers))]...), '"')
		b = g.appendTime(append(b, `,"shippedAt":`...), s, v)
	case "CheckedOut":
		b = appendMoney(append(b, `,"total":`...), g.orderAmount(s))
		b = append(append(append(b, `,"currency":"`...), g.currency(s)...), '"')
	case "ItemRemoved":
		b = appendSKU(b, r)
	default:
		b = appendSKU(b, r)
		b = strconv.AppendInt(append(b, `,"qty":`...), int64(1+r.IntN(5)), 10)
		b = appendMoney(append(b, `,"price":`...), int64(99+r.IntN(20000)))
	}
	b = append(b, `},"metadata":{"source":"`...)
	b = append(b, [...]string{"web", "app", "api"}[r.IntN(3)]...)
	b = append(b, `","correlationId":"`...)
	b = strconv.AppendUint(b, r.Uint64()>>16, 36)
	return append(b, "\"}}\n"...)
}

func (g *generator) appendCustomer(b []byte, s int64) []byte {
	return append(fmt.Appendf(append(b, `,"customer":"`...), "cust-%07d", g.customer(s)), '"')
}

func (g *generator) appendTime(b []byte, s int64, v int) []byte {
	return append(g.at(s, v).AppendFormat(append(b, '"'), time.RFC3339), '"')
}

func appendSKU(b []byte, r *rand.Rand) []byte {
	return fmt.Appendf(b, `,"sku":"SKU-%05d"`, r.IntN(100000))
}

// appendMoney appends cents as a decimal without trailing zeros (1990 ->
// 19.9), the way a float prints, so both systems print it alike.
func appendMoney(b []byte, cents int64) []byte {
	return strconv.AppendFloat(b, float64(cents)/100, 'f', -1, 64)
}
