package httpfront

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics holds the server's Prometheus registry (one per server, no
// global state) and the HTTP counters /stats reports too.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	// readRequests counts served GET requests of event routes, for /stats.
	readRequests atomic.Uint64
}

func newMetrics(store Store) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "eventsql", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "eventsql", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "HTTP request latency by route pattern (long-polls and subscriptions included).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "eventsql", Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served, open subscriptions included.",
		}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.inFlight,
		newStoreCollector(store),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeLive exports the live tail's subscriptions.
func (m *metrics) observeLive(l *live) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "eventsql", Subsystem: "sse", Name: "subscriptions",
			Help: "Open Server-Sent Events subscriptions (/subscribe/...).",
		}, func() float64 { return float64(l.subscribers.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "eventsql", Subsystem: "sse", Name: "events_sent_total",
			Help: "Events delivered to subscribers (each subscriber counts).",
		}, func() float64 { return float64(l.delivered.Load()) }))
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// instrument counts and times every request by the pattern that matched
// (bounded label values; "unmatched" for 404s of the mux).
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		m.inFlight.Dec()
		route := r.Pattern
		if route == "" || route == unmatchedPattern {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		if r.Method == http.MethodGet && sw.status < 300 && isReadRoute(route) {
			m.readRequests.Add(1)
		}
	})
}

func isReadRoute(pattern string) bool {
	switch pattern {
	case "", "unmatched", "GET /health/live", "GET /health/ready", "GET /stats", "GET /metrics":
		return false
	}
	return true
}

// statusWriter records the status code. Unwrap lets http.ResponseController
// reach the connection's Flusher and deadlines (Server-Sent Events).
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// storeCollector exports engine statistics, read once per scrape.
type storeCollector struct {
	store Store
	descs map[string]*prometheus.Desc
}

func newStoreCollector(store Store) *storeCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("eventsql_"+name, help, nil, nil)
	}
	return &storeCollector{store: store, descs: map[string]*prometheus.Desc{
		"head":        d("head_position", "Position of the last event (= events ever appended)."),
		"streams":     d("streams", "Streams in the store, deleted ones included."),
		"data":        d("data_bytes", "Bytes of event data and metadata."),
		"log":         d("log_bytes", "Bytes of the log segments."),
		"index":       d("index_bytes", "Disk space of the index."),
		"segments":    d("log_segments", "Log segment files."),
		"appends":     d("appends_total", "Commands applied since start (appends, metadata changes, deletes)."),
		"events":      d("events_appended_total", "Events appended since start."),
		"decoded":     d("events_read_total", "Event records decoded by reads since start (what reads cost)."),
		"streamsRead": d("streams_read_total", "Stream states read by stream listings and lookups since start (what queries of eventsql.streams cost)."),
		"fsync":       d("fsync_duration_seconds", "Latency of the log's fdatasync calls."),
		"uptime":      d("uptime_seconds", "Seconds since the store was opened."),
	}}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.store.Stats()
	gauge := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v)
	}
	counter := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, v)
	}
	gauge("head", float64(st.Events))
	gauge("streams", float64(st.Streams))
	gauge("data", float64(st.DataBytes))
	gauge("log", float64(st.LogBytes))
	gauge("index", float64(st.IndexBytes))
	gauge("segments", float64(st.Segments))
	gauge("uptime", st.Uptime.Seconds())
	counter("appends", float64(st.Appends))
	counter("events", float64(st.EventsAppended))
	counter("decoded", float64(st.EventsDecoded))
	counter("streamsRead", float64(st.StreamsRead))

	h := st.FsyncLatency
	buckets := make(map[float64]uint64, len(h.Counts))
	var cum uint64
	for i, b := range h.Bounds() {
		cum += h.Counts[i]
		buckets[b.Seconds()] = cum
	}
	ch <- prometheus.MustNewConstHistogram(c.descs["fsync"], h.Count(), h.Sum.Seconds(), buckets)
}
