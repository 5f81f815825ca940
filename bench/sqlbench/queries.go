package main

import (
	"fmt"
	"math/rand/v2"
)

// A benchQuery is one logical question asked of both systems: the same
// text where the SQL can be the same, eventsql's by_type tables where
// MariaDB needs JSON_VALUE on the data column.
type benchQuery struct {
	name     string
	eventsql string
	mariadb  string
	// args draws the arguments of one execution (nil: none); both
	// systems get the same draws.
	args func(r *rand.Rand) []any
	// reps is the number of timed executions per system (repsFast,
	// repsSlow or repsScan of the config).
	reps repClass
	// ordered results are compared row by row; others as sorted sets.
	ordered bool
	// scan marks SELECT * of everything: rows/s and server memory.
	scan bool
}

type repClass int

const (
	repsFast repClass = iota
	repsSlow
	repsScan
)

// benchQueries are the queries of issue 4, over data from g with n
// events in streams streams.
func benchQueries(g *generator, n, streams int64) []benchQuery {
	randomStream := func(r *rand.Rand) int64 { return r.Int64N(streams) }
	randomOrder := func(r *rand.Rand) int64 {
		for {
			if s := randomStream(r); g.isOrder(s) {
				return s
			}
		}
	}
	const rangeRows, joinWindow = 100, 20_000
	return []benchQuery{{
		name:     "stream lookup (5–100 rows)",
		eventsql: "SELECT * FROM events WHERE stream = ?",
		mariadb:  "SELECT * FROM events WHERE stream = ?",
		args:     func(r *rand.Rand) []any { return []any{g.streamName(randomStream(r))} },
		reps:     repsFast, ordered: true,
	}, {
		name:     "position range (100 rows)",
		eventsql: "SELECT * FROM events WHERE position BETWEEN ? AND ?",
		mariadb:  "SELECT * FROM events WHERE position BETWEEN ? AND ?",
		args: func(r *rand.Rand) []any {
			from := 1 + r.Int64N(max(1, n-rangeRows+1))
			return []any{from, from + rangeRows - 1}
		},
		reps: repsFast, ordered: true,
	}, {
		name:     "COUNT(*)",
		eventsql: "SELECT COUNT(*) FROM events",
		mariadb:  "SELECT COUNT(*) FROM events",
		reps:     repsSlow, ordered: true,
	}, {
		name:     "GROUP BY event_type",
		eventsql: "SELECT event_type, COUNT(*) FROM events GROUP BY event_type",
		mariadb:  "SELECT event_type, COUNT(*) FROM events GROUP BY event_type",
		reps:     repsSlow,
	}, {
		name:     "type filter + SUM(amount)",
		eventsql: "SELECT SUM(amount) FROM by_type.OrderPlaced WHERE currency = 'EUR'",
		mariadb:  "SELECT SUM(JSON_VALUE(data, '$.amount')) FROM events WHERE event_type = 'OrderPlaced' AND JSON_VALUE(data, '$.currency') = 'EUR'",
		reps:     repsSlow, ordered: true,
	}, {
		name: "JOIN orders-payments, one customer",
		eventsql: "SELECT o.stream, o.amount, p.amount, p.method FROM by_type.OrderPlaced o " +
			"JOIN by_type.PaymentReceived p ON p.stream = o.stream WHERE o.customer = ?",
		mariadb: "SELECT o.stream, JSON_VALUE(o.data, '$.amount'), JSON_VALUE(p.data, '$.amount'), JSON_VALUE(p.data, '$.method') FROM events o " +
			"JOIN events p ON p.stream = o.stream AND p.event_type = 'PaymentReceived' " +
			"WHERE o.event_type = 'OrderPlaced' AND JSON_VALUE(o.data, '$.customer') = ?",
		args: func(r *rand.Rand) []any { return []any{fmt.Sprintf("cust-%07d", g.customer(randomOrder(r)))} },
		reps: repsSlow,
	}, {
		name: fmt.Sprintf("JOIN orders-payments, %dk positions", joinWindow/1000),
		eventsql: "SELECT o.stream, o.amount, p.amount, p.method FROM by_type.OrderPlaced o " +
			"JOIN by_type.PaymentReceived p ON p.stream = o.stream WHERE o.position BETWEEN ? AND ?",
		mariadb: "SELECT o.stream, JSON_VALUE(o.data, '$.amount'), JSON_VALUE(p.data, '$.amount'), JSON_VALUE(p.data, '$.method') FROM events o " +
			"JOIN events p ON p.stream = o.stream AND p.event_type = 'PaymentReceived' " +
			"WHERE o.event_type = 'OrderPlaced' AND o.position BETWEEN ? AND ?",
		args: func(r *rand.Rand) []any {
			from := 1 + r.Int64N(max(1, n-joinWindow+1))
			return []any{from, from + joinWindow - 1}
		},
		reps: repsSlow,
	}, {
		name:     "SELECT * (all rows to the client)",
		eventsql: "SELECT * FROM events",
		mariadb:  "SELECT * FROM events",
		reps:     repsScan, ordered: true, scan: true,
	}}
}
