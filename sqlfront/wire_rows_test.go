package sqlfront

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

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
	vals := make([]sql.RawBytes, len(cts))
	ptrs := make([]any, len(cts))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return r, err
		}
		row := make([]*string, len(vals))
		for i, v := range vals {
			if v != nil {
				s := string(v)
				row[i] = &s
			}
		}
		r.rows = append(r.rows, row)
	}
	return r, rows.Err()
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sameResult fails the test when the two results differ, naming the first
// difference.
func sameResult(t testing.TB, what string, fast, slow rawResult) {
	t.Helper()
	if !slices.Equal(fast.cols, slow.cols) {
		t.Fatalf("%s: columns differ:\nwire values: %q\nGo values:   %q", what, fast.cols, slow.cols)
	}
	if len(fast.rows) != len(slow.rows) {
		t.Fatalf("%s: %d rows with wire values, %d with Go values", what, len(fast.rows), len(slow.rows))
	}
	for i := range fast.rows {
		for j := range fast.rows[i] {
			a, b := fast.rows[i][j], slow.rows[i][j]
			if (a == nil) != (b == nil) || (a != nil && *a != *b) {
				t.Fatalf("%s: row %d column %s: wire values sent %s, Go values %s", what, i, fast.cols[j], show(a), show(b))
			}
		}
	}
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
// and as prepared statements (binary protocol), and requires the same
// column metadata and the same bytes for every value; it also checks
// which queries took the wire values.
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
			if (wire > 0) != tc.wire {
				t.Errorf("%s: %d reads made wire values, want wire values %v", what, wire, tc.wire)
			}
		}
	}
}

// stmtQueryer lets rawQuery run a prepared statement.
func (s stmtQueryer) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return s.stmt.QueryContext(ctx, args...)
}

type stmtQueryer struct{ stmt *sql.Stmt }
