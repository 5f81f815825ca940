package httpfront

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestStatsOverHTTP(t *testing.T) {
	base, _ := testServer(t)
	for range 3 {
		do(t, "POST", base+"/streams/s-1", "writer", "w-pw", jsonCT, `[{"eventType":"E","data":{"n":1}},{"eventType":"E","data":{"n":2}}]`)
	}
	do(t, "GET", base+"/streams/s-1", "reader", "r-pw", nil, "")
	r := do(t, "GET", base+"/stats", "reader", "r-pw", nil, "")
	if r.status != 200 {
		t.Fatalf("/stats = %d %s", r.status, r.raw)
	}
	b := r.body
	num := func(path ...string) float64 {
		var v any = b
		for _, p := range path {
			v = v.(map[string]any)[p]
		}
		f, ok := v.(float64)
		if !ok {
			t.Fatalf("/stats %v = %v, not a number: %s", path, v, r.raw)
		}
		return f
	}
	if num("events") != 6 || num("streams") != 1 || num("eventsAppended", "total") != 6 || num("appends", "total") != 3 ||
		num("reads", "total") != 1 || num("eventsRead", "total") < 6 || num("fsync", "count") < 1 ||
		num("logBytes") <= 0 || num("dataBytes") <= 0 || num("uptimeSeconds") <= 0 || b["storeId"] == "" {
		t.Fatalf("/stats = %s", r.raw)
	}
	if num("eventsAppended", "perSecond") <= 0 || num("rateWindowSeconds") <= 0 {
		t.Fatalf("/stats rates = %s", r.raw)
	}
	if num("fsync", "p99Ms") < num("fsync", "p50Ms") || num("fsync", "p99Ms") > num("fsync", "maxMs") {
		t.Fatalf("/stats fsync quantiles = %s", r.raw)
	}
	if b["warming"] != false && b["warming"] != true {
		t.Fatalf("/stats warming = %v", b["warming"])
	}
}

func TestMetricsAreValidPrometheusText(t *testing.T) {
	base, _ := testServer(t)
	do(t, "POST", base+"/streams/s-1", "writer", "w-pw", jsonCT, `[{"eventType":"E","data":{}}]`)
	do(t, "GET", base+"/streams/nope-1", "reader", "r-pw", nil, "")
	status, hdr, body := doRaw(t, "GET", base+"/metrics", "reader", "r-pw", nil, "")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics = %d %s", status, hdr.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	value := func(name string) float64 {
		f, ok := families[name]
		if !ok {
			t.Fatalf("metric %s missing", name)
		}
		m := f.GetMetric()[0]
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
		return 0
	}
	if value("eventsql_head_position") != 1 || value("eventsql_events_appended_total") != 1 || value("eventsql_fsync_duration_seconds") < 1 {
		t.Fatalf("store metrics wrong:\n%s", body)
	}
	for _, name := range []string{"eventsql_log_bytes", "eventsql_index_bytes", "eventsql_streams_read_total", "eventsql_http_request_duration_seconds", "go_goroutines", "process_resident_memory_bytes"} {
		value(name)
	}
	var sawAppend, saw404 bool
	for _, m := range families["eventsql_http_requests_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		sawAppend = sawAppend || (labels["route"] == "POST /streams/{stream}" && labels["code"] == "201")
		saw404 = saw404 || (labels["route"] == "GET /streams/{stream}" && labels["code"] == "404")
	}
	if !sawAppend || !saw404 {
		t.Fatalf("http request counters by route and code missing:\n%s", body)
	}
}

func TestRateTrackerWindow(t *testing.T) {
	var rt rateTracker
	t0 := time.Unix(1000, 0)
	if _, found := rt.observe(counterSample{at: t0}); found {
		t.Fatal("first observation found a base")
	}
	for i := 1; i <= 30; i++ {
		base, found := rt.observe(counterSample{at: t0.Add(time.Duration(i) * time.Second), events: uint64(i * 100)})
		if !found {
			t.Fatalf("observation %d found no base", i)
		}
		age := time.Duration(i)*time.Second - base.at.Sub(t0)
		if i >= 10 && age != rateWindow {
			t.Fatalf("observation %d: base is %v old, want %v", i, age, rateWindow)
		}
	}
	if len(rt.samples) > 12 {
		t.Fatalf("tracker keeps %d samples; want about %v worth", len(rt.samples), rateWindow)
	}
}
