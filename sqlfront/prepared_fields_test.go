package sqlfront

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/eventsql/eventsql/engine"
)

// rawSession is a connection speaking the protocol by hand, logged in.
type rawSession struct {
	t *testing.T
	c net.Conn
}

func openRawSession(t *testing.T, addr string) *rawSession {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	sendLogin(t, c, "reader", "pw")
	if p := readPacket(t, c); len(p) == 0 || p[0] != 0x00 {
		t.Fatalf("login: %q", p)
	}
	return &rawSession{t: t, c: c}
}

// query runs a statement that answers OK (SET) with COM_QUERY.
func (s *rawSession) query(q string) {
	s.t.Helper()
	writePacket(s.c, 0, append([]byte{0x03}, q...))
	if p := readPacket(s.t, s.c); len(p) == 0 || p[0] != 0x00 {
		s.t.Fatalf("%s: %q", q, p)
	}
}

// prepare sends COM_STMT_PREPARE and returns the answer's packets with
// the statement id zeroed, and the number of columns; an error packet is
// returned as it is.
func (s *rawSession) prepare(q string) ([][]byte, int) {
	s.t.Helper()
	writePacket(s.c, 0, append([]byte{0x16}, q...))
	ok := readPacket(s.t, s.c)
	if len(ok) < 12 || ok[0] != 0x00 {
		return [][]byte{ok}, 0
	}
	ok = bytes.Clone(ok)
	id := binary.LittleEndian.Uint32(ok[1:5])
	binary.LittleEndian.PutUint32(ok[1:5], 0)
	cols, params := int(binary.LittleEndian.Uint16(ok[5:7])), int(binary.LittleEndian.Uint16(ok[7:9]))
	out := [][]byte{ok}
	for _, n := range []int{params, cols} {
		if n == 0 {
			continue
		}
		for range n + 1 { // definitions, then EOF
			out = append(out, readPacket(s.t, s.c))
		}
	}
	closeStmt := binary.LittleEndian.AppendUint32([]byte{0x19}, id) // COM_STMT_CLOSE: no answer
	writePacket(s.c, 0, closeStmt)
	return out, cols
}

// TestPreparedColumnsAreRemembered prepares statements by hand on a
// server that remembers prepared statements' columns and on one that
// does not, and requires the same answers, byte for byte: repeatedly
// (the remembered ones from the second prepare on), after a by_type
// table gained a column, and after character_set_results changed.
func TestPreparedColumnsAreRemembered(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	fast, fastAddr := startFront(t, st, nil)
	_, slowAddr := startFront(t, st, func(fe *Front) { fe.noPlanTemplates = true })
	fs, ss := openRawSession(t, fastAddr), openRawSession(t, slowAddr)
	same := func(q string) int {
		t.Helper()
		a, cols := fs.prepare(q)
		b, _ := ss.prepare(q)
		if fmt.Sprintf("%q", a) != fmt.Sprintf("%q", b) {
			t.Fatalf("prepare %s:\nremembering %q\nplain       %q", q, a, b)
		}
		return cols
	}
	for _, tc := range []struct {
		query      string
		remembered bool
	}{
		{"SELECT * FROM events WHERE stream = ?", true},
		{"SELECT position, data->>'$.i' AS i FROM events WHERE position BETWEEN ? AND ? LIMIT ?", true},
		{"SELECT * FROM by_type.Typed WHERE stream = ?", true},
		{"SELECT e.stream, COUNT(*) FROM by_category.cat e WHERE e.version > ? GROUP BY e.stream", true},
		{"SELECT * FROM streams WHERE stream = ?", false},
		{"SELECT a.position FROM events a JOIN events b ON a.position = b.position WHERE a.stream = ?", false},
		{"SELECT position FROM events WHERE stream IN (SELECT stream FROM streams) AND version = ?", false},
		{"SELECT @v, position FROM events WHERE stream = ?", false},
		{"SELECT nope FROM events WHERE stream = ?", false}, // an error each time
	} {
		before := fast.plans.preparedHits.Load()
		for range 3 {
			same(tc.query)
		}
		if got := fast.plans.preparedHits.Load() - before; tc.remembered != (got > 0) {
			t.Errorf("%s: %d of 3 prepares answered from memory, want remembered=%v", tc.query, got, tc.remembered)
		}
	}

	q := "SELECT * FROM by_type.Typed WHERE stream = ?"
	colsBefore := same(q)
	if _, err := st.Append(context.Background(), "cat-1", engine.ExpectAny,
		engine.EventData{Type: "Typed", Data: []byte(`{"brandNewField":1}`), DataIsJSON: true}); err != nil {
		t.Fatal(err)
	}
	if cols := same(q); cols != colsBefore+1 {
		t.Errorf("%s after a new field: %d columns, want %d", q, cols, colsBefore+1)
	}

	for _, s := range []*rawSession{fs, ss} {
		s.query("SET character_set_results = latin1")
	}
	same("SELECT * FROM events WHERE stream = ?")
	same("SELECT * FROM events WHERE stream = ?")
}

// TestPreparedColumnsConcurrently prepares the same statements from
// several connections at once (vitess rewrites the column definitions it
// writes: each prepare must get its own; run with -race) and checks the
// rows against a server without remembered columns.
func TestPreparedColumnsConcurrently(t *testing.T) {
	st, _ := testFrontAddr(t)
	fillWireData(t, st)
	fast, _, fastDB, slowDB := templateFrontsWith(t, st, false)
	fastDB.SetMaxOpenConns(4)
	queries := []string{
		"SELECT * FROM events WHERE stream = ?",
		"SELECT position, data FROM by_type.Typed WHERE stream = ? LIMIT 5",
	}
	want := map[string]rawResult{}
	for _, q := range queries {
		for _, s := range []string{"cat-1", "dog-22"} {
			res, err := rawQuery(t, slowDB, q, s)
			if err != nil {
				t.Fatal(err)
			}
			want[q+s] = res
		}
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range 40 {
				q, s := queries[(g+i)%2], []string{"cat-1", "dog-22"}[i%2]
				res, err := rawQuery(t, fastDB, q, s)
				if err == nil {
					if d := diffResults(res, want[q+s]); d != "" {
						err = fmt.Errorf("%s %s: %s", q, s, d)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if fast.plans.preparedHits.Load() == 0 {
		t.Error("no prepare answered from remembered columns")
	}
}
