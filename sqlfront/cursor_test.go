package sqlfront

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// Protocol constants of the binary protocol used here.
const (
	comStmtExecute        = 0x17
	comStmtFetch          = 0x1c
	cursorTypeReadOnly    = 0x01
	serverStatusLastRow   = 0x0080
	serverStatusCursorSet = 0x0040
)

// prepareOpen sends COM_STMT_PREPARE and reads its answer, keeping the
// statement open; it returns the statement id and its parameter count.
func (s *rawSession) prepareOpen(q string) (id uint32, params int) {
	s.t.Helper()
	writePacket(s.c, 0, append([]byte{0x16}, q...))
	ok := readPacket(s.t, s.c)
	if len(ok) < 12 || ok[0] != 0x00 {
		s.t.Fatalf("prepare %s: %q", q, ok)
	}
	id = binary.LittleEndian.Uint32(ok[1:5])
	cols, params := int(binary.LittleEndian.Uint16(ok[5:7])), int(binary.LittleEndian.Uint16(ok[7:9]))
	for _, n := range []int{params, cols} {
		if n > 0 {
			for range n + 1 { // definitions, then EOF
				readPacket(s.t, s.c)
			}
		}
	}
	return id, params
}

// execute sends COM_STMT_EXECUTE of statement id with arguments (int64
// or string) and the cursor flags given (0: no cursor). It returns the
// column definitions and, without a cursor, the rows' packets; with a
// cursor, the status flags of the EOF after the definitions.
func (s *rawSession) execute(id uint32, flags byte, args ...any) (cols, rows [][]byte, status uint16) {
	s.t.Helper()
	p := binary.LittleEndian.AppendUint32([]byte{comStmtExecute}, id)
	p = append(p, flags)
	p = binary.LittleEndian.AppendUint32(p, 1) // iteration count
	if len(args) > 0 {
		p = append(p, make([]byte, (len(args)+7)/8)...) // no NULLs
		p = append(p, 1)                                // types follow
		for _, a := range args {
			switch a.(type) {
			case int64:
				p = append(p, 0x08, 0x00) // MYSQL_TYPE_LONGLONG, signed
			case string:
				p = append(p, 0xfd, 0x00) // MYSQL_TYPE_VAR_STRING
			default:
				s.t.Fatalf("execute: argument %T", a)
			}
		}
		for _, a := range args {
			switch a := a.(type) {
			case int64:
				p = binary.LittleEndian.AppendUint64(p, uint64(a))
			case string:
				p = append(append(p, byte(len(a))), a...) // short strings only
			}
		}
	}
	writePacket(s.c, 0, p)
	first := readPacket(s.t, s.c)
	if len(first) == 0 || first[0] == 0xff {
		s.t.Fatalf("execute: %q", first)
	}
	for {
		c := readPacket(s.t, s.c)
		if isEOF(c) {
			status = binary.LittleEndian.Uint16(c[3:5])
			break
		}
		cols = append(cols, bytes.Clone(c))
	}
	if flags&cursorTypeReadOnly != 0 {
		return cols, nil, status
	}
	rows, status = s.readRows()
	return cols, rows, status
}

// fetch sends COM_STMT_FETCH for n rows of statement id's cursor and
// returns the rows and the status flags of the EOF after them.
func (s *rawSession) fetch(id uint32, n uint32) ([][]byte, uint16) {
	s.t.Helper()
	p := binary.LittleEndian.AppendUint32([]byte{comStmtFetch}, id)
	writePacket(s.c, 0, binary.LittleEndian.AppendUint32(p, n))
	return s.readRows()
}

// readRows reads row packets up to an EOF packet.
func (s *rawSession) readRows() (rows [][]byte, status uint16) {
	s.t.Helper()
	for {
		r := readPacket(s.t, s.c)
		switch {
		case r == nil:
			s.t.Fatal("connection closed while reading rows")
		case r[0] == 0xff:
			s.t.Fatalf("error while reading rows: %q", r)
		case isEOF(r):
			return rows, binary.LittleEndian.Uint16(r[3:5])
		}
		rows = append(rows, bytes.Clone(r))
	}
}

func isEOF(p []byte) bool { return len(p) == 5 && p[0] == 0xfe }

// TestCursorFetchesEveryRow opens server-side cursors (as Connector/J
// with useCursorFetch and MariaDB Connector/C do) on results of one row
// to several batches, fetches them a few rows at a time while other
// connections run queries, and requires the rows, byte for byte, of the
// same statement executed without a cursor: vitess keeps a cursor's
// batches after the handler has moved on, so their memory must not be
// reused. It runs with rows written in the binary protocol by eventsql
// and, as upstream, converted from text by vitess.
func TestCursorFetchesEveryRow(t *testing.T) {
	st := openStore(t)
	fillWireData(t, st)
	for _, vitessRows := range []bool{false, true} {
		t.Run(fmt.Sprintf("vitessBinaryRows=%v", vitessRows), func(t *testing.T) {
			_, addr := startFront(t, st, func(fe *Front) { fe.noBinaryRows = vitessRows })
			cursorFetches(t, addr)
		})
	}
}

func cursorFetches(t *testing.T, addr string) {
	s := openRawSession(t, addr)
	other := openRawSession(t, addr)
	otherID, _ := other.prepareOpen("SELECT * FROM events WHERE position > ? LIMIT 300")
	for _, tc := range []struct {
		query string
		arg   any
		fetch uint32
	}{
		{"SELECT * FROM events WHERE position <= ?", int64(1), 10},
		{"SELECT * FROM events WHERE position <= ?", int64(700), 50},
		{"SELECT * FROM events WHERE position <= ?", int64(3000), 1000},
		{"SELECT position, stream, data FROM by_type.Typed WHERE position <= ?", int64(2000), 77},
		{"SELECT stream, COUNT(*), MAX(position) FROM events WHERE position > ? GROUP BY stream", int64(5), 3},
		{"SELECT * FROM events WHERE stream = ?", "cat-1", 7},
	} {
		name := fmt.Sprintf("%s [%v] by %d", tc.query, tc.arg, tc.fetch)
		id, _ := s.prepareOpen(tc.query)
		wantCols, want, _ := s.execute(id, 0, tc.arg)
		cols, _, status := s.execute(id, cursorTypeReadOnly, tc.arg)
		if status&serverStatusCursorSet == 0 {
			t.Fatalf("%s: no cursor opened (status %#x)", name, status)
		}
		if fmt.Sprintf("%q", cols) != fmt.Sprintf("%q", wantCols) {
			t.Fatalf("%s: columns differ with a cursor:\n%q\n%q", name, cols, wantCols)
		}
		var got [][]byte
		for i := 0; ; i++ {
			// Another session's statements use the server's pooled
			// buffers meanwhile.
			other.execute(otherID, 0, int64(i*37%2500))
			rows, status := s.fetch(id, tc.fetch)
			got = append(got, rows...)
			if status&serverStatusLastRow != 0 {
				break
			}
			if len(rows) != int(tc.fetch) {
				t.Fatalf("%s: fetch %d returned %d rows without the last-row flag", name, i, len(rows))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows through the cursor, %d without", name, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s: row %d differs through the cursor:\n%q\n%q", name, i, got[i], want[i])
			}
		}
	}
}
