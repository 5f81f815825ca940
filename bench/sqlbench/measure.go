//go:build linux

package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/eventsql/eventsql/bench/benchfmt"
	"github.com/eventsql/eventsql/bench/benchproc"
)

// system is one side of the comparison.
type system struct {
	name string
	db   *sql.DB
	pid  int // server process, for memory
	// warming reports whether the server still warms its caches after
	// start (nil: it has no such phase).
	warming func(context.Context) (bool, error)
}

// sysResult is one system's measurements of one query.
type sysResult struct {
	Durations []time.Duration // timed executions, sorted
	First     time.Duration   // the first (untimed, verifying) execution: cold caches, type inference
	Rows      int64           // rows of all timed executions
	Bytes     int64           // bytes of cell data of all timed executions
	PeakRSS   int64           // scan only: peak VmRSS of the server while the query ran
	PeakAnon  int64           // scan only: peak RssAnon (VmRSS less mapped files) of the server
	HWM       int64           // scan only: the server's VmHWM after the query
	// CPU is the CPU time the server process used over all timed
	// executions (with -inprocess, eventsql's includes the client), from
	// /proc/<pid>/stat: exact in sum but counted in 10 ms ticks.
	CPU time.Duration
	Err error
}

func (r sysResult) p(q float64) time.Duration { return benchfmt.Percentile(r.Durations, q) }

// queryResult is one query on both systems.
type queryResult struct {
	q        benchQuery
	es, md   sysResult
	verified int // argument sets whose results were compared equal
	mismatch error
	loadAvg  string // the machine's 1-minute load average when the query started
}

type runOptions struct {
	reps     map[repClass]int
	verify   int // argument sets compared for queries with arguments
	wantRows int64
	seed     uint64
}

// runQuery verifies q on both systems, then times it on each in turn
// with the same arguments.
func runQuery(ctx context.Context, q benchQuery, es, md system, o runOptions) queryResult {
	res := queryResult{q: q, loadAvg: loadAvg()}
	reps := o.reps[q.reps]
	r := rand.New(rand.NewPCG(o.seed, uint64(len(q.name))))
	argSets := make([][]any, reps)
	for i := range argSets {
		if q.args != nil {
			argSets[i] = q.args(r)
		}
	}
	if !q.scan {
		n := 1
		if q.args != nil {
			n = min(o.verify, reps)
		}
		for i := range n {
			var got, want result
			var d time.Duration
			got, d, res.es.Err = fetch(ctx, es.db, q.eventsql, argSets[i])
			if i == 0 {
				res.es.First = d
			}
			if res.es.Err != nil {
				return res
			}
			want, d, res.md.Err = fetch(ctx, md.db, q.mariadb, argSets[i])
			if i == 0 {
				res.md.First = d
			}
			if res.md.Err != nil {
				return res
			}
			if err := compareResults(got, want, q.ordered); err != nil {
				res.mismatch = fmt.Errorf("arguments %v: %w", argSets[i], err)
				return res
			}
			res.verified++
		}
	}
	if q.scan {
		res.es, res.md = timeScans(ctx, es, md, q, argSets, res.es.First, res.md.First)
	} else {
		res.es, res.md = timeAlternating(ctx, es, md, q, argSets, res.es.First, res.md.First)
	}
	if q.scan && res.es.Err == nil && res.md.Err == nil {
		want := o.wantRows * int64(reps)
		if res.es.Rows != want || res.md.Rows != want {
			res.mismatch = fmt.Errorf("rows: eventsql %d, MariaDB %d, want %d", res.es.Rows, res.md.Rows, want)
		} else {
			res.verified = 1
		}
	}
	return res
}

// timeAlternating runs q once per argument set on each system,
// alternating the systems (and which goes first) so that a change in the
// machine's load during the measurement hits both alike.
func timeAlternating(ctx context.Context, es, md system, q benchQuery, argSets [][]any, esFirst, mdFirst time.Duration) (sysResult, sysResult) {
	res := [2]sysResult{{First: esFirst}, {First: mdFirst}}
	sides := [2]struct {
		s     system
		query string
	}{{es, q.eventsql}, {md, q.mariadb}}
	// The servers are idle but for our queries: each one's CPU over the
	// whole loop is the CPU of its executions.
	cpu0 := [2]time.Duration{cpuTime(es.pid), cpuTime(md.pid)}
	for i, args := range argSets {
		for k := range 2 {
			j := (i + k) % 2
			if res[j].Err != nil {
				continue
			}
			start := time.Now()
			rows, size, err := drain(ctx, sides[j].s.db, sides[j].query, args)
			if err != nil {
				res[j].Err = err
				continue
			}
			res[j].Durations = append(res[j].Durations, time.Since(start))
			res[j].Rows += rows
			res[j].Bytes += size
		}
	}
	res[0].CPU = cpuTime(es.pid) - cpu0[0]
	res[1].CPU = cpuTime(md.pid) - cpu0[1]
	for j := range res {
		slices.Sort(res[j].Durations)
	}
	return res[0], res[1]
}

// timeScans runs q once per argument set on each system, alternating
// run by run as timeAlternating does (a shared, noisy machine slows
// whichever system runs in a bad second), sampling each server's memory
// meanwhile: each sampler reads its own process, so the other system's
// runs do not count.
func timeScans(ctx context.Context, es, md system, q benchQuery, argSets [][]any, firstES, firstMD time.Duration) (sysResult, sysResult) {
	systems := [2]system{es, md}
	queries := [2]string{q.eventsql, q.mariadb}
	res := [2]sysResult{{First: firstES}, {First: firstMD}}
	var samplers [2]*benchproc.RSSSampler
	var cpu0 [2]time.Duration
	for j, s := range systems {
		benchproc.ResetPeakRSS(s.pid)
		samplers[j] = benchproc.SampleRSS(s.pid, 20*time.Millisecond)
		cpu0[j] = cpuTime(s.pid)
	}
	for _, args := range argSets {
		for j, s := range systems {
			if res[j].Err != nil {
				continue
			}
			start := time.Now()
			rows, size, err := drain(ctx, s.db, queries[j], args)
			d := time.Since(start)
			if err != nil {
				res[j].Err = err
				continue
			}
			res[j].Durations = append(res[j].Durations, d)
			res[j].Rows += rows
			res[j].Bytes += size
		}
	}
	for j, s := range systems {
		res[j].CPU = cpuTime(s.pid) - cpu0[j]
		res[j].PeakRSS, res[j].PeakAnon = samplers[j].Stop()
		res[j].HWM = benchproc.StatusBytes(s.pid, "VmHWM")
		slices.Sort(res[j].Durations)
	}
	return res[0], res[1]
}

// drain runs query and reads every row without keeping it.
func drain(ctx context.Context, db *sql.DB, query string, args []any) (rows, size int64, err error) {
	rs, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, 0, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return 0, 0, err
	}
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	for rs.Next() {
		if err := rs.Scan(dest...); err != nil {
			return rows, size, err
		}
		rows++
		for _, c := range raw {
			size += int64(len(c))
		}
	}
	return rows, size, rs.Err()
}

// fetch runs query and returns its rows as text, and the time it took.
func fetch(ctx context.Context, db *sql.DB, query string, args []any) (result, time.Duration, error) {
	start := time.Now()
	rs, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, 0, err
	}
	vals := make([]sql.NullString, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	var out result
	for rs.Next() {
		if err := rs.Scan(dest...); err != nil {
			return nil, 0, err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = nullCell
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		return nil, 0, err
	}
	return out, time.Since(start), nil
}

// cpuTime is the user+system CPU time of process pid (all its threads,
// those that exited included).
func cpuTime(pid int) time.Duration {
	return time.Duration(benchproc.CPUSeconds(pid) * float64(time.Second))
}

// loadAvg is the 1-minute load average: the machine is shared, and a
// figure taken while others ran is worth less.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
