package sqlfront

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

func TestDigestQuery(t *testing.T) {
	for _, tc := range []struct {
		query string
		key   string // "" = not digestible
		lits  []string
	}{
		{"SELECT * FROM events WHERE stream = 'c-1'", "SELECT * FROM events WHERE stream = ?s", []string{"s:c-1"}},
		{"select *   from events\n\twhere stream='c-1' ;  ", "select * from events where stream = ?s", []string{"s:c-1"}},
		{"SELECT * FROM events WHERE position BETWEEN 5 AND 300", "SELECT * FROM events WHERE position BETWEEN ?ib AND ?ih", []string{"i:5", "i:300"}},
		{"SELECT position FROM events WHERE position >= 1 AND position <> 2 AND position != 3 LIMIT 4, 5",
			"SELECT position FROM events WHERE position >= ?ib AND position <> ?ib AND position != ?ib LIMIT ?ib , ?ib",
			[]string{"i:1", "i:2", "i:3", "i:4", "i:5"}},
		{"SELECT e.`stream` FROM by_type.`Order-Placed` e WHERE e.stream = 'é日本'", "SELECT e . `stream` FROM by_type . `Order-Placed` e WHERE e . stream = ?s", []string{"s:é日本"}},
		{"SELECT * FROM events WHERE position = 18446744073709551615", "SELECT * FROM events WHERE position = ?iL", []string{"i:18446744073709551615"}},
		{"SELECT * FROM events WHERE stream = ''", "SELECT * FROM events WHERE stream = ?s", []string{"s:"}},
		{"SELECT * FROM events WHERE position <= 5", "SELECT * FROM events WHERE position <= ?ib", []string{"i:5"}},
		{"SELECT * FROM events WHERE position < = 5", "SELECT * FROM events WHERE position < = ?ib", []string{"i:5"}},
		// Not digestible.
		{"SHOW TABLES", "", nil},
		{"SET sql_select_limit = 1", "", nil},
		{"SELECT * FROM events WHERE stream IN ('a', 'b')", "", nil},
		{"SELECT COUNT(*) FROM events", "", nil},
		{"SELECT * FROM events WHERE stream = 'it''s'", "", nil},
		{"SELECT * FROM events WHERE stream = 'back\\'slash'", "", nil},
		{"SELECT * FROM events WHERE stream = \"dq\"", "", nil},
		{"SELECT * FROM events WHERE stream = 'unterminated", "", nil},
		{"SELECT * FROM events WHERE stream LIKE 'a%'", "", nil},
		{"SELECT * FROM events WHERE position = -5", "", nil},
		{"SELECT * FROM events WHERE position = 1e5", "", nil},
		{"SELECT * FROM events WHERE position = 1.5", "", nil},
		{"SELECT * FROM events WHERE position = 0x10", "", nil},
		{"SELECT * FROM events WHERE position = 99999999999999999999", "", nil},
		{"SELECT * FROM events WHERE stream = @s", "", nil},
		{"SELECT * FROM events /* c */ WHERE position = 1", "", nil},
		{"SELECT * FROM events WHERE position = 1 -- c", "", nil},
		{"SELECT * FROM events WHERE position = 1 # c", "", nil},
		{"SELECT * FROM events; SELECT 1", "", nil},
		{"SELECT * FROM events INTO OUTFILE '/tmp/x'", "", nil},
		{"SELECT * FROM events WHERE position = 1 FOR UPDATE", "", nil},
		{"SELECT * FROM events UNION SELECT * FROM events", "", nil},
		{"SELECT * FROM events WHERE stream = '\xff'", "", nil},
		{"SELECT * FROM events WHERE position = ?", "", nil},
		{"SELECT * FROM `ev``ents`", "", nil},
		{"SELECT * FROM events WHERE stream = _latin1'caf\xc3\xa9'", "", nil},
		{"SELECT * FROM events WHERE stream = _latin1 'x'", "", nil},
		{"SELECT * FROM events WHERE stream = N'x'", "", nil},
		{"SELECT * FROM events WHERE stream = X'78'", "", nil},
		{"SELECT * FROM events WHERE stream = BINARY 'x'", "", nil},
		{"SELECT * FROM events WHERE created_at > TIMESTAMP '2026-01-01 00:00:00'", "", nil},
		{"SELECT * FROM events WHERE stream = 'x' 'y'", "", nil},
		{"SELECT position 'p' FROM events", "", nil},
		{"SELECT `position` 'p' FROM events", "", nil},
		{"SELECT position AS 'p' FROM events", "", nil},
		{"SELECT * FROM events WHERE stream BETWEEN 'a' AND 'b' OR stream = 'c'", "SELECT * FROM events WHERE stream BETWEEN ?s AND ?s OR stream = ?s", []string{"s:a", "s:b", "s:c"}},
		{"SELECT " + strings.Repeat("position, ", 500) + "stream FROM events", "", nil}, // too long to keep
		{"", "", nil},
		{" ; ", "", nil},
	} {
		d, ok := digestQuery(tc.query)
		if ok != (tc.key != "") {
			t.Errorf("%q: digestible %v, want %v (key %q)", tc.query, ok, !ok, d.key)
			continue
		}
		if !ok {
			continue
		}
		var lits []string
		for _, l := range d.lits {
			if l.str {
				lits = append(lits, "s:"+l.text)
			} else {
				lits = append(lits, "i:"+l.text)
			}
		}
		if d.key != tc.key || !slices.Equal(lits, tc.lits) {
			t.Errorf("%q:\ngot  %q %q\nwant %q %q", tc.query, d.key, lits, tc.key, tc.lits)
		}
	}
}

// TestIntClassIsGMSs checks that the Go type intValue gives an integer is
// the one GMS's parser gives the literal, at every class boundary.
func TestIntClassIsGMSs(t *testing.T) {
	st, _ := testFrontAddr(t)
	fe, _ := startFront(t, st, nil)
	sess := sql.NewBaseSessionWithClientServer("", sql.Client{User: "reader", Address: "127.0.0.1"}, 1)
	ctx := sql.NewContext(context.Background(), sql.WithSession(sess))
	for _, n := range []uint64{0, 1, 127, 128, 255, 256, 32767, 32768, 65535, 65536, 1<<31 - 1, 1 << 31,
		1<<32 - 1, 1 << 32, 1<<63 - 1, 1 << 63, 1<<64 - 1} {
		digits := fmt.Sprint(n)
		node, err := fe.engine.AnalyzeQuery(ctx, "SELECT "+digits)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		transform.InspectExpressions(ctx, node, func(_ *sql.Context, e sql.Expression) bool {
			if l, ok := e.(*expression.Literal); ok && got == nil {
				got = l.Value()
			}
			return true
		})
		if _, ok := node.(*plan.Project); !ok && got == nil {
			t.Fatalf("SELECT %s: no literal in %s", digits, sql.DebugString(ctx, node))
		}
		want, ok := intValue(digits, intClass(digits))
		if !ok || reflect.TypeOf(got) != reflect.TypeOf(want) || fmt.Sprint(got) != digits {
			t.Errorf("%s: GMS made %T %v, intValue %T %v", digits, got, got, want, want)
		}
	}
}
