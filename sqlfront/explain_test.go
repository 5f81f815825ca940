package sqlfront

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// TestExplainTable checks plain EXPLAIN (MySQL's table form) through the
// Go driver, which rejected GMS's placeholder row: one row per table read
// with the index used and the access type.
func TestExplainTable(t *testing.T) {
	_, db, orderPos := joinFixture(t)
	lo, hi := orderPos[100], orderPos[110]
	// Each want row: id select_type table type key ref, then a word of Extra.
	tests := []struct {
		query string
		want  []string
	}{
		{"SELECT * FROM events WHERE stream = 'order-1'",
			[]string{"1 SIMPLE events ref stream const | eventsql: streams"}},
		{"SELECT * FROM events WHERE event_type = 'ItemAdded' AND position > 10",
			[]string{"1 SIMPLE events ref event_type const | Using where"}},
		{"SELECT * FROM events",
			[]string{"1 SIMPLE events ALL NULL NULL | "}},
		{"SELECT 1",
			[]string{"1 SIMPLE NULL NULL NULL NULL | No tables used"}},
		{"SELECT event_type, COUNT(*) FROM events GROUP BY event_type",
			[]string{"1 SIMPLE events index NULL NULL | native aggregate: answered from the index"}},
		{"SELECT SUM(amount) FROM by_type.OrderPlaced WHERE customer = 'c1'",
			[]string{"1 SIMPLE OrderPlaced ALL NULL NULL | native aggregate: parallel scan"}},
		{fmt.Sprintf("SELECT o.stream, p.amount FROM by_type.OrderPlaced o JOIN by_type.PaymentReceived p ON p.stream = o.stream WHERE o.position BETWEEN %d AND %d", lo, hi),
			[]string{"1 SIMPLE o range PRIMARY NULL | positions", "1 SIMPLE p ref stream o.stream | "}},
		{"SELECT o.stream, p.amount FROM by_type.OrderPlaced o JOIN by_type.PaymentReceived p ON p.stream = o.stream",
			[]string{"1 SIMPLE o ALL NULL NULL | ", "1 SIMPLE p ALL NULL NULL | hash join"}},
		{fmt.Sprintf("SELECT o.stream, e.event_type FROM by_type.OrderPlaced o JOIN events e ON e.event_id = o.event_id WHERE o.position BETWEEN %d AND %d", lo, hi),
			[]string{"1 SIMPLE o range PRIMARY NULL | positions", "1 SIMPLE e eq_ref event_id o.event_id | "}},
		{fmt.Sprintf("SELECT o.stream, (SELECT COUNT(*) FROM by_type.PaymentReceived p WHERE p.stream = o.stream) FROM by_type.OrderPlaced o WHERE o.position BETWEEN %d AND %d", lo, hi),
			[]string{"1 PRIMARY o range PRIMARY NULL | positions", "2 DEPENDENT SUBQUERY p ref stream o.stream | Using where"}},
		{"SELECT * FROM (SELECT stream FROM events WHERE event_type = 'OrderPlaced') x",
			[]string{"1 PRIMARY <derived2> ALL NULL NULL | ", "2 DERIVED events ref event_type const | types"}},
		{"SELECT * FROM streams WHERE stream = 'order-1'",
			[]string{"1 SIMPLE streams const PRIMARY const | "}},
		{"SELECT * FROM streams WHERE stream IN ('order-1', 'order-2')",
			[]string{"1 SIMPLE streams ref PRIMARY const | "}},
		{"SELECT * FROM streams WHERE category = 'order'",
			[]string{"1 SIMPLE streams ref category const | "}},
		{"SELECT * FROM events WHERE created_at > '2000-01-01 00:00:00'",
			[]string{"1 SIMPLE events range created_at NULL | eventsql: created_at (2000-01-01 00:00:00, +inf]"}},
		{"SELECT * FROM events WHERE created_at BETWEEN '2000-01-01' AND '2999-12-31 23:59:59.5'",
			[]string{"1 SIMPLE events range created_at NULL | eventsql: created_at [2000-01-01 00:00:00, 2999-12-31 23:59:59.5]"}},
		{"SELECT * FROM events WHERE position > 5 AND position < 3",
			[]string{"1 SIMPLE events NULL NULL NULL | Impossible WHERE"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rows, err := db.Query("EXPLAIN " + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cols, err := rows.Columns()
			if err != nil || strings.Join(cols, " ") != "id select_type table partitions type possible_keys key key_len ref rows filtered Extra" {
				t.Fatalf("columns %v, %v", cols, err)
			}
			var got []string
			for rows.Next() {
				var (
					id                               uint64
					selectType                       string
					table, parts, typ, possible, key sql.NullString
					keyLen, ref, extra               sql.NullString
					n                                sql.NullInt64
					filtered                         sql.NullFloat64
				)
				if err := rows.Scan(&id, &selectType, &table, &parts, &typ, &possible, &key, &keyLen, &ref, &n, &filtered, &extra); err != nil {
					t.Fatal(err)
				}
				s := func(v sql.NullString) string {
					if !v.Valid {
						return "NULL"
					}
					return v.String
				}
				got = append(got, fmt.Sprintf("%d %s %s %s %s %s | %s", id, selectType, s(table), s(typ), s(key), s(ref), extra.String))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d rows:\n%s\nwant:\n%s", len(got), strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i, w := range tt.want {
				head, extraWord, _ := strings.Cut(w, " | ")
				gotHead, gotExtra, _ := strings.Cut(got[i], " | ")
				if gotHead != head || !strings.Contains(gotExtra, extraWord) {
					t.Errorf("row %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}
