package sqlfront

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/eventsql/eventsql/engine"
)

// The tests in this file attack plan templates (plan_templates.go): each
// runs a sequence of queries of one digest with changing literals on a
// server with templates and on one without, over vitess's MySQL client
// (every field of the column metadata, the warning count, SHOW WARNINGS
// and FOUND_ROWS() are compared, not only the values).

// tplPair is one session on the server with templates and one on the
// server without, for the same user.
type tplPair struct {
	fe         *Front
	fast, slow *mysql.Conn
}

// tplServers serves st with and without templates.
type tplServers struct {
	fast, slow         *Front
	fastAddr, slowAddr string // through singleStatements
	fastRaw, slowRaw   string
}

func newTplServers(t *testing.T, st *engine.Store) *tplServers {
	t.Helper()
	fast, fa := startFront(t, st, nil)
	slow, sa := startFront(t, st, func(fe *Front) { fe.noPlanTemplates = true })
	return &tplServers{fast: fast, slow: slow, fastAddr: singleStatements(t, fa), slowAddr: singleStatements(t, sa), fastRaw: fa, slowRaw: sa}
}

// singleStatements proxies connections to addr, clearing
// CLIENT_MULTI_STATEMENTS in the client's handshake response: vitess's
// client always asks for it, and the server parses the statements of
// such a connection itself (no plan templates), as it must for
// "SELECT 1; SELECT 2".
func singleStatements(t *testing.T, addr string) string {
	return singleStatementsCounting(t, addr, new(atomic.Int64))
}

// singleStatementsCounting is singleStatements counting the bytes the
// server sends in sent.
func singleStatementsCounting(t *testing.T, addr string, sent *atomic.Int64) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer s.Close()
				go func() {
					io.Copy(countingWriter{c, sent}, s)
					c.Close() // the server closed: so does the client's side
				}()
				var hdr [4]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				body := make([]byte, int(hdr[0])|int(hdr[1])<<8|int(hdr[2])<<16)
				if _, err := io.ReadFull(c, body); err != nil {
					return
				}
				if len(body) >= 4 {
					body[2] &^= 0x01 // CLIENT_MULTI_STATEMENTS, 1<<16
				}
				if _, err := s.Write(append(hdr[:], body...)); err != nil {
					return
				}
				io.Copy(s, c)
			}()
		}
	}()
	return l.Addr().String()
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func vconn(t *testing.T, addr, user, db string, flags uint64) *mysql.Conn {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	c, err := mysql.Connect(context.Background(), &mysql.ConnParams{Host: host, Port: p, Uname: user, Pass: "pw", DbName: db, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func (s *tplServers) pair(t *testing.T, user, db string) *tplPair {
	t.Helper()
	return &tplPair{fe: s.fast, fast: vconn(t, s.fastAddr, user, db, 0), slow: vconn(t, s.slowAddr, user, db, 0)}
}

// outcome is everything a client sees of a statement.
func outcome(c *mysql.Conn, q string) string {
	r, warns, err := c.ExecuteFetchWithWarningCount(q, 1<<20, true)
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, f := range r.Fields {
		fmt.Fprintf(&b, "field %s type=%v table=%q orgtable=%q db=%q orgname=%q len=%d charset=%d dec=%d flags=%d\n",
			f.Name, f.Type, f.Table, f.OrgTable, f.Database, f.OrgName, f.ColumnLength, f.Charset, f.Decimals, f.Flags)
	}
	for _, row := range r.Rows {
		b.WriteString(rowText(row))
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "rows affected=%d warnings=%d\n", r.RowsAffected, warns)
	return b.String()
}

func rowText(row []sqltypes.Value) string {
	parts := make([]string, len(row))
	for i, v := range row {
		if v.IsNull() {
			parts[i] = "NULL"
		} else {
			parts[i] = strconv.Quote(v.ToString())
		}
	}
	return strings.Join(parts, ",")
}

// what follows a statement in a comparison.
const (
	afterWarnings  = "SHOW WARNINGS"
	afterFoundRows = "SELECT FOUND_ROWS()"
)

// same runs q on both sessions, then after (a statement that shows state
// q left), and fails unless the two see the same. It returns whether the
// server with templates planned q from one.
func (p *tplPair) same(t *testing.T, q, after string) bool {
	t.Helper()
	before := p.fe.plans.hits.Load()
	a := outcome(p.fast, q)
	hit := p.fe.plans.hits.Load() != before
	b := outcome(p.slow, q)
	if a != b {
		t.Fatalf("%s (from a template: %v):\nwith templates:\n%s\nwithout:\n%s", q, hit, clip(a), clip(b))
	}
	if after != "" {
		a, b = outcome(p.fast, after), outcome(p.slow, after)
		if a != b {
			t.Fatalf("%s after %s (from a template: %v):\nwith templates:\n%s\nwithout:\n%s", after, q, hit, clip(a), clip(b))
		}
	}
	return hit
}

// clip shortens an outcome for a failure message.
func clip(s string) string {
	if len(s) > 1500 {
		return s[:700] + "\n...\n" + s[len(s)-700:]
	}
	return s
}

// exec runs a statement on both sessions; it must do the same on both.
func (p *tplPair) exec(t *testing.T, q string) {
	t.Helper()
	a, b := outcome(p.fast, q), outcome(p.slow, q)
	if a != b {
		t.Fatalf("%s:\nwith templates:\n%s\nwithout:\n%s", q, a, b)
	}
}

// tplAttack is a query with %s places and the literal texts to put in
// them, in order.
type tplAttack struct {
	query string
	lits  [][]string
}

func (a tplAttack) run(t *testing.T, p *tplPair, after string) int {
	t.Helper()
	hits := 0
	for _, l := range a.lits {
		args := make([]any, len(l))
		for i := range l {
			args[i] = l[i]
		}
		if p.same(t, fmt.Sprintf(a.query, args...), after) {
			hits++
		}
	}
	return hits
}

// lits1 makes one-literal sequences.
func lits1(vals ...string) [][]string {
	out := make([][]string, len(vals))
	for i, v := range vals {
		out[i] = []string{v}
	}
	return out
}

// TestPlanTemplatesAttackLiterals: literal forms and values that a
// template may fill in where the analyzer would plan differently.
func TestPlanTemplatesAttackLiterals(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	s := newTplServers(t, st)
	for _, a := range []tplAttack{
		// Charset introducers and other prefixes of string literals.
		{"SELECT position, stream FROM events WHERE stream = _latin1%s", lits1("'cat-1'", "'cat-2'", "'dog-1'", "'café-7'", "'cat-1'", "'café-7'")},
		{"SELECT position, stream FROM events WHERE stream = _latin1 %s", lits1("'cat-1'", "'cat-2'", "'dog-1'", "'café-7'", "'café-7'")},
		{"SELECT position, stream FROM events WHERE stream = N%s", lits1("'cat-1'", "'cat-2'", "'dog-1'", "'café-7'", "'café-7'")},
		{"SELECT position, stream FROM events WHERE stream = _binary%s", lits1("'cat-1'", "'cat-2'", "'dog-1'", "'café-7'", "'café-7'")},
		{"SELECT position, stream FROM events WHERE stream = X%s", lits1("''", "'00'", "'636174'", "'636174'")},
		{"SELECT position, stream FROM events WHERE stream = _utf8mb4%s COLLATE utf8mb4_0900_ai_ci", lits1("'cat-1'", "'CAT-2'", "'dog-1'", "'DOG-1'", "'café-7'")},
		{"SELECT position, stream FROM events WHERE stream = %s COLLATE utf8mb4_0900_ai_ci", lits1("'cat-1'", "'CAT-2'", "'dog-1'", "'DOG-1'", "'café-7'")},
		// Strings compared with numbers.
		{"SELECT position FROM events WHERE position = %s", lits1("'5'", "'6'", "'7'", "'5abc'", "' 5'", "''", "'abc'", "'1e3'", "'-1'", "'18446744073709551616'", "'0x10'", "'5.5'", "'2999.9999999999999999'")},
		{"SELECT position FROM events WHERE position > %s AND position < 20", lits1("'5'", "'6'", "'7'", "'5abc'", "'abc'", "'1e1'", "'-1'", "'18446744073709551616'", "'5.5'", "'  '", "'Infinity'", "'NaN'")},
		{"SELECT position FROM events WHERE version = %s AND stream = 'cat-1'", lits1("'1'", "'2'", "'3'", "'x'", "'1.0'", "'-0'", "''")},
		// Numbers compared with strings.
		{"SELECT position FROM events WHERE stream = 'cat-1' AND event_type = %s", lits1("0", "1", "2", "3")},
		{"SELECT position FROM events WHERE position < 50 AND stream = %s", lits1("0", "1", "2", "3")},
		// Datetimes as strings.
		{"SELECT position FROM events WHERE created_at >= %s LIMIT 3", lits1("'2000-01-01'", "'2000-01-02'", "'2000-01-03'", "'garbage'", "'2026-13-01'", "'0000-00-00'", "''", "'2026-01-01T00:00:00Z'", "'20260101'", "'2026-02-30 10:00:00'", "'9999-12-31 23:59:59.9999999'", "'2000-01-01 25:00:00'")},
		{"SELECT position FROM events WHERE created_at < %s LIMIT 3", lits1("'2999-01-01'", "'2999-01-02'", "'2999-01-03'", "'garbage'", "'0000-00-00'", "''", "'1969-12-31'", "'2026-02-30'")},
		{"SELECT position FROM events WHERE created_at = %s", lits1("'2000-01-01'", "'2000-01-02'", "'2000-01-03'", "'x'", "''")},
		// Integers at type boundaries (one class a digest) and LIMIT.
		{"SELECT position FROM events WHERE position > %s LIMIT 3", lits1("9223372036854775808", "9223372036854775809", "18446744073709551615", "18446744073709551614")},
		{"SELECT position FROM events WHERE position <= %s AND position >= 2990", lits1("9223372036854775807", "2147483648", "4294967296", "9223372036854775806")},
		{"SELECT position FROM events WHERE stream = 'cat-1' ORDER BY position DESC LIMIT %s", lits1("1", "2", "3", "0", "0", "127", "100")},
		{"SELECT position FROM events WHERE stream = 'cat-1' LIMIT %s", lits1("1", "2", "3", "0", "0", "127")},
		{"SELECT position FROM events WHERE stream = 'cat-1' ORDER BY position LIMIT %s OFFSET 2", lits1("1", "3", "4", "0", "100")},
		{"SELECT position FROM events WHERE stream = 'cat-1' ORDER BY position LIMIT 3 OFFSET %s", lits1("1", "2", "4", "0", "100")},
		{"SELECT position FROM events WHERE stream = 'cat-1' ORDER BY position LIMIT %s, 4", lits1("1", "2", "3", "0", "100")},
		{"SELECT position FROM events WHERE stream = 'cat-1' ORDER BY position LIMIT 4, %s", lits1("1", "2", "3", "0", "100")},
		// Empty and reversed ranges.
		{"SELECT position FROM events WHERE position BETWEEN %s AND %s", [][]string{{"10", "20"}, {"11", "21"}, {"12", "22"}, {"20", "10"}, {"0", "0"}, {"5", "5"}, {"120", "1"}}},
		{"SELECT position FROM events WHERE position >= %s AND position <= %s", [][]string{{"10", "20"}, {"11", "21"}, {"12", "22"}, {"20", "10"}, {"0", "0"}, {"5", "5"}, {"120", "1"}}},
		// Literals as conditions.
		{"SELECT position FROM events WHERE stream = 'cat-1' AND %s", lits1("'x'", "'y'", "'z'", "'1'", "'0'", "'1abc'", "''", "' 1'")},
		{"SELECT position FROM events WHERE stream = 'cat-1' AND %s", lits1("2", "3", "4", "1", "0", "5")},
		{"SELECT position FROM events WHERE stream = 'cat-1' OR %s", lits1("'x'", "'y'", "'z'", "'1'", "'0'")},
		{"SELECT position FROM events WHERE stream = 'cat-1' AND position > 3 OR %s", lits1("'x'", "'y'", "'z'", "'1'", "'0'")},
		{"SELECT position FROM events WHERE stream = 'cat-1' AND %s = %s", [][]string{{"1", "2"}, {"3", "4"}, {"5", "6"}, {"7", "7"}, {"8", "9"}}},
		{"SELECT position FROM events WHERE stream = 'cat-1' AND %s < %s", [][]string{{"'a'", "'b'"}, {"'c'", "'d'"}, {"'e'", "'f'"}, {"'z'", "'a'"}, {"'b'", "'B'"}}},
		{"SELECT position FROM events WHERE stream = %s AND %s", [][]string{{"'cat-1'", "'a'"}, {"'cat-2'", "'b'"}, {"'dog-1'", "'c'"}, {"'cat-1'", "'1'"}, {"'cat-2'", "'0'"}}},
		// Adjacent strings (concatenated) and aliases that are strings.
		{"SELECT position FROM events WHERE stream = %s %s", [][]string{{"'cat-1'", "''"}, {"'cat-2'", "''"}, {"'dog-1'", "''"}, {"'cat'", "'-1'"}, {"'cat-'", "'2'"}, {"''", "'cat-3'"}}},
		{"SELECT position AS %s FROM events WHERE stream = %s", [][]string{{"'p'", "'cat-1'"}, {"'q'", "'cat-2'"}, {"'r'", "'dog-1'"}, {"'cat-1'", "'cat-1'"}, {"'s'", "'cat-2'"}}},
		{"SELECT position %s FROM events WHERE stream = %s", [][]string{{"'p'", "'cat-1'"}, {"'q'", "'cat-2'"}, {"'r'", "'dog-1'"}, {"'cat-1'", "'cat-1'"}, {"'s'", "'cat-2'"}}},
		{"SELECT position FROM events WHERE stream = %s ORDER BY %s LIMIT 3", [][]string{{"'cat-1'", "1"}, {"'cat-2'", "2"}, {"'dog-1'", "3"}, {"'cat-1'", "1"}, {"'cat-2'", "5"}}},
		{"SELECT position, stream FROM events WHERE position > %s ORDER BY %s LIMIT 3", [][]string{{"100", "1"}, {"101", "2"}, {"102", "1"}, {"103", "2"}, {"104", "3"}, {"105", "0"}}},
		// Unicode and empty strings.
		{"SELECT position FROM events WHERE stream = %s", lits1("'cat-1'", "'cat-2'", "'dog-1'", "''", "'café-7'", "'cafe\u0301-7'", "'CAT-1'", "'cat-1 '", "'日本'", "'\U0001F600'", "'a\x00b'", "'tab\there'", "'nl\nhere'", "'\u00a0'")},
	} {
		t.Run("", func(t *testing.T) {
			p := s.pair(t, "reader", "eventsql")
			hits := a.run(t, p, afterWarnings)
			t.Logf("%d of %d from a template: %s", hits, len(a.lits), a.query)
		})
	}
}

// tplStep is a step of a stateful attack: a query compared on both
// servers (q), a statement run on both sessions (exec), or a change to
// the store (do).
type tplStep struct {
	q, exec string
	do      func()
}

func runSteps(t *testing.T, p *tplPair, after string, steps []tplStep) int {
	t.Helper()
	hits := 0
	for _, s := range steps {
		switch {
		case s.do != nil:
			s.do()
		case s.exec != "":
			p.exec(t, s.exec)
		default:
			if p.same(t, s.q, after) {
				hits++
			}
		}
	}
	return hits
}

// qs makes query steps of a query with one %s place.
func qs(query string, vals ...string) []tplStep {
	out := make([]tplStep, len(vals))
	for i, v := range vals {
		out[i] = tplStep{q: fmt.Sprintf(query, v)}
	}
	return out
}

func steps(parts ...any) []tplStep {
	var out []tplStep
	for _, p := range parts {
		switch p := p.(type) {
		case []tplStep:
			out = append(out, p...)
		case tplStep:
			out = append(out, p)
		case string:
			out = append(out, tplStep{exec: p})
		case func():
			out = append(out, tplStep{do: p})
		default:
			panic(fmt.Sprintf("step %T", p))
		}
	}
	return out
}

// TestPlanTemplatesAttackSession: session state that changes results
// between queries of one digest.
func TestPlanTemplatesAttackSession(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	s := newTplServers(t, st)
	warm := func(q string) []tplStep { return qs(q, "'cat-1'", "'cat-2'", "'dog-1'", "'plain'") }
	for _, c := range []struct {
		user, db, after string
		steps           []tplStep
	}{
		{"reader", "eventsql", afterWarnings, steps(warm("SELECT * FROM events WHERE stream = %s LIMIT 3"),
			"SET character_set_results = latin1", qs("SELECT * FROM events WHERE stream = %s LIMIT 3", "'café-7'", "'cat-1'"),
			"SET character_set_results = binary", qs("SELECT * FROM events WHERE stream = %s LIMIT 3", "'café-7'", "'cat-1'"),
			"SET character_set_results = NULL", qs("SELECT * FROM events WHERE stream = %s LIMIT 3", "'café-7'", "'cat-1'"))},
		{"reader", "eventsql", afterWarnings, steps(warm("SELECT created_at, position FROM events WHERE stream = %s LIMIT 3"),
			"SET time_zone = '+05:00'", qs("SELECT created_at, position FROM events WHERE stream = %s LIMIT 3", "'café-7'", "'cat-1'", "'dog-22'", "'cat-3'"))},
		{"reader", "eventsql", afterWarnings, steps(qs("SELECT position FROM events WHERE created_at >= %s LIMIT 3", "'2000-01-01'", "'2000-01-02'", "'2000-01-03'", "'2000-01-04'"),
			"SET time_zone = '+05:00'", qs("SELECT position FROM events WHERE created_at >= %s LIMIT 3", "'2000-01-01'", "'2000-01-05'", "'2000-01-06'"),
			"SET time_zone = 'SYSTEM'", qs("SELECT position FROM events WHERE created_at >= %s LIMIT 3", "'2000-01-01'", "'2000-01-05'"))},
		{"reader", "eventsql", afterWarnings, steps(warm("SELECT position FROM events WHERE stream = %s"),
			"SET collation_connection = utf8mb4_0900_ai_ci", qs("SELECT position FROM events WHERE stream = %s", "'CAT-1'", "'cat-1'", "'Cat-2'", "'DOG-1'", "'café-7'"),
			"SET NAMES utf8mb4 COLLATE utf8mb4_0900_ai_ci", qs("SELECT position FROM events WHERE stream = %s", "'CAT-1'", "'cat-1'", "'Cat-2'", "'DOG-1'"),
			"SET NAMES utf8mb3", qs("SELECT position FROM events WHERE stream = %s", "'CAT-1'", "'cat-1'", "'Cat-2'", "'DOG-1'"),
			"SET NAMES latin1", qs("SELECT position FROM events WHERE stream = %s", "'CAT-1'", "'cat-1'", "'Cat-2'", "'DOG-1'"))},
		{"reader", "eventsql", afterWarnings, steps(warm("SELECT position FROM events WHERE stream = %s"),
			"SET sql_select_limit = 1", warm("SELECT position FROM events WHERE stream = %s"),
			"SET sql_select_limit = 2", warm("SELECT position FROM events WHERE stream = %s"),
			"SET sql_select_limit = DEFAULT", warm("SELECT position FROM events WHERE stream = %s"))},
		{"reader", "eventsql", afterWarnings, steps(warm("SELECT position FROM events WHERE stream = %s"),
			"SET sql_mode = 'PAD_CHAR_TO_FULL_LENGTH'", warm("SELECT position FROM events WHERE stream = %s"),
			"SET sql_mode = 'ANSI'", warm("SELECT position FROM events WHERE stream = %s"),
			"SET autocommit = 0", warm("SELECT position FROM events WHERE stream = %s"),
			"BEGIN", warm("SELECT position FROM events WHERE stream = %s"), "COMMIT",
			"SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE", warm("SELECT position FROM events WHERE stream = %s"))},
		// FOUND_ROWS after each query.
		{"reader", "eventsql", afterFoundRows, steps(warm("SELECT position FROM events WHERE stream = %s ORDER BY position LIMIT 2"),
			warm("SELECT SQL_CALC_FOUND_ROWS position FROM events WHERE stream = %s ORDER BY position LIMIT 2"),
			warm("SELECT SQL_CALC_FOUND_ROWS position FROM events WHERE stream = %s LIMIT 2"),
			warm("SELECT SQL_CALC_FOUND_ROWS position FROM events WHERE stream = %s ORDER BY position DESC LIMIT 3, 2"),
			warm("SELECT SQL_CALC_FOUND_ROWS position FROM events WHERE stream = %s LIMIT 0"),
			warm("SELECT position FROM events WHERE stream = %s LIMIT 0"),
			warm("SELECT position FROM events WHERE stream = %s"),
			qs("SELECT SQL_CALC_FOUND_ROWS position FROM events WHERE stream = 'cat-1' ORDER BY position LIMIT %s", "1", "2", "3", "4", "0"),
			qs("SELECT SQL_CALC_FOUND_ROWS position FROM events WHERE stream = 'cat-1' ORDER BY position LIMIT 3 OFFSET %s", "1", "2", "3", "4", "0", "100"),
		)},
		// Other modifiers and names.
		{"reader", "eventsql", afterWarnings, steps(
			warm("SELECT DISTINCT event_type FROM events WHERE stream = %s"),
			warm("SELECT SQL_NO_CACHE position FROM events WHERE stream = %s LIMIT 2"),
			warm("SELECT HIGH_PRIORITY position FROM events WHERE stream = %s LIMIT 2"),
			warm("SELECT STRAIGHT_JOIN position FROM events WHERE stream = %s LIMIT 2"),
			warm("SELECT ALL position FROM events WHERE stream = %s LIMIT 2"),
			warm("SELECT position AS p, stream AS `s` FROM events AS e WHERE e.stream = %s LIMIT 2"),
			warm("SELECT e.position p FROM eventsql.events e WHERE e.stream = %s LIMIT 2"),
			warm("SELECT eventsql.events.position FROM eventsql.events WHERE eventsql.events.stream = %s LIMIT 2"),
			warm("SELECT events.* FROM events WHERE stream = %s LIMIT 2"),
			warm("SELECT *, position FROM events WHERE stream = %s LIMIT 2"),
			warm("SELECT position, position FROM events WHERE stream = %s LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s ORDER BY stream, position DESC LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s ORDER BY 1 DESC LIMIT 2"),
			warm("SELECT position, version FROM events WHERE stream = %s GROUP BY position, version LIMIT 2"),
			warm("SELECT position, version FROM events WHERE stream = %s HAVING version > 3 LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s WINDOW w AS ()"),
			warm("SELECT position FROM events USE INDEX (stream) WHERE stream = %s LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND NOT position > 100 LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND position IS NOT NULL LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND data IS NULL LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND TRUE LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s OR FALSE LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s XOR stream = 'x' LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND position = position LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND stream = stream LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND version >= version LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND `position` = version LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND position DIV 2 = 3 LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND position MOD 2 = 1 LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND position * 2 = 10 LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND version IS TRUE LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND stream = BINARY stream LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = BINARY %s LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND event_type = DATE '2020-01-01' LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND created_at > TIMESTAMP '2020-01-01 00:00:00' LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND created_at > CURRENT_TIMESTAMP LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND created_at < NOW LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND position < $maxCount LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND position < UTC_TIMESTAMP LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND created_at < CURRENT_DATE LIMIT 2"),
			warm("SELECT CURRENT_USER FROM events WHERE stream = %s LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s AND position < CONNECTION_ID LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s LIMIT 2 LOCK IN SHARE MODE"),
			warm("SELECT position FROM events e, events f WHERE e.stream = %s LIMIT 2"),
			warm("SELECT position FROM events JOIN streams USING (stream) WHERE stream = %s LIMIT 2"),
			warm("SELECT position FROM events NATURAL JOIN streams WHERE stream = %s LIMIT 2"),
			warm("SELECT * FROM streams WHERE stream = %s LIMIT 2"),
			warm("SELECT * FROM information_schema.tables WHERE table_name = %s LIMIT 2"),
			warm("SELECT position FROM events WHERE stream = %s INTO @x"),
			warm("SELECT position FROM events WHERE stream = %s INTO DUMPFILE '/tmp/x'"),
		)},
	} {
		t.Run("", func(t *testing.T) {
			p := s.pair(t, c.user, c.db)
			hits := runSteps(t, p, c.after, c.steps)
			t.Logf("%d of %d from a template", hits, len(c.steps))
		})
	}
}

// TestPlanTemplatesAttackStore: changes to the store between queries of
// one digest (new events, stream metadata that hides events, deleted
// streams, new fields and types) must show in queries planned from a
// template.
func TestPlanTemplatesAttackStore(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	s := newTplServers(t, st)
	ctx := context.Background()
	add := func(stream, typ, data string) func() {
		return func() {
			if _, err := st.Append(ctx, stream, engine.ExpectAny, engine.EventData{Type: typ, Data: []byte(data), DataIsJSON: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	meta := func(stream string, m engine.StreamMetadata) func() {
		return func() {
			if err := st.SetStreamMetadata(ctx, stream, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	del := func(stream string, hard bool) func() {
		return func() {
			if err := st.DeleteStream(ctx, stream, engine.ExpectAny, hard); err != nil {
				t.Fatal(err)
			}
		}
	}
	four := func(q string, vals ...string) []tplStep {
		if len(vals) == 0 {
			vals = []string{"'acc-1'", "'acc-2'", "'acc-1'", "'acc-2'"}
		}
		return qs(q, vals...)
	}
	for _, c := range []struct {
		user, db string
		steps    []tplStep
	}{
		{"reader", "eventsql", steps(add("acc-1", "Opened", `{"a":1}`), add("acc-2", "Opened", `{"a":2}`),
			four("SELECT position, version, event_type FROM events WHERE stream = %s"),
			four("SELECT * FROM by_type.Opened WHERE stream = %s"),
			four("SELECT * FROM by_type.opened WHERE stream = %s"),
			four("SELECT * FROM by_type.OPENED WHERE stream = %s"),
			four("SELECT * FROM by_category.acc WHERE stream = %s"),
			four("SELECT position FROM events WHERE event_type = %s", "'Opened'", "'opened'", "'Opened'", "'OPENED'"),
			add("acc-1", "Opened", `{"a":3}`), add("acc-1", "Opened", `{"a":4}`), add("acc-1", "Opened", `{"a":5}`),
			four("SELECT position, version, event_type FROM events WHERE stream = %s"),
			four("SELECT * FROM by_type.Opened WHERE stream = %s"),
			four("SELECT * FROM by_category.acc WHERE stream = %s"),
			meta("acc-1", engine.StreamMetadata{MaxCount: 2}),
			four("SELECT position, version, event_type FROM events WHERE stream = %s"),
			four("SELECT * FROM by_type.Opened WHERE stream = %s"),
			four("SELECT * FROM by_type.opened WHERE stream = %s"),
			four("SELECT * FROM by_category.acc WHERE stream = %s"),
			four("SELECT position FROM events WHERE event_type = %s", "'Opened'", "'opened'", "'Opened'", "'OPENED'"),
			meta("acc-1", engine.StreamMetadata{TruncateBefore: 4}),
			four("SELECT position, version, event_type FROM events WHERE stream = %s"),
			four("SELECT * FROM by_type.Opened WHERE stream = %s"),
			four("SELECT position FROM events WHERE event_type = %s", "'Opened'", "'opened'", "'Opened'", "'OPENED'"),
			add("acc-2", "opened", `{"lower":1}`),
			four("SELECT position, version, event_type FROM events WHERE stream = %s"),
			four("SELECT * FROM by_type.Opened WHERE stream = %s"),
			four("SELECT * FROM by_type.opened WHERE stream = %s"),
			four("SELECT * FROM by_type.OPENED WHERE stream = %s"),
			four("SELECT position FROM events WHERE event_type = %s", "'Opened'", "'opened'", "'Opened'", "'OPENED'"),
			add("acc-2", "OPENED", `{"upper":1}`),
			four("SELECT * FROM by_type.OPENED WHERE stream = %s"),
			four("SELECT * FROM by_type.Opened WHERE stream = %s"),
			add("acc-2", "Opened", `{"a":"now text","b":[1]}`),
			four("SELECT * FROM by_type.Opened WHERE stream = %s"),
			four("SELECT a FROM by_type.Opened WHERE stream = %s"),
			del("acc-2", false),
			four("SELECT position, version, event_type FROM events WHERE stream = %s"),
			four("SELECT * FROM by_type.Opened WHERE stream = %s"),
			four("SELECT * FROM by_type.opened WHERE stream = %s"),
			four("SELECT * FROM by_category.acc WHERE stream = %s"),
			add("acc-2", "Opened", `{"a":9}`),
			four("SELECT position, version, event_type FROM events WHERE stream = %s"),
			four("SELECT * FROM by_type.Opened WHERE stream = %s"),
			del("acc-2", true),
			four("SELECT position, version, event_type FROM events WHERE stream = %s"),
			four("SELECT * FROM by_type.Opened WHERE stream = %s"),
			four("SELECT * FROM by_type.opened WHERE stream = %s"),
			four("SELECT * FROM by_category.acc WHERE stream = %s"),
			four("SELECT position FROM events WHERE event_type = %s", "'Opened'", "'opened'", "'Opened'", "'OPENED'"),
		)},
		// Current databases: by_type and by_category, names in any case.
		{"reader", "by_type", steps(add("bt-1", "Shipped", `{"x":1}`), add("bt-2", "Shipped", `{"x":2}`),
			four("SELECT * FROM Shipped WHERE stream = %s", "'bt-1'", "'bt-2'", "'bt-1'", "'bt-2'"),
			four("SELECT * FROM shipped WHERE stream = %s", "'bt-1'", "'bt-2'", "'bt-1'", "'bt-2'"),
			four("SELECT * FROM `shipped` WHERE stream = %s", "'bt-1'", "'bt-2'", "'bt-1'", "'bt-2'"),
			add("bt-1", "shipped", `{"y":1}`),
			four("SELECT * FROM shipped WHERE stream = %s", "'bt-1'", "'bt-2'", "'bt-1'", "'bt-2'"),
			four("SELECT * FROM `shipped` WHERE stream = %s", "'bt-1'", "'bt-2'", "'bt-1'", "'bt-2'"),
			four("SELECT * FROM Shipped WHERE stream = %s", "'bt-1'", "'bt-2'", "'bt-1'", "'bt-2'"),
			"USE by_category",
			four("SELECT * FROM bt WHERE stream = %s", "'bt-1'", "'bt-2'", "'bt-1'", "'bt-2'"),
			four("SELECT * FROM BT WHERE stream = %s", "'bt-1'", "'bt-2'", "'bt-1'", "'bt-2'"),
			add("BT-1", "Shipped", `{"x":1}`),
			four("SELECT * FROM BT WHERE stream = %s", "'BT-1'", "'bt-2'", "'bt-1'", "'BT-1'"),
			four("SELECT * FROM bt WHERE stream = %s", "'BT-1'", "'bt-2'", "'bt-1'", "'BT-1'"),
			"USE eventsql",
			four("SELECT * FROM events WHERE stream = %s", "'BT-1'", "'bt-2'", "'bt-1'", "'BT-1'"),
			"USE by_type",
			four("SELECT * FROM events WHERE stream = %s", "'BT-1'", "'bt-2'", "'bt-1'", "'BT-1'"),
			four("SELECT * FROM eventsql.events WHERE stream = %s", "'BT-1'", "'bt-2'", "'bt-1'", "'BT-1'"),
		)},
		{"admin", "eventsql", steps(
			four("SELECT * FROM events WHERE stream = %s", "'BT-1'", "'bt-2'", "'bt-1'", "'BT-1'"),
			four("SELECT * FROM by_type.Shipped WHERE stream = %s", "'BT-1'", "'bt-2'", "'bt-1'", "'BT-1'"),
		)},
	} {
		t.Run("", func(t *testing.T) {
			p := s.pair(t, c.user, c.db)
			hits := runSteps(t, p, afterWarnings, c.steps)
			t.Logf("%d of %d from a template", hits, len(c.steps))
		})
	}
}

// TestPlanTemplatesAttackProcessList holds a SELECT * of large events
// planned from a template in the middle of its result (the client reads
// nothing) and compares what information_schema.processlist and SHOW
// PROCESSLIST say of it, and what KILL QUERY does to it, with the same
// on the server without templates.
func TestPlanTemplatesAttackProcessList(t *testing.T) {
	st := openStore(t)
	fillBig(t, st, 3000)
	fast, fa := startFront(t, st, nil)
	slow, sa := startFront(t, st, func(fe *Front) { fe.noPlanTemplates = true })
	var fastSent, slowSent atomic.Int64
	s := &tplServers{fast: fast, slow: slow, fastAddr: singleStatementsCounting(t, fa, &fastSent), slowAddr: singleStatementsCounting(t, sa, &slowSent)}
	sent := map[*Front]*atomic.Int64{fast: &fastSent, slow: &slowSent}
	q := "SELECT * FROM events WHERE position > %d"
	states := map[string]string{}
	for name, srv := range map[string]struct {
		fe   *Front
		addr string
	}{"fast": {s.fast, s.fastAddr}, "slow": {s.slow, s.slowAddr}} {
		victim := vconn(t, srv.addr, "reader", "eventsql", 0)
		admin := vconn(t, srv.addr, "admin", "eventsql", 0)
		before := srv.fe.plans.hits.Load()
		for _, from := range []int{2990, 2991, 2992, 2993} {
			if _, err := victim.ExecuteFetch(fmt.Sprintf(q, from), 100, true); err != nil {
				t.Fatal(err)
			}
		}
		base := sent[srv.fe].Load()
		if err := victim.WriteComQuery(fmt.Sprintf(q, 300)); err != nil {
			t.Fatal(err)
		}
		// Rows are on their way (the result is 21 MB: the server then
		// waits for the client mid-result).
		// (A deadline only to fail instead of hanging if no rows come.)
		for deadline := time.Now().Add(time.Minute); sent[srv.fe].Load()-base < 2<<20; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d bytes of the result after a minute", sent[srv.fe].Load()-base)
			}
		}
		var state, list string
		for range 100000 {
			r, err := admin.ExecuteFetch(fmt.Sprintf("SELECT command, state, info FROM information_schema.processlist WHERE id = %d", victim.ConnectionID), 10, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Rows) == 1 && r.Rows[0][0].ToString() == "Query" {
				state = rowText(r.Rows[0])
				break
			}
		}
		r, err := admin.ExecuteFetch("SHOW PROCESSLIST", 10, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range r.Rows {
			if row[0].ToString() == strconv.FormatUint(uint64(victim.ConnectionID), 10) {
				row[5] = sqltypes.NULL // Time
				list = rowText(row)
			}
		}
		if _, err := admin.ExecuteFetch(fmt.Sprintf("KILL QUERY %d", victim.ConnectionID), 10, false); err != nil {
			t.Fatal(err)
		}
		_, _, _, err = victim.ReadQueryResult(context.Background(), 1<<30, true)
		killed := fmt.Sprint(err)
		after := strings.HasPrefix(outcome(victim, fmt.Sprintf(q, 2999)), "error: ")
		if name == "fast" && srv.fe.plans.hits.Load()-before < 2 {
			t.Errorf("the held query was not planned from a template (%d hits)", srv.fe.plans.hits.Load()-before)
		}
		states[name] = fmt.Sprintf("processlist: %s\nSHOW PROCESSLIST: %s\nthe killed query: %s\nthe next query failed: %v", state, list, killed, after)
	}
	if states["fast"] != states["slow"] {
		t.Errorf("with templates:\n%s\nwithout:\n%s", states["fast"], states["slow"])
	}
}

// TestPlanTemplatesAttackPrepared mixes a digest's text queries with
// prepared statements of the same text (binary protocol and PREPARE),
// and sends it in multi-statement packets.
func TestPlanTemplatesAttackPrepared(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	s := newTplServers(t, st)
	q := "SELECT position, stream FROM events WHERE stream = %s LIMIT 3"
	p := s.pair(t, "reader", "eventsql")
	runSteps(t, p, afterWarnings, steps(qs(q, "'cat-1'", "'cat-2'", "'dog-1'", "'plain'"),
		tplStep{q: "PREPARE s FROM 'SELECT position, stream FROM events WHERE stream = ? LIMIT 3'"},
		tplStep{q: "SET @s = 'cat-2'"}, tplStep{q: "EXECUTE s USING @s"},
		qs(q, "'cat-1'", "'cat-3'"),
		tplStep{q: "PREPARE t FROM \"SELECT position, stream FROM events WHERE stream = 'cat-1' LIMIT 3\""},
		tplStep{q: "EXECUTE t"}, qs(q, "'cat-1'", "'dog-22'"), tplStep{q: "DEALLOCATE PREPARE t"}, qs(q, "'cat-1'", "'dog-22'"),
	))
	// The binary protocol: a statement prepared with the text of a
	// templated query; then the text query again.
	var got [2]string
	for i, addr := range []string{s.fastRaw, s.slowRaw} {
		c := mysqldrv.NewConfig()
		c.User, c.Passwd, c.Net, c.Addr, c.DBName = "reader", "pw", "tcp", addr, "eventsql"
		db, err := sql.Open("mysql", c.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		defer db.Close()
		var out strings.Builder
		for _, v := range []string{"cat-1", "cat-2", "dog-1", "plain"} {
			r, err := rawQuery(t, db, fmt.Sprintf(q, "'"+v+"'"))
			fmt.Fprint(&out, rawText(r), err)
		}
		text := fmt.Sprintf(q, "'cat-3'")
		stmt, err := db.Prepare(text)
		if err != nil {
			t.Fatal(err)
		}
		a, err := rawQuery(t, stmtQueryer{stmt}, text)
		b, err2 := rawQuery(t, db, text)
		fmt.Fprint(&out, rawText(a), err, rawText(b), err2)
		stmt.Close()
		b, err2 = rawQuery(t, db, text)
		fmt.Fprint(&out, rawText(b), err2)
		got[i] = out.String()
	}
	if got[0] != got[1] {
		t.Errorf("prepared, then text:\nwith templates: %s\nwithout: %s", got[0], got[1])
	}
	// Multi-statement connections (vitess's client asks for them): one
	// statement is left to the templates, several are split by the
	// server.
	pm := &tplPair{fe: s.fast, fast: vconn(t, s.fastRaw, "reader", "eventsql", 0), slow: vconn(t, s.slowRaw, "reader", "eventsql", 0)}
	if hits := runSteps(t, pm, afterWarnings, qs(q, "'cat-1'", "'cat-2'", "'dog-1'", "'plain'", "'cat-3'")); hits == 0 {
		t.Error("no single statement on a multi-statement connection planned from a template")
	}
	for _, v := range []string{"'cat-1'", "'cat-2'", "'dog-1'", "'plain'"} {
		multi := fmt.Sprintf(q, v) + "; " + fmt.Sprintf(q, "'dog-22'")
		var res [2]string
		for i, c := range []*mysql.Conn{pm.fast, pm.slow} {
			r, status, err := c.ExecuteFetchMulti(context.Background(), multi, 100, true)
			res[i] = fmt.Sprint(r, err)
			for n := 0; err == nil && status&mysql.ServerMoreResultsExists != 0 && n < 5; n++ {
				r, status, _, err = c.ReadQueryResult(context.Background(), 100, true)
				res[i] += fmt.Sprint(r, err)
			}
		}
		if res[0] != res[1] {
			t.Errorf("%s:\nwith templates: %s\nwithout: %s", multi, res[0], res[1])
		}
	}
}

func rawText(r rawResult) string {
	var b strings.Builder
	fmt.Fprintln(&b, r.cols)
	for _, row := range r.rows {
		for _, v := range row {
			b.WriteString(show(v) + ",")
		}
		b.WriteByte('\n')
	}
	return b.String()
}
