package sqlfront

import (
	"bytes"
	"fmt"
	"testing"
)

// TestBinaryRowsSendTheSameBytes executes prepared statements by hand on
// two servers of one store, one writing the binary protocol's rows
// itself (internal/gmsserver/binaryrows.go) and one leaving them to
// vitess, which converts GMS's text, and requires the same packets, byte
// for byte: column definitions and every row, over NULLs, every column
// type of the tables and the types expressions make.
func TestBinaryRowsSendTheSameBytes(t *testing.T) {
	st := openStore(t)
	fillWireData(t, st)
	_, fastAddr := startFront(t, st, nil)
	_, slowAddr := startFront(t, st, func(fe *Front) { fe.noBinaryRows = true })
	fast, slow := openRawSession(t, fastAddr), openRawSession(t, slowAddr)
	for _, tc := range []struct {
		query string
		args  []any
	}{
		{"SELECT * FROM events", nil},
		{"SELECT * FROM events WHERE stream = ?", []any{"café-7"}},
		{"SELECT * FROM events WHERE position BETWEEN ? AND ?", []any{int64(100), int64(227)}},
		{"SELECT * FROM events WHERE position > ?", []any{int64(3000)}}, // no rows
		{"SELECT * FROM by_type.Typed", nil},
		{"SELECT i, f, b, t, s, `long`, j, m, data_stream FROM by_type.Typed WHERE position > ?", []any{int64(10)}},
		{"SELECT * FROM by_type.Raw", nil},
		{"SELECT * FROM by_type.Other", nil},
		{"SELECT * FROM by_category.cat WHERE version < ?", []any{int64(5)}},
		{"SELECT * FROM streams", nil},
		{"SELECT stream, category, version, event_count, first_position, last_position, created_at, updated_at, max_count, max_age, deleted FROM streams WHERE stream = ?", []any{"dog-22"}},
		{"SELECT position + 1, -position, position / 3, position * 1.5, data->>'$.i', data->'$.j', metadata IS NULL FROM events WHERE position < ?", []any{int64(400)}},
		{"SELECT CAST(position AS SIGNED), CAST(position AS UNSIGNED), CAST(position AS DECIMAL(20,3)), CAST(position AS CHAR), CAST(position AS BINARY) FROM events LIMIT ?", []any{int64(200)}},
		{"SELECT CAST(position AS FLOAT), CAST(version AS DOUBLE), CAST(created_at AS DATE), CAST(created_at AS TIME), CAST(created_at AS DATETIME), YEAR(created_at), TIMESTAMP(created_at) FROM events LIMIT ?", []any{int64(150)}},
		{"SELECT TRUE, FALSE, NULL, 'x', 1, 2.5, 1e300, -0.0, CAST(1 AS UNSIGNED), X'00ff', b'101', CURRENT_DATE() IS NOT NULL", nil},
		{"SELECT CAST(i AS SIGNED), CAST(i AS CHAR), i > 0, f, -f, CAST(f AS DECIMAL(30,10)), t, DATE(t), s, LENGTH(s) FROM by_type.Typed", nil},
		{"SELECT CONVERT(position, SIGNED), CAST(position % 127 AS SIGNED) FROM events LIMIT 1", nil},
		{"SELECT event_type, COUNT(*), SUM(position), AVG(version), MIN(created_at), MAX(stream) FROM events GROUP BY event_type ORDER BY 1", nil},
		{"SELECT stream, JSON_ARRAYAGG(position) FROM events WHERE position < ? GROUP BY stream ORDER BY stream", []any{int64(300)}},
		{"SELECT position, ROW_NUMBER() OVER (PARTITION BY stream ORDER BY position) FROM events WHERE position < ?", []any{int64(500)}},
		{"SELECT e.position, s.version FROM events e JOIN streams s ON s.stream = e.stream WHERE e.position < ?", []any{int64(300)}},
	} {
		fid, _ := fast.prepareOpen(tc.query)
		sid, _ := slow.prepareOpen(tc.query)
		fcols, frows, fstatus := fast.execute(fid, 0, tc.args...)
		scols, srows, sstatus := slow.execute(sid, 0, tc.args...)
		name := fmt.Sprintf("%s %v", tc.query, tc.args)
		if fmt.Sprintf("%q", fcols) != fmt.Sprintf("%q", scols) {
			t.Fatalf("%s: columns differ:\n%q\n%q", name, fcols, scols)
		}
		if len(frows) != len(srows) || fstatus != sstatus {
			t.Fatalf("%s: %d rows (status %#x), vitess's conversion %d (status %#x)", name, len(frows), fstatus, len(srows), sstatus)
		}
		for i := range frows {
			if !bytes.Equal(frows[i], srows[i]) {
				t.Fatalf("%s: row %d differs:\n%q\nvitess's conversion:\n%q", name, i, frows[i], srows[i])
			}
		}
	}
}
