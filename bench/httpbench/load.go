//go:build linux

package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/eventsql/eventsql/bench/benchfmt"
)

// caller makes one request: call number `call` of its client. It returns
// the events and bytes (NDJSON-equivalent) the request wrote.
type caller func(ctx context.Context, call int) (events, bytes int, err error)

// loadResult is what a closed-loop load measured.
type loadResult struct {
	requests int64
	events   int64
	bytes    int64
	elapsed  time.Duration
	lats     []time.Duration // sorted
}

// drive runs a closed loop: `clients` goroutines, each making requests
// back to back with its own caller until d has elapsed. Call 0 of every
// client is a warm-up made before the clock starts (it opens connections
// and prepares statements) and is not counted. The first error stops all.
func drive(ctx context.Context, clients int, d time.Duration, newCaller func(c int) caller) (loadResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg, ready sync.WaitGroup
		gate      = make(chan struct{})
		deadline  time.Time
		lats      = make([][]time.Duration, clients)
		events    = make([]int64, clients)
		bytes     = make([]int64, clients)
	)
	ready.Add(clients)
	for c := range clients {
		call := newCaller(c)
		wg.Go(func() {
			_, _, err := call(ctx, 0)
			ready.Done()
			if err != nil {
				cancel(fmt.Errorf("client %d warm-up: %w", c, err))
				return
			}
			select {
			case <-gate:
			case <-ctx.Done():
				return
			}
			lats[c] = make([]time.Duration, 0, 1<<14)
			for i := 1; ; i++ {
				t0 := time.Now()
				n, b, err := call(ctx, i)
				now := time.Now()
				if err != nil {
					if ctx.Err() == nil {
						cancel(fmt.Errorf("client %d call %d: %w", c, i, err))
					}
					return
				}
				lats[c] = append(lats[c], now.Sub(t0))
				events[c] += int64(n)
				bytes[c] += int64(b)
				if !now.Before(deadline) {
					return
				}
			}
		})
	}
	ready.Wait()
	start := time.Now()
	deadline = start.Add(d)
	close(gate)
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return loadResult{}, err // a client's error, or the run was interrupted
	}
	r := loadResult{elapsed: elapsed, lats: slices.Concat(lats...)}
	slices.Sort(r.lats)
	r.requests = int64(len(r.lats))
	for c := range clients {
		r.events += events[c]
		r.bytes += bytes[c]
	}
	return r, nil
}

// result turns a load into a system's row.
func (r loadResult) result(system string) SystemResult {
	s := r.elapsed.Seconds()
	res := SystemResult{
		System:       system,
		Events:       r.events,
		Requests:     r.requests,
		Bytes:        r.bytes,
		Seconds:      s,
		EventsPerSec: float64(r.events) / s,
		MBPerSec:     float64(r.bytes) / s / 1e6,
		P50Ms:        ms(benchfmt.Percentile(r.lats, 0.50)),
		P99Ms:        ms(benchfmt.Percentile(r.lats, 0.99)),
	}
	if len(r.lats) > 0 {
		res.MaxMs = ms(r.lats[len(r.lats)-1])
	}
	return res
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
