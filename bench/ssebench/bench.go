//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// eventSize is the size of every event's data, as in bench/enginebench.
const eventSize = 200

type bench struct {
	cfg        config
	base       string
	user, pass string
	client     *http.Client
	bodies     [][]byte
	start      time.Time
	// ackAt[k] is when the writer got the 201 of the batch ending at
	// position (k+1)*batch, sentAt[k] when it sent the request, in ns
	// since start.
	ackAt, sentAt []atomic.Int64
}

func newBench(cfg config, base, user, pass string) *bench {
	total := cfg.baseline + cfg.events + cfg.pacedEvents
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.writers + cfg.subscribers, DisableCompression: true}
	return &bench{cfg: cfg, base: base, user: user, pass: pass, client: &http.Client{Transport: tr},
		bodies: makeBodies(16, cfg.batch), ackAt: make([]atomic.Int64, total/cfg.batch), sentAt: make([]atomic.Int64, total/cfg.batch)}
}

// makeBodies returns n append bodies of batch events with 200-byte JSON
// data (no event ids: the server assigns them).
func makeBodies(n, batch int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyz "
	types := []string{"OrderLineAdded", "OrderLineChanged", "OrderLineRemoved", "OrderPriced"}
	bodies := make([][]byte, n)
	for i := range bodies {
		b := []byte{'['}
		for j := range batch {
			if j > 0 {
				b = append(b, ',')
			}
			d := fmt.Appendf(nil, `{"orderId":"ord-%08d","sku":"SKU-%05d","qty":%d,"price":%d.%02d,"currency":"EUR","note":"`,
				r.IntN(1e8), r.IntN(1e5), 1+r.IntN(20), r.IntN(500), r.IntN(100))
			for len(d) < eventSize-2 {
				d = append(d, letters[r.IntN(len(letters))])
			}
			d = append(d, `"}`...)
			b = fmt.Appendf(b, `{"eventType":%q,"data":%s}`, types[(i+j)%len(types)], d)
		}
		bodies[i] = append(b, ']')
	}
	return bodies
}

func (b *bench) since() int64 { return int64(time.Since(b.start)) }

// WriterResult is one phase of appends.
type WriterResult struct {
	Events       int     `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"eventsPerSec"`
}

// appendPhase appends n events in batches from cfg.writers goroutines,
// at most rate events/s (0: as fast as they go).
func (b *bench) appendPhase(ctx context.Context, n, rate int) (WriterResult, error) {
	batches := n / b.cfg.batch
	var next atomic.Int64
	errc := make(chan error, b.cfg.writers)
	t0 := time.Now()
	var wg sync.WaitGroup
	for w := range b.cfg.writers {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= batches {
					return
				}
				if rate > 0 {
					due := t0.Add(time.Duration(float64(k*b.cfg.batch) / float64(rate) * float64(time.Second)))
					time.Sleep(time.Until(due))
				}
				if err := b.appendBatch(ctx, fmt.Sprintf("order-%d", (k*7+w)%1000), b.bodies[k%len(b.bodies)]); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(t0)
	select {
	case err := <-errc:
		return WriterResult{}, err
	default:
	}
	return WriterResult{Events: n, Seconds: d.Seconds(), EventsPerSec: float64(n) / d.Seconds()}, nil
}

func (b *bench) appendBatch(ctx context.Context, stream string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, "POST", b.base+"/streams/"+stream, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(b.user, b.pass)
	req.Header.Set("Content-Type", "application/json")
	sent := b.since()
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	defer resp.Body.Close()
	var res struct {
		LastPosition int64 `json:"lastPosition"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("append: status %d, %v", resp.StatusCode, err)
	}
	at := b.since()
	if res.LastPosition%int64(b.cfg.batch) != 0 {
		return fmt.Errorf("append: last position %d is not the end of a whole batch", res.LastPosition)
	}
	k := res.LastPosition/int64(b.cfg.batch) - 1
	b.sentAt[k].Store(sent)
	b.ackAt[k].Store(at)
	return nil
}

// sample is when a subscriber read the last event of a sampled batch.
type sample struct {
	batch int64
	at    int64 // ns since start
}

// subscriber is one SSE client on /subscribe/$all.
type subscriber struct {
	b       *bench
	body    io.ReadCloser
	next    int64 // the id expected next
	phases  []int64
	reached []int64 // reached[i]: ns since start when it read id phases[i]
	samples []sample
}

// connect subscribes to $all from position 1.
func (b *bench) connect(ctx context.Context, phaseEnds []int64) (*subscriber, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", b.base+"/subscribe/$all?from=1", nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(b.user, b.pass)
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("subscribe: status %d", resp.StatusCode)
	}
	expect := int64(b.cfg.baseline+b.cfg.events+b.cfg.pacedEvents) / int64(b.cfg.batch) / int64(b.cfg.sampleEvery)
	return &subscriber{b: b, body: resp.Body, next: 1, phases: phaseEnds, reached: make([]int64, len(phaseEnds)),
		samples: make([]sample, 0, expect+1)}, nil
}

// read consumes the stream until the last phase's last event, calling
// reached(i) as it passes the end of phase i. Only id lines are parsed.
func (s *subscriber) read(reached func(int)) error {
	defer s.body.Close()
	batch := int64(s.b.cfg.batch)
	every := int64(s.b.cfg.sampleEvery)
	r := bufio.NewReaderSize(s.body, 64<<10)
	phase := 0
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			for err == bufio.ErrBufferFull { // a long data line: skip it
				_, err = r.ReadSlice('\n')
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("subscriber at id %d: %w", s.next, err)
		}
		if !bytes.HasPrefix(line, []byte("id: ")) {
			continue
		}
		id, err := strconv.ParseInt(string(bytes.TrimSpace(line[4:])), 10, 64)
		if err != nil || id != s.next {
			return fmt.Errorf("subscriber: got id %q, want %d (a gap or a duplicate)", line, s.next)
		}
		s.next++
		if id%batch == 0 && (id/batch-1)%every == 0 {
			s.samples = append(s.samples, sample{batch: id/batch - 1, at: s.b.since()})
		}
		if id == s.phases[phase] {
			s.reached[phase] = s.b.since()
			reached(phase)
			if phase++; phase == len(s.phases) {
				return nil
			}
		}
	}
}

// stall opens a subscription that never reads: a slow consumer. The
// server drops it after its write timeout (30 s).
func (b *bench) stall(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(b.base, "http://"))
	if err != nil {
		return nil, err
	}
	auth := base64.StdEncoding.EncodeToString([]byte(b.user + ":" + b.pass))
	if _, err := fmt.Fprintf(c, "GET /subscribe/$all?from=1 HTTP/1.1\r\nHost: bench\r\nAuthorization: Basic %s\r\n\r\n", auth); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
