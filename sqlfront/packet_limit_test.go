package sqlfront

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

// TestStringResultsBoundedByMaxAllowedPacket: a string function whose
// result would exceed max_allowed_packet answers NULL with MySQL's warning
// 1301, checked before the result is built. GMS built any size: a
// reader's SELECT REPEAT('x', 2000000000) allocated 2 GB.
func TestStringResultsBoundedByMaxAllowedPacket(t *testing.T) {
	st, open := testFront(t)
	appendEvents(t, st, "order-1", "OrderPlaced", `{"amount":10}`)
	db := open("reader", "r-pw")
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	query := func(q string) string {
		t.Helper()
		var v sql.NullString
		if err := conn.QueryRowContext(context.Background(), q).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if !v.Valid {
			return "NULL"
		}
		return v.String
	}
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	warning := func() string {
		t.Helper()
		rows, err := conn.QueryContext(context.Background(), "SHOW WARNINGS")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var level, code, msg string
			if err := rows.Scan(&level, &code, &msg); err != nil {
				t.Fatal(err)
			}
			out = append(out, code+" "+msg)
		}
		return strings.Join(out, "; ")
	}

	// The session starts with MySQL 8.0's 64 MiB; nothing is allocated
	// for a result over it.
	if got := query("SELECT @@max_allowed_packet"); got != "67108864" {
		t.Fatalf("@@max_allowed_packet = %s", got)
	}
	if got := query("SELECT REPEAT('x', 2000000000)"); got != "NULL" {
		t.Fatalf("REPEAT 2e9 = %.20s…", got)
	}
	if w := warning(); w != "1301 Result of repeat() was larger than max_allowed_packet (67108864) - truncated" {
		t.Fatalf("warning = %q", w)
	}
	for _, q := range []string{
		"SELECT SPACE(2000000000)",
		"SELECT LPAD('a', 2000000000, 'b')",
		"SELECT RPAD('a', 2000000000, 'b')",
		"SELECT LENGTH(CONCAT(REPEAT('x', 60000000), REPEAT('x', 60000000)))",
	} {
		if got := query(q); got != "NULL" {
			t.Fatalf("%s = %.20s…, want NULL", q, got)
		}
	}
	// A session may lower the bound, not raise it over the server's.
	exec("SET SESSION max_allowed_packet = 1073741824")
	if got := query("SELECT REPEAT('x', 100000000)"); got != "NULL" {
		t.Fatalf("REPEAT 1e8 after raising the session's bound = %.20s…, want NULL", got)
	}
	exec("SET SESSION max_allowed_packet = 1024")
	if w := query("SELECT REPEAT('ab', 513)") + " " + warning(); w != "NULL 1301 Result of repeat() was larger than max_allowed_packet (1024) - truncated" {
		t.Fatalf("REPEAT over 1024: %q", w)
	}
	for q, want := range map[string]string{
		"SELECT LENGTH(REPEAT('ab', 512))":                                            "1024",
		"SELECT LENGTH(SPACE(1024))":                                                  "1024",
		"SELECT SPACE(1025)":                                                          "NULL",
		"SELECT SPACE(-3)":                                                            "",
		"SELECT LPAD('a', 5, 'b')":                                                    "bbbba",
		"SELECT LPAD('a', 1025, 'b')":                                                 "NULL",
		"SELECT RPAD('a', 5, 'b')":                                                    "abbbb",
		"SELECT RPAD('a', 1025, 'b')":                                                 "NULL",
		"SELECT INSERT('abc', 2, 1, 'X')":                                             "aXc",
		"SELECT INSERT(REPEAT('x', 1000), 1, 0, REPEAT('y', 100))":                    "NULL",
		"SELECT CONCAT('a', 'b', 1)":                                                  "ab1",
		"SELECT CONCAT('a', NULL)":                                                    "NULL",
		"SELECT CONCAT(REPEAT('x', 1000), REPEAT('x', 100))":                          "NULL",
		"SELECT CONCAT_WS(',', 'a', NULL, 'b')":                                       "a,b",
		"SELECT CONCAT_WS(NULL, 'a')":                                                 "NULL",
		"SELECT LENGTH(CONCAT_WS(REPEAT('-', 600), 'a', 'b'))":                        "602",
		"SELECT CONCAT_WS(REPEAT('-', 600), 'a', 'b', 'c')":                           "NULL",
		"SELECT REPLACE('abc', 'b', 'XX')":                                            "aXXc",
		"SELECT REPLACE(REPEAT('x', 100), 'x', REPEAT('y', 11))":                      "NULL",
		"SELECT EXPORT_SET(5, 'Y', 'N', ',', 4)":                                      "Y,N,Y,N",
		"SELECT EXPORT_SET(5, REPEAT('Y', 20), 'N')":                                  "NULL",
		"SELECT MAKE_SET(3, 'a', 'b')":                                                "a,b",
		"SELECT MAKE_SET(3, REPEAT('a', 600), REPEAT('b', 600))":                      "NULL",
		"SELECT HEX('ab')":                                                            "6162",
		"SELECT HEX(REPEAT('x', 600))":                                                "NULL",
		"SELECT TO_BASE64(REPEAT('x', 900))":                                          "NULL",
		"SELECT REGEXP_REPLACE(REPEAT('x', 100), 'x', 'yyyyyyyyyyy')":                 "NULL",
		"SELECT CONCAT(stream, '/', event_type) FROM events":                          "order-1/OrderPlaced",
		"SELECT REPEAT(stream, 1000) FROM events WHERE stream = 'order-1'":            "NULL",
		"SELECT COUNT(*) FROM events WHERE CONCAT(stream, REPEAT('.', 2000)) IS NULL": "1",
	} {
		if got := query(q); got != want {
			t.Errorf("%s = %.40q, want %q", q, got, want)
		}
	}
	// Doubling a variable stops at the bound instead of growing forever.
	exec("SET @a = REPEAT('x', 600)")
	exec("SET @a = CONCAT(@a, @a)")
	if got := query("SELECT @a IS NULL"); got != "1" {
		t.Fatalf("@a doubled past the bound is not NULL: %s", got)
	}
	// Prepared, the count a parameter.
	var v sql.NullString
	if err := conn.QueryRowContext(context.Background(), "SELECT REPEAT('x', ?)", 2000000000).Scan(&v); err != nil || v.Valid {
		t.Fatalf("prepared REPEAT = %v, %v; want NULL", v.Valid, err)
	}
}
