package httpfront

import (
	"net/http"
	"sync"
	"time"
)

// rateWindow is how far back /stats looks to compute per-second rates.
const rateWindow = 10 * time.Second

// counterSample is the cumulative counters at one moment.
type counterSample struct {
	at                                 time.Time
	appends, events, reads, eventsRead uint64
	delivered                          uint64 // events sent to subscribers
}

// rateTracker keeps recent counter samples, taken when /stats is asked
// (at most one a second), so rates need no background goroutine.
type rateTracker struct {
	mu      sync.Mutex
	samples []counterSample // oldest first, spanning about rateWindow
}

// observe records now and returns the sample to compute rates against:
// the newest one at least rateWindow old, else the oldest kept; false
// when there is none yet.
func (t *rateTracker) observe(now counterSample) (counterSample, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	base, found := now, len(t.samples) > 0
	if found {
		base = t.samples[0]
		for _, s := range t.samples {
			if now.at.Sub(s.at) < rateWindow {
				break
			}
			base = s
		}
	}
	if len(t.samples) == 0 || now.at.Sub(t.samples[len(t.samples)-1].at) >= time.Second {
		t.samples = append(t.samples, now)
	}
	// Drop samples older than the base: they can never be chosen again.
	i := 0
	for i < len(t.samples)-1 && t.samples[i+1].at.Sub(base.at) <= 0 {
		i++
	}
	t.samples = t.samples[i:]
	return base, found
}

type rate struct {
	Total     uint64  `json:"total"`
	PerSecond float64 `json:"perSecond"`
}

type statsJSON struct {
	StoreID       string  `json:"storeId"`
	UptimeSeconds float64 `json:"uptimeSeconds"`
	Events        uint64  `json:"events"`
	Streams       uint64  `json:"streams"`
	DataBytes     uint64  `json:"dataBytes"`
	LogBytes      uint64  `json:"logBytes"`
	IndexBytes    uint64  `json:"indexBytes"`
	Segments      int     `json:"segments"`
	// Warming is true while the store warms its caches after opening.
	Warming bool `json:"warming"`
	// Rates are over the last RateWindowSeconds (shorter right after start).
	RateWindowSeconds float64 `json:"rateWindowSeconds"`
	Appends           rate    `json:"appends"`
	EventsAppended    rate    `json:"eventsAppended"`
	Reads             rate    `json:"reads"`
	EventsRead        rate    `json:"eventsRead"`
	Subscriptions     struct {
		Open       int64 `json:"open"`
		EventsSent rate  `json:"eventsSent"`
	} `json:"subscriptions"`
	Fsync struct {
		Count uint64  `json:"count"`
		AvgMs float64 `json:"avgMs"`
		P50Ms float64 `json:"p50Ms"`
		P99Ms float64 `json:"p99Ms"`
		MaxMs float64 `json:"maxMs"`
	} `json:"fsync"`
}

// stats handles GET /stats.
func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	st := s.store.Stats()
	now := counterSample{at: time.Now(), appends: st.Appends, events: st.EventsAppended,
		reads: s.metrics.readRequests.Load(), eventsRead: st.EventsDecoded, delivered: s.tail.delivered.Load()}
	base, found := s.rates.observe(now)
	window := now.at.Sub(base.at)
	if !found || window <= 0 {
		// First sample: average over the uptime.
		base, window = counterSample{}, st.Uptime
	}
	perSec := func(cur, prev uint64) rate {
		r := rate{Total: cur}
		if window > 0 && cur >= prev {
			r.PerSecond = float64(cur-prev) / window.Seconds()
		}
		return r
	}
	out := statsJSON{
		StoreID: st.StoreID, UptimeSeconds: st.Uptime.Seconds(),
		Events: st.Events, Streams: st.Streams, DataBytes: st.DataBytes, LogBytes: st.LogBytes,
		IndexBytes: st.IndexBytes, Segments: st.Segments, Warming: st.Warming,
		RateWindowSeconds: window.Seconds(),
		Appends:           perSec(now.appends, base.appends),
		EventsAppended:    perSec(now.events, base.events),
		Reads:             perSec(now.reads, base.reads),
		EventsRead:        perSec(now.eventsRead, base.eventsRead),
	}
	out.Subscriptions.Open = s.tail.subscribers.Load()
	out.Subscriptions.EventsSent = perSec(now.delivered, base.delivered)
	out.Fsync.Count = st.Fsyncs
	out.Fsync.AvgMs = ms(st.FsyncAvg)
	// Quantiles are interpolated within histogram buckets; never above
	// the largest fsync seen.
	out.Fsync.P50Ms = ms(min(st.FsyncLatency.Quantile(0.50), st.FsyncMax))
	out.Fsync.P99Ms = ms(min(st.FsyncLatency.Quantile(0.99), st.FsyncMax))
	out.Fsync.MaxMs = ms(st.FsyncMax)
	writeJSON(w, http.StatusOK, out)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
