//go:build linux

package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/eventsql/eventsql/bench/benchfmt"
)

// PhaseResult is one phase with subscribers.
type PhaseResult struct {
	Name   string        `json:"name"`
	Events int           `json:"events"`
	Writer *WriterResult `json:"writer,omitempty"` // nil when catching up
	// DeliverySeconds runs from the phase's start to the last subscriber
	// reading the phase's last event.
	DeliverySeconds float64 `json:"deliverySeconds"`
	// DeliveredPerSec is subscribers x events / DeliverySeconds.
	DeliveredPerSec float64 `json:"deliveredPerSec"`
	// Per subscriber: events / (its last event of the phase - phase start).
	PerSubscriberMin    float64 `json:"perSubscriberMinEventsPerSec"`
	PerSubscriberMedian float64 `json:"perSubscriberMedianEventsPerSec"`
	// From the writer's 201 to the subscriber reading the batch's last
	// event; a read before the 201 counts as 0 (BeforeAck of them).
	AckLatency Latency `json:"latencyFromAck"`
	BeforeAck  int     `json:"deliveredBeforeAck"`
	// From the writer sending the append request (so fsync included).
	SendLatency Latency `json:"latencyFromSend"`
	// Process CPU (user + system) during the phase, and per event
	// delivered to one subscriber.
	CPUSeconds          float64 `json:"cpuSeconds"`
	CPUMicrosPerDeliver float64 `json:"cpuMicrosPerDelivery"`
}

// Latency percentiles in milliseconds.
type Latency struct {
	P50     float64 `json:"p50Ms"`
	P99     float64 `json:"p99Ms"`
	Max     float64 `json:"maxMs"`
	Samples int     `json:"samples"`
}

func latency(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{P50: ms(benchfmt.Percentile(d, 0.5)), P99: ms(benchfmt.Percentile(d, 0.99)), Max: ms(d[len(d)-1]), Samples: len(d)}
}

type phase struct {
	name   string
	events int
	append bool // false: the subscribers catch up on events already there
	rate   int  // events/s; 0: as fast as the writers go
	first  int64
}

func (b *bench) run(ctx context.Context) (*Report, error) {
	cfg := b.cfg
	rep := &Report{Env: environment(), Subscribers: cfg.subscribers, Stalled: cfg.stalled, Writers: cfg.writers, Batch: cfg.batch, EventSize: eventSize}
	mem := startMemSampler(50 * time.Millisecond)
	defer mem.stop()
	b.start = time.Now()
	var phases []phase
	if cfg.baseline > 0 {
		progress("baseline: %d events, no subscriber", cfg.baseline)
		r, err := b.appendPhase(ctx, cfg.baseline, 0)
		if err != nil {
			return nil, err
		}
		rep.Baseline = &r
		phases = append(phases, phase{name: "catch-up from position 1", events: cfg.baseline, first: 1})
	}
	rep.RSSBeforeSubscribers = mem.current()
	phases = append(phases, phase{name: "live, writer unpaced", events: cfg.events, append: true, first: int64(cfg.baseline) + 1})
	if cfg.pacedEvents > 0 {
		phases = append(phases, phase{name: fmt.Sprintf("live, paced at %s events/s", benchfmt.Count(float64(cfg.pacedRate))),
			events: cfg.pacedEvents, append: true, rate: cfg.pacedRate, first: int64(cfg.baseline+cfg.events) + 1})
	}
	ends := make([]int64, len(phases))
	for i, p := range phases {
		ends[i] = p.first + int64(p.events) - 1
	}

	done := make([]sync.WaitGroup, len(phases))
	for i := range done {
		done[i].Add(cfg.subscribers)
	}
	errc := make(chan error, cfg.subscribers)
	var readers sync.WaitGroup
	defer readers.Wait()
	progress("connecting %d subscribers", cfg.subscribers)
	start, cpu := b.since(), cpuTime()
	for range cfg.subscribers {
		s, err := b.connect(ctx, ends)
		if err != nil {
			return nil, err
		}
		defer s.body.Close()
		readers.Go(func() {
			if err := s.read(func(i int) { done[i].Done() }); err != nil {
				errc <- err
			}
		})
		rep.subs = append(rep.subs, s)
	}
	for range cfg.stalled {
		c, err := b.stall(ctx)
		if err != nil {
			return nil, err
		}
		defer c.Close()
	}

	for i, p := range phases {
		progress("%s: %d events to %d subscribers", p.name, p.events, cfg.subscribers)
		var w *WriterResult
		if p.append {
			start, cpu = b.since(), cpuTime()
			r, err := b.appendPhase(ctx, p.events, p.rate)
			if err != nil {
				return nil, err
			}
			w = &r
		}
		all := make(chan struct{})
		go func() {
			done[i].Wait()
			close(all)
		}()
		select {
		case <-all:
		case err := <-errc:
			return nil, err
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w", p.name, ctx.Err())
		}
		r := b.phaseResult(p, w, rep.subs, i, start)
		r.CPUSeconds = (cpuTime() - cpu).Seconds()
		r.CPUMicrosPerDeliver = r.CPUSeconds * 1e6 / float64(p.events*len(rep.subs))
		rep.Phases = append(rep.Phases, r)
	}
	rep.PeakRSS, rep.PeakRSSAnon = procStatus("VmHWM"), mem.peakAnon()
	rep.PeakHeap = mem.peakHeap.Load()
	return rep, nil
}

func (b *bench) phaseResult(p phase, w *WriterResult, subs []*subscriber, i int, start int64) PhaseResult {
	r := PhaseResult{Name: p.name, Events: p.events, Writer: w}
	var last int64
	rates := make([]float64, 0, len(subs))
	var fromAck, fromSend []time.Duration
	batch := int64(b.cfg.batch)
	lo, hi := (p.first-1)/batch, (p.first-1+int64(p.events))/batch // the phase's batches: [lo, hi)
	for _, s := range subs {
		last = max(last, s.reached[i])
		rates = append(rates, float64(p.events)/time.Duration(s.reached[i]-start).Seconds())
		if !p.append {
			continue
		}
		for _, sm := range s.samples {
			if sm.batch < lo || sm.batch >= hi {
				continue
			}
			d := sm.at - b.ackAt[sm.batch].Load()
			if d < 0 {
				d = 0
				r.BeforeAck++
			}
			fromAck = append(fromAck, time.Duration(d))
			fromSend = append(fromSend, time.Duration(sm.at-b.sentAt[sm.batch].Load()))
		}
	}
	r.DeliverySeconds = time.Duration(last - start).Seconds()
	r.DeliveredPerSec = float64(p.events*len(subs)) / r.DeliverySeconds
	slices.Sort(rates)
	r.PerSubscriberMin, r.PerSubscriberMedian = rates[0], rates[len(rates)/2]
	r.AckLatency, r.SendLatency = latency(fromAck), latency(fromSend)
	return r
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
