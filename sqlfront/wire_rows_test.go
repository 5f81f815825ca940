package sqlfront

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/eventsql/eventsql/engine"
)

// fillWireData writes 3000 events that exercise every column type the
// event tables send: by_type fields of every kind with awkward values
// (DOUBLEs MySQL writes in fixed and exponent notation, -0, infinities,
// times with offsets, nanoseconds and four-digit-year edges, strings with
// escapes and non-ASCII text, long strings, nested JSON, fields whose
// kind varies, fields written twice, NULLs, missing fields, data that is
// not an object), data and metadata that are not JSON, events without
// metadata, and streams of several categories (one with no '-', one not
// ASCII).
func fillWireData(t testing.TB, st *engine.Store) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	floats := []string{"0.1", "1e21", "1e-7", "4999950000.0", "-0.0", "123.456", "1.7976931348623157e308",
		"5e-324", "1e15", "1.2345678901234568e17", "2.5", "3", "1e400", "-1e-16"}
	times := []string{"2026-03-01T12:00:00Z", "2026-03-01T12:00:00.123456789+02:00",
		"9999-12-31T23:59:59.999999999Z", "2026-03-01T12:00:00.5-07:30", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z"}
	strs := []string{`"plain"`, `"é ü 日本"`, `"quote\"back\\slash\nnl"`, `"\u0041\u00e9"`, `""`, `"tab\there"`}
	streams := []string{"cat-1", "cat-2", "dog-1", "dog-22", "plain", "café-7", "cat-3"}
	ctx := context.Background()
	pos := 0
	for pos < 3000 {
		var parts []engine.StreamAppend
		for s := 0; s < 5 && pos < 3000; s++ {
			stream := streams[rng.IntN(len(streams))]
			var evs []engine.EventData
			for k := rng.IntN(40) + 1; k > 0 && pos < 3000; k-- {
				pos++
				ev := engine.EventData{Type: "Typed", DataIsJSON: true}
				switch r := rng.IntN(20); {
				case r == 0:
					ev.Type, ev.Data, ev.DataIsJSON = "Raw", []byte(fmt.Sprintf("raw\x00bytes %d \xff", pos)), false
				case r == 1:
					ev.Data = []byte(`[1,2,{"i":3}]`)
				case r == 2:
					ev.Data = []byte(`"just a string"`)
				case r == 3:
					ev.Type = "Other"
					ev.Data = []byte(fmt.Sprintf(`{"n":%d}`, pos))
				case r == 4:
					ev.Data = []byte(`{"i":1,"s":"first","i":2,"s":"last","b":true,"b":null}`)
				case r == 5:
					ev.Data = []byte(fmt.Sprintf(`{"long":"%s"}`, strings.Repeat("x", 300+pos%7)))
				case r == 6:
					// GMS writes years below 1000 with fewer digits, which
					// vitess cannot turn into the binary protocol: only
					// queried over the text protocol.
					ev.Type = "Ancient"
					ev.Data = []byte(`{"t":"` + []string{"0999-01-01T00:00:00Z", "2026-01-01T00:00:00Z"}[pos%2] + `"}`)
				default:
					var f []string
					add := func(k, v string) {
						if rng.IntN(8) > 0 {
							f = append(f, fmt.Sprintf("%q:%s", k, v))
						}
					}
					add("i", []string{fmt.Sprint(pos), fmt.Sprint(-pos), "9223372036854775807", "0", "null"}[rng.IntN(5)])
					add("f", floats[rng.IntN(len(floats))])
					add("b", []string{"true", "false", "null"}[rng.IntN(3)])
					add("t", `"`+times[rng.IntN(len(times))]+`"`)
					add("s", strs[rng.IntN(len(strs))])
					add("j", []string{`{"a":[1,2.50,"x"]}`, `[1,"y"]`, `{}`, `null`}[rng.IntN(4)])
					add("m", []string{`1`, `"x"`, `true`}[rng.IntN(3)])
					add("stream", `"a field named like a column"`)
					ev.Data = []byte("{" + strings.Join(f, ", ") + "}")
				}
				switch rng.IntN(4) {
				case 0:
				case 1:
					ev.Metadata, ev.MetadataIsJSON = []byte("not json \x01"), false
				default:
					ev.Metadata, ev.MetadataIsJSON = []byte(fmt.Sprintf(`{"by":"test","n":%d}`, pos)), true
				}
				evs = append(evs, ev)
			}
			parts = append(parts, engine.StreamAppend{Stream: stream, Expected: engine.ExpectAny, Events: evs})
		}
		if _, err := st.AppendMulti(ctx, parts); err != nil {
			t.Fatal(err)
		}
	}
}

// rawResult is a result as the client received it: column metadata and
// each value's bytes (nil for NULL).
type rawResult struct {
	cols []string
	rows [][]*string
}

// rawQuery runs q with args (through stmt when not nil) and reads every
// value as raw bytes.
func rawQuery(t testing.TB, q queryer, query string, args ...any) (rawResult, error) {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), query, args...)
	if err != nil {
		return rawResult{}, err
	}
	defer rows.Close()
	return readRaw(rows)
}

func readRaw(rows *sql.Rows) (rawResult, error) {
	var r rawResult
	cts, err := rows.ColumnTypes()
	if err != nil {
		return r, err
	}
	for _, c := range cts {
		length, _ := c.Length()
		prec, scale, _ := c.DecimalSize()
		null, _ := c.Nullable()
		r.cols = append(r.cols, fmt.Sprintf("%s %s len=%d dec=%d,%d null=%v scan=%v", c.Name(), c.DatabaseTypeName(), length, prec, scale, null, c.ScanType()))
	}
	err = readRawRows(rows, len(cts), &r, func() {})
	return r, err
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sameResult fails the test when the two results differ, naming the first
// difference.
func sameResult(t testing.TB, what string, fast, slow rawResult) {
	t.Helper()
	if err := diffResults(fast, slow); err != "" {
		t.Fatalf("%s: %s", what, err)
	}
}

// diffResults names the first difference of two results ("" if none).
func diffResults(fast, slow rawResult) string {
	if !slices.Equal(fast.cols, slow.cols) {
		return fmt.Sprintf("columns differ:\nwire values: %q\nGo values:   %q", fast.cols, slow.cols)
	}
	if len(fast.rows) != len(slow.rows) {
		return fmt.Sprintf("%d rows with wire values, %d with Go values", len(fast.rows), len(slow.rows))
	}
	for i := range fast.rows {
		for j := range fast.rows[i] {
			a, b := fast.rows[i][j], slow.rows[i][j]
			if (a == nil) != (b == nil) || (a != nil && *a != *b) {
				return fmt.Sprintf("row %d column %s: wire values sent %s, Go values %s", i, fast.cols[j], show(a), show(b))
			}
		}
	}
	return ""
}

func show(s *string) string {
	if s == nil {
		return "NULL"
	}
	return fmt.Sprintf("%q", *s)
}

// wireFronts serves st twice: with wire values (the default) and with Go
// values only. It returns the two fronts and an opener of connections
// (interpolate: arguments in the query text, else prepared statements).
func wireFronts(t *testing.T, st *engine.Store) (fast, slow *Front, open func(fe *Front, user string, interpolate bool) *sql.DB) {
	t.Helper()
	addrs := map[*Front]string{}
	fast, addr := startFront(t, st, nil)
	addrs[fast] = addr
	slow, addr = startFront(t, st, func(fe *Front) { fe.noWireValues = true })
	addrs[slow] = addr
	return fast, slow, func(fe *Front, user string, interpolate bool) *sql.DB {
		c := mysql.NewConfig()
		c.User, c.Passwd, c.Net, c.Addr, c.DBName = user, "pw", "tcp", addrs[fe], "eventsql"
		c.InterpolateParams = interpolate
		db, err := sql.Open("mysql", c.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// TestWireValuesSendTheSameBytes runs queries on two servers of one store,
// one making rows of wire values for results that go to the client
// untouched and one making rows of Go values only, over the text protocol
// and as prepared statements (binary protocol), and requires the same column metadata and the same bytes for
// every value; it also checks which queries took the wire values.
func TestWireValuesSendTheSameBytes(t *testing.T) {
	st := openStore(t)
	fillWireData(t, st)
	fast, slow, open := wireFronts(t, st)
	type protocol struct {
		name        string
		interpolate bool
		prepare     bool
	}
	protocols := []protocol{{"text", true, false}, {"prepared", false, true}}
	dbs := map[string]*sql.DB{}
	for _, p := range protocols {
		dbs["fast "+p.name] = open(fast, "reader", p.interpolate)
		dbs["slow "+p.name] = open(slow, "reader", p.interpolate)
	}
	stream := func(n int) string { return []string{"cat-1", "dog-22", "plain", "café-7"}[n%4] }
	queries := []struct {
		q    string
		args []any
		wire bool // the result is made of wire values
		text bool // over the text protocol only
	}{
		{"SELECT * FROM events", nil, true, false},
		{"SELECT * FROM events LIMIT ?", []any{0}, false, false}, // reads nothing
		{"SELECT * FROM events LIMIT ?", []any{1}, true, false},
		{"SELECT * FROM events LIMIT ?", []any{127}, true, false},
		{"SELECT * FROM events LIMIT ?", []any{128}, true, false},
		{"SELECT * FROM events LIMIT ?", []any{129}, true, false},
		{"SELECT * FROM events LIMIT ?", []any{511}, true, false},
		{"SELECT * FROM events LIMIT ?", []any{513}, true, false},
		{"SELECT * FROM events LIMIT ?", []any{640}, true, false},
		{"SELECT * FROM events LIMIT ?", []any{641}, true, false},
		{"SELECT * FROM events LIMIT ?", []any{1153}, true, false},
		{"SELECT position, data FROM events", nil, true, false},
		{"SELECT metadata, event_id, created_at FROM events", nil, true, false},
		{"SELECT stream, position, stream FROM events", nil, true, false},
		{"SELECT position AS p, created_at AS c, event_type FROM events e", nil, true, false},
		{"SELECT * FROM events WHERE stream = ?", []any{stream(0)}, true, false},
		{"SELECT * FROM events WHERE stream = ?", []any{stream(3)}, true, false},
		{"SELECT * FROM events WHERE stream IN (?, ?)", []any{stream(1), stream(2)}, true, false},
		{"SELECT * FROM events WHERE event_type = ?", []any{"Raw"}, true, false},
		{"SELECT * FROM events WHERE position BETWEEN ? AND ?", []any{100, 199}, true, false},
		{"SELECT * FROM events WHERE position > ?", []any{2800}, true, false},
		{"SELECT * FROM events WHERE position = ?", []any{77}, true, false},
		{"SELECT * FROM events WHERE created_at >= ?", []any{"2000-01-01"}, false, false},
		{"SELECT * FROM events WHERE version > ? AND stream = ?", []any{3, stream(0)}, false, false},
		{"SELECT * FROM by_type.Typed", nil, true, false},
		{"SELECT * FROM by_type.Typed WHERE position BETWEEN ? AND ?", []any{1000, 1400}, true, false},
		{"SELECT i, f, b, t, s, `long`, j, m, data_stream FROM by_type.Typed", nil, true, false},
		{"SELECT f, t FROM by_type.Typed LIMIT ?", []any{300}, true, false},
		{"SELECT * FROM by_type.Raw", nil, true, false},
		{"SELECT * FROM by_type.Ancient", nil, true, true},
		{"SELECT * FROM by_type.Other WHERE stream = ?", []any{stream(2)}, true, false},
		{"SELECT * FROM by_category.cat", nil, true, false},
		{"SELECT * FROM by_category.dog WHERE stream = ?", []any{"dog-22"}, true, false},
		{"SELECT position, stream FROM by_category.plain", nil, true, false},
		// Not straight from the table: Go values on both.
		{"SELECT * FROM events ORDER BY position DESC LIMIT ?", []any{200}, false, false},
		{"SELECT position + 1, data->>'$.i' FROM events", nil, false, false},
		{"SELECT * FROM events LIMIT ? OFFSET ?", []any{300, 7}, false, false},
		{"SELECT * FROM events WHERE position IN (SELECT position FROM events WHERE stream = ?)", []any{stream(1)}, false, false},
		{"SELECT e.position, s.stream FROM events e JOIN eventsql.streams s ON s.stream = e.stream WHERE e.position < ?", []any{300}, false, false},
		{"SELECT position FROM events WHERE stream = ? UNION ALL SELECT position FROM events WHERE stream = ?", []any{stream(0), stream(1)}, false, false},
		{"SELECT i, COUNT(*) FROM by_type.Typed GROUP BY i", nil, false, false},
	}
	// Four clients at once, each running the text queries in another
	// order: statements share the front's pool of wire value memory.
	want := make([]rawResult, len(queries))
	for i, tc := range queries {
		r, err := rawQuery(t, dbs["slow text"], tc.q, tc.args...)
		if err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		want[i] = r
	}
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := open(fast, "reader", true)
			for k := range queries {
				i := (k*7 + c*5) % len(queries)
				r, err := rawQuery(t, db, queries[i].q, queries[i].args...)
				if err != nil {
					t.Errorf("client %d: %s: %v", c, queries[i].q, err)
					return
				}
				if d := diffResults(r, want[i]); d != "" {
					t.Errorf("client %d: %s: %s", c, queries[i].q, d)
				}
			}
		}()
	}
	wg.Wait()

	for _, p := range protocols {
		for _, tc := range queries {
			if tc.text && p.prepare {
				continue
			}
			what := fmt.Sprintf("%s %s %v", p.name, tc.q, tc.args)
			run := func(fe *Front, db *sql.DB) (rawResult, uint64) {
				before := fe.wireReads.Load()
				var r rawResult
				var err error
				switch {
				case p.prepare:
					stmt, perr := db.Prepare(tc.q)
					if perr != nil {
						t.Fatalf("%s: %v", what, perr)
					}
					r, err = rawQuery(t, stmtQueryer{stmt}, "", tc.args...)
					stmt.Close()
				default:
					r, err = rawQuery(t, db, tc.q, tc.args...)
				}
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				return r, fe.wireReads.Load() - before
			}
			got, wire := run(fast, dbs["fast "+p.name])
			want, slowWire := run(slow, dbs["slow "+p.name])
			sameResult(t, what, got, want)
			if slowWire != 0 {
				t.Fatalf("%s: %d wire reads with wire values off", what, slowWire)
			}
			// Prepared statements (COM_STMT_EXECUTE) take wire values
			// too, converted to the binary protocol.
			if want := tc.wire; (wire > 0) != want {
				t.Errorf("%s: %d reads made wire values, want wire values %v", what, wire, want)
			}
		}
	}
}

// stmtQueryer lets rawQuery run a prepared statement.
func (s stmtQueryer) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return s.stmt.QueryContext(ctx, args...)
}

type stmtQueryer struct{ stmt *sql.Stmt }

// TestWireValuesSessionFeatures checks what GMS does around the rows of
// a read that makes wire values: FOUND_ROWS(), SQL-level PREPARE and
// EXECUTE, and a session whose results are in another character set
// (text must then be converted, so the read makes Go values).
func TestWireValuesSessionFeatures(t *testing.T) {
	st := openStore(t)
	fillWireData(t, st)
	fast, slow, open := wireFronts(t, st)
	ctx := context.Background()
	conns := map[*Front]*sql.Conn{}
	for _, fe := range []*Front{fast, slow} {
		c, err := open(fe, "reader", true).Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[fe] = c
	}
	var inCat1 int
	if err := conns[slow].QueryRowContext(ctx, "SELECT COUNT(*) FROM events WHERE stream = 'cat-1'").Scan(&inCat1); err != nil {
		t.Fatal(err)
	}
	type step struct {
		exec  []string // statements run first
		query string
		found int // FOUND_ROWS() after the query, if > 0
		wire  bool
	}
	for _, s := range []step{
		{query: "SELECT SQL_CALC_FOUND_ROWS * FROM events LIMIT 5", found: 3000, wire: true},
		{query: "SELECT * FROM events WHERE stream = 'cat-1'", found: inCat1, wire: true},
		{query: "SELECT * FROM events LIMIT 700", found: 700, wire: true},
		{exec: []string{"PREPARE s FROM 'SELECT * FROM events WHERE stream = ?'", "SET @st = 'cat-1'"},
			query: "EXECUTE s USING @st", found: inCat1, wire: true},
		{exec: []string{"PREPARE s2 FROM 'SELECT * FROM by_type.Typed LIMIT 1000'"}, query: "EXECUTE s2", wire: true},
		// Text in latin1: GMS converts it (é is one byte); no wire values.
		{exec: []string{"SET character_set_results = latin1"}, query: "SELECT * FROM events", wire: false},
		{query: "SELECT position, stream, i, t, data_stream FROM by_type.Typed", wire: false},
		{exec: []string{"SET character_set_results = utf8mb4"}, query: "SELECT * FROM by_type.Typed", wire: true},
	} {
		var res [2]rawResult
		for i, fe := range []*Front{fast, slow} {
			c := conns[fe]
			for _, e := range s.exec {
				if _, err := c.ExecContext(ctx, e); err != nil {
					t.Fatalf("%s: %v", e, err)
				}
			}
			before := fe.wireReads.Load()
			r, err := rawQuery(t, c, s.query)
			if err != nil {
				t.Fatalf("%s: %v", s.query, err)
			}
			res[i] = r
			if got := fe.wireReads.Load() - before; fe == fast && (got > 0) != s.wire {
				t.Errorf("%s: %d reads made wire values, want wire values %v", s.query, got, s.wire)
			}
			if s.found > 0 {
				var found int
				if err := c.QueryRowContext(ctx, "SELECT FOUND_ROWS()").Scan(&found); err != nil {
					t.Fatal(err)
				}
				if found != s.found {
					t.Errorf("%s: FOUND_ROWS() = %d, want %d", s.query, found, s.found)
				}
			}
		}
		sameResult(t, s.query, res[0], res[1])
		if len(s.exec) > 0 && strings.Contains(s.exec[0], "latin1") {
			latin1 := false
			for _, r := range res[0].rows {
				latin1 = latin1 || *r[1] == "caf\xe9-7"
			}
			if !latin1 {
				t.Errorf("%s with latin1 results: no stream sent as caf\\xe9-7", s.query)
			}
		}
	}
}

// fillBig writes events of ~8 KB (80 MB in all): a SELECT * of them
// fills the socket buffers and the server's hand-offs, so the server
// runs ahead of a client that pauses and stops mid-result.
func fillBig(t testing.TB, st *engine.Store, events int) {
	t.Helper()
	ctx := context.Background()
	for b := 0; b < events/100; b++ {
		evs := make([]engine.EventData, 100)
		for i := range evs {
			n := b*100 + i
			evs[i] = engine.EventData{Type: "Big", DataIsJSON: true,
				Data: fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, n, strings.Repeat(string(rune('a'+n%26)), 8000+n%100))}
		}
		if _, err := st.Append(ctx, fmt.Sprintf("big-%d", b%20), engine.ExpectAny, evs...); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWireValuesWithSlowAndLeavingClients reads a SELECT * of large rows
// through a client that pauses now and then (the server reuses the
// memory of rows it has written while it reads ahead) and compares every
// byte with Go values; then kills such a SELECT * with KILL QUERY while
// the client waits (SHOW PROCESSLIST shows it running), and closes a
// client's connection in the middle of one.
func TestWireValuesWithSlowAndLeavingClients(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 80 MB")
	}
	const events = 10_000
	st := openStore(t)
	fillBig(t, st, events)
	fast, slow, open := wireFronts(t, st)
	ctx := context.Background()

	// A client that pauses every 1000 rows.
	var res [2]rawResult
	for i, fe := range []*Front{fast, slow} {
		rows, err := open(fe, "reader", true).QueryContext(ctx, "SELECT * FROM events")
		if err != nil {
			t.Fatal(err)
		}
		paused := &pausingRows{Rows: rows, every: 1000, pause: 20 * time.Millisecond}
		r, err := paused.read()
		if err != nil {
			t.Fatal(err)
		}
		res[i] = r
	}
	if len(res[0].rows) != events {
		t.Fatalf("%d rows, want %d", len(res[0].rows), events)
	}
	sameResult(t, "SELECT * read with pauses", res[0], res[1])

	reader, admin := open(fast, "reader", true), open(fast, "admin", true)
	victim := func(ctx context.Context) (int64, *sql.Rows) {
		t.Helper()
		conn, err := reader.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		var id int64
		if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
			t.Fatal(err)
		}
		before := fast.wireReads.Load()
		rows, err := conn.QueryContext(ctx, "SELECT * FROM events")
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatalf("no first row: %v", rows.Err())
		}
		if fast.wireReads.Load() == before {
			t.Fatal("SELECT * made no wire values")
		}
		return id, rows
	}

	// KILL QUERY while the client waits. The server stops reading; as
	// rows were sent already, GMS's server (vitess) cannot send ERROR
	// 1317 and drops the connection instead (as with Go values).
	base := st.Stats().EventsDecoded
	id, rows := victim(ctx)
	running := false
	for _, r := range queryStrings(t, admin, "SHOW PROCESSLIST") {
		running = running || r[0] == fmt.Sprint(id) && r[4] == "Query" && r[7] == "SELECT * FROM events"
	}
	if !running {
		t.Fatalf("SHOW PROCESSLIST does not show connection %d running SELECT * FROM events: %v", id, queryStrings(t, admin, "SHOW PROCESSLIST"))
	}
	if _, err := reader.Exec(fmt.Sprintf("KILL QUERY %d", id)); err != nil {
		t.Fatal(err)
	}
	n := 1
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err == nil || n >= events {
		t.Fatalf("killed SELECT * ended with %v after %d rows, want an error before all %d", err, n, events)
	}
	waitGone(t, admin, id)
	if got := st.Stats().EventsDecoded - base; got >= events {
		t.Errorf("the server read all %d events of a killed SELECT *", got)
	}
	t.Logf("killed SELECT * sent %d of %d rows, read %d events", n, events, st.Stats().EventsDecoded-base)

	// The client leaves in the middle of the result.
	base = st.Stats().EventsDecoded
	cctx, cancel := context.WithCancel(ctx)
	id, _ = victim(cctx)
	cancel() // the driver closes the socket
	waitGone(t, admin, id)
	if got := st.Stats().EventsDecoded - base; got >= events {
		t.Errorf("the server read all %d events for a client that left", got)
	}
	r, err := rawQuery(t, reader, "SELECT * FROM events WHERE position BETWEEN 10 AND 20")
	if err != nil || len(r.rows) != 11 {
		t.Fatalf("query after a client left: %d rows, %v", len(r.rows), err)
	}
}

// waitGone waits until connection id's statement is over (its process
// list entry gone).
func waitGone(t *testing.T, admin *sql.DB, id int64) {
	t.Helper()
	for {
		var left int
		if err := admin.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ? AND info LIKE 'SELECT * FROM events%'", id).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pausingRows reads rows, pausing every so many.
type pausingRows struct {
	*sql.Rows
	every int
	pause time.Duration
}

func (p *pausingRows) read() (rawResult, error) {
	defer p.Close()
	var r rawResult
	cols, err := p.Columns()
	if err != nil {
		return r, err
	}
	r.cols = cols
	err = readRawRows(p.Rows, len(cols), &r, func() {
		if len(r.rows)%p.every == 0 {
			time.Sleep(p.pause)
		}
	})
	return r, err
}

// readRawRows appends the rows of rows (cols values each) to r as raw
// bytes (nil for NULL), calling after after each row.
func readRawRows(rows *sql.Rows, cols int, r *rawResult, after func()) error {
	vals := make([]sql.RawBytes, cols)
	ptrs := make([]any, cols)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		row := make([]*string, len(vals))
		for i, v := range vals {
			if v != nil {
				s := string(v)
				row[i] = &s
			}
		}
		r.rows = append(r.rows, row)
		after()
	}
	return rows.Err()
}
