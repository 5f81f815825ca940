package sqlfront

import (
	"context"
	"database/sql"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/eventsql/eventsql/engine"
)

// fillShop appends n events in streams of 10, with JSON data and
// metadata of the size sqlbench's shop events have.
func fillShop(b testing.TB, st *engine.Store, n int) {
	b.Helper()
	ctx := context.Background()
	const batch = 1000
	for done := 0; done < n; done += batch {
		parts := make([]engine.StreamAppend, 0, batch/10)
		for i := done; i < done+batch && i < n; i += 10 {
			evs := make([]engine.EventData, 0, 10)
			for j := i; j < i+10 && j < n; j++ {
				evs = append(evs, engine.EventData{Type: fmt.Sprintf("Type%d", j%7),
					Data: fmt.Appendf(nil, `{"orderId":"order-%d","customer":"c-%d","amount":%d.%02d,"currency":"EUR","items":[{"sku":"s%d","qty":%d}]}`,
						i/10, j%997, j%1000, j%100, j%13, j%5+1),
					DataIsJSON: true, Metadata: fmt.Appendf(nil, `{"source":"bench","correlationId":"corr-%d"}`, j), MetadataIsJSON: true})
			}
			parts = append(parts, engine.StreamAppend{Stream: fmt.Sprintf("order-%d", i/10), Expected: engine.ExpectAny, Events: evs})
		}
		if _, err := st.AppendMulti(ctx, parts); err != nil {
			b.Fatal(err)
		}
	}
}

// interpolating opens a client like sqlbench's: arguments interpolated
// by the driver (one round trip per query), times as text.
func interpolating(b testing.TB, addr string) *sql.DB { return benchClient(b, addr, true) }

// benchClient opens a client of one connection, with arguments
// interpolated by the driver or sent as server-side prepared statements
// (the driver's default: prepare, execute, close).
func benchClient(b testing.TB, addr string, interpolate bool) *sql.DB {
	b.Helper()
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = "reader", "r-pw", "tcp", addr, "eventsql"
	c.InterpolateParams = interpolate
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	return db
}

// drain reads every row as raw bytes and returns how many there were.
func drain(b testing.TB, db *sql.DB, q string, args ...any) int {
	rows, err := db.Query(q, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

// cpuTime is the CPU time this process has used (server and client).
func cpuTime(b testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// settle waits (up to 10 s) until the store's background indexing is
// done: this process idle for 100 ms.
func settle(b testing.TB) {
	for range 100 {
		start := cpuTime(b)
		time.Sleep(100 * time.Millisecond)
		if cpuTime(b)-start < 5*time.Millisecond {
			return
		}
	}
}

// reportCPU reports the CPU time per operation since start: on a shared
// machine a steadier figure than the wall time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkSelect runs sqlbench's point queries and SELECT * of every
// event (200k here) over one interpolating connection, and the point
// queries as server-side prepared statements (-prepared): what a query
// costs the server beyond reading its events (parse, analysis, row
// conversion, goroutines, writes).
func BenchmarkSelect(b *testing.B) {
	const events = 200_000
	st, addr := testFrontAddr(b)
	fillShop(b, st, events)
	db := interpolating(b, addr)
	prepared := benchClient(b, addr, false)
	settle(b)
	for _, c := range []struct {
		suffix string
		db     *sql.DB
	}{{"", db}, {"-prepared", prepared}} {
		b.Run("stream"+c.suffix, func(b *testing.B) {
			defer reportCPU(b, cpuTime(b))
			i := 0
			for b.Loop() {
				if n := drain(b, c.db, "SELECT * FROM events WHERE stream = ?", fmt.Sprintf("order-%d", i*7919%(events/10))); n != 10 {
					b.Fatalf("%d rows, want 10", n)
				}
				i++
			}
		})
		b.Run("range"+c.suffix, func(b *testing.B) {
			defer reportCPU(b, cpuTime(b))
			i := 0
			for b.Loop() {
				lo := 1 + i*7919%(events-100)
				if n := drain(b, c.db, "SELECT * FROM events WHERE position BETWEEN ? AND ?", lo, lo+99); n != 100 {
					b.Fatalf("%d rows, want 100", n)
				}
				i++
			}
		})
	}
	b.Run("all", func(b *testing.B) {
		defer reportCPU(b, cpuTime(b))
		for b.Loop() {
			if n := drain(b, db, "SELECT * FROM events"); n != events {
				b.Fatalf("%d rows, want %d", n, events)
			}
		}
		b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
