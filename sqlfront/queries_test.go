package sqlfront

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
)

// TestQueryShapes runs what a MySQL user expects of these tables through
// the driver: joins between tables, subqueries, window functions, HAVING,
// JSON functions and prepared statements with several parameters.
func TestQueryShapes(t *testing.T) {
	st, open := testFront(t)
	appendEvents(t, st, "order-1", "OrderPlaced", `{"amount":10,"customer":"ann"}`)
	appendEvents(t, st, "order-2", "OrderPlaced", `{"amount":7,"customer":"bob"}`)
	appendEvents(t, st, "order-3", "OrderPlaced", `{"amount":5,"customer":"ann"}`)
	appendEvents(t, st, "order-1", "PaymentReceived", `{"amount":10,"method":"card"}`)
	appendEvents(t, st, "order-3", "PaymentReceived", `{"amount":2,"method":"cash"}`, `{"amount":3,"method":"card"}`)
	db := open("reader", "r-pw")

	tests := []struct {
		name  string
		query string
		args  []any
		want  string
	}{
		{"join of two types by stream",
			`SELECT o.stream, o.customer, SUM(p.amount) FROM by_type.OrderPlaced o
			 JOIN by_type.PaymentReceived p ON p.stream = o.stream GROUP BY o.stream, o.customer ORDER BY o.stream`, nil,
			"[[order-1 ann 10] [order-3 ann 5]]"},
		{"left join finds unpaid orders",
			`SELECT o.stream FROM by_type.OrderPlaced o LEFT JOIN by_type.PaymentReceived p ON p.stream = o.stream
			 WHERE p.position IS NULL`, nil,
			"[[order-2]]"},
		{"join of events with streams",
			`SELECT e.position, s.event_count FROM events e JOIN streams s ON s.stream = e.stream
			 WHERE e.event_type = 'PaymentReceived' ORDER BY e.position`, nil,
			"[[4 2] [5 3] [6 3]]"},
		{"subquery in WHERE",
			`SELECT stream FROM by_type.OrderPlaced WHERE stream IN
			 (SELECT stream FROM by_type.PaymentReceived WHERE method = 'cash')`, nil,
			"[[order-3]]"},
		{"derived table",
			`SELECT customer, total FROM (SELECT customer, SUM(amount) AS total FROM by_type.OrderPlaced GROUP BY customer) t
			 ORDER BY total DESC`, nil,
			"[[ann 15] [bob 7]]"},
		{"window function",
			`SELECT stream, version, ROW_NUMBER() OVER (PARTITION BY stream ORDER BY position DESC) FROM events
			 WHERE stream = 'order-3' ORDER BY position`, nil,
			"[[order-3 0 3] [order-3 1 2] [order-3 2 1]]"},
		{"running total",
			`SELECT position, SUM(amount) OVER (ORDER BY position) FROM by_type.OrderPlaced ORDER BY position`, nil,
			"[[1 10] [2 17] [3 22]]"},
		{"HAVING",
			`SELECT stream, COUNT(*) FROM events GROUP BY stream HAVING COUNT(*) > 1 ORDER BY stream`, nil,
			"[[order-1 2] [order-3 3]]"},
		{"JSON operators",
			`SELECT data->>'$.customer', JSON_EXTRACT(data, '$.amount') FROM events WHERE data->>'$.customer' = 'bob'`, nil,
			"[[bob 7]]"},
		{"prepared with several parameters",
			`SELECT position FROM events WHERE stream = ? AND event_type = ? AND position > ? ORDER BY position`,
			[]any{"order-3", "PaymentReceived", 5}, "[[6]]"},
		{"ORDER BY and LIMIT",
			`SELECT position FROM events ORDER BY created_at DESC, position DESC LIMIT 2`, nil, "[[6] [5]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(queryStrings(t, db, tt.query, tt.args...)); got != tt.want {
				t.Fatalf("%s\n got %s\nwant %s", tt.query, got, tt.want)
			}
		})
	}
}

// TestLimitStopsTheScan: LIMIT ends the read early; the events decoded
// are bounded by the limit plus a small read-ahead, not the table.
func TestLimitStopsTheScan(t *testing.T) {
	st, open := testFront(t)
	for i := range 100 {
		datas := make([]string, 50)
		for j := range datas {
			datas[j] = fmt.Sprintf(`{"n":%d}`, j)
		}
		appendEvents(t, st, fmt.Sprintf("s-%d", i), "Tick", datas...)
	}
	db := open("reader", "r-pw")
	queryStrings(t, db, "SELECT 1 FROM by_type.Tick LIMIT 1") // infer the schema first
	for _, q := range []string{
		"SELECT * FROM events LIMIT 10",
		"SELECT position, data FROM events WHERE position > 100 LIMIT 10",
		"SELECT * FROM by_type.Tick LIMIT 10",
		"SELECT * FROM events WHERE event_type = 'Tick' LIMIT 10",
	} {
		before := st.Stats().EventsDecoded
		if got := queryStrings(t, db, q); len(got) != 10 {
			t.Fatalf("%s: %d rows", q, len(got))
		}
		n := st.Stats().EventsDecoded - before
		t.Logf("%s decoded %d", q, n)
		if n > 64 {
			t.Errorf("%s decoded %d of 5000 events", q, n)
		}
	}
}

// TestQueriesWhileAppending: queries run while appends go on; every
// answer is consistent with some prefix of the log.
func TestQueriesWhileAppending(t *testing.T) {
	st, open := testFront(t)
	appendEvents(t, st, "warm-0", "Tick", `{"n":0}`)
	db := open("reader", "r-pw")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			evs := []engine.EventData{
				{Type: "Tick", Data: []byte(fmt.Sprintf(`{"n":%d}`, i)), DataIsJSON: true},
				{Type: "Tock", Data: []byte(fmt.Sprintf(`{"n":%d}`, i)), DataIsJSON: true},
			}
			if _, err := st.Append(ctx, fmt.Sprintf("s-%d", i%20), engine.ExpectAny, evs...); err != nil && ctx.Err() == nil {
				t.Error(err)
				return
			}
		}
	}()
	var last uint64
	for range 30 {
		var count, maxPos uint64
		if err := db.QueryRow("SELECT COUNT(*), MAX(position) FROM events").Scan(&count, &maxPos); err != nil {
			t.Fatal(err)
		}
		// Positions are gapless and every event is visible: a scan sees a
		// prefix of the log.
		if count != maxPos || count < last {
			t.Fatalf("COUNT(*) = %d, MAX(position) = %d, previous count %d", count, maxPos, last)
		}
		last = count
		// Appends write a Tick and a Tock together, atomically.
		rows := queryStrings(t, db, "SELECT event_type, COUNT(*) FROM events WHERE stream <> 'warm-0' GROUP BY event_type ORDER BY 1")
		if len(rows) == 2 && rows[0][1] != rows[1][1] {
			t.Fatalf("an append seen in part: %v", rows)
		}
	}
	cancel()
	wg.Wait()
	if last < 2 {
		t.Fatalf("no appends seen: %d", last)
	}
}

// TestReadYourWritesAcrossHTTPAndSQL: an event acknowledged by the HTTP
// API is visible to the very next SQL query, in events and in by_type
// tables (with a column that did not exist before).
func TestReadYourWritesAcrossHTTPAndSQL(t *testing.T) {
	st, open := testFront(t)
	users := httpfront.NewUsers("admin-pw")
	hs := httptest.NewServer(httpfront.New(st, users, httpfront.Options{MaxBodySize: 1 << 20}, slog.New(slog.DiscardHandler), func() bool { return true }).Handler())
	defer hs.Close()
	db := open("reader", "r-pw")
	for i := range 5 {
		body := fmt.Sprintf(`[{"eventType":"Signup","data":{"n":%d,"field%d":"x"}}]`, i, i)
		req, _ := http.NewRequest("POST", hs.URL+"/streams/user-1", strings.NewReader(body))
		req.SetBasicAuth("admin", "admin-pw")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("append: %s", resp.Status)
		}
		if got := queryStrings(t, db, "SELECT COUNT(*) FROM events WHERE stream = 'user-1'"); got[0][0] != fmt.Sprint(i+1) {
			t.Fatalf("after %d appends SQL sees %v", i+1, got)
		}
		col := fmt.Sprintf("field%d", i)
		if got := queryStrings(t, db, fmt.Sprintf("SELECT %s FROM by_type.Signup WHERE n = %d", col, i)); fmt.Sprint(got) != "[[x]]" {
			t.Fatalf("new column %s: %v", col, got)
		}
	}
}
