package sqlfront

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
)

// TestClientGoneStopsQuery closes the client's socket while a statement
// runs and checks that the server stops it: a statement with no rows yet
// (found by the disconnect check, which first looks after 5 s) and a
// result being streamed (found by the failing write). Both would read
// every event, 10 ms each, if nothing stopped them.
func TestClientGoneStopsQuery(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5 s disconnect check")
	}
	st := openStore(t)
	fillAggData(t, st)
	total := st.Head()
	open := killFront(t, st, nil)
	reader, admin := open("reader"), open("admin")
	for _, q := range []string{
		"SELECT position FROM events WHERE SLEEP(0.01 + version * 0) = 1",
		"SELECT position, SLEEP(0.01 + version * 0) FROM events",
	} {
		base := st.Stats().EventsDecoded
		ctx, cancel := context.WithCancel(context.Background())
		v := startVictimCtx(t, ctx, reader, q)
		waitRunning(t, admin, v)
		if strings.HasSuffix(q, "FROM events") {
			// Let the first batch (128 rows) reach the client.
			time.Sleep(1500 * time.Millisecond)
		}
		cancel() // the driver closes the socket
		<-v.done
		for {
			var n int
			if err := admin.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ?", v.id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Engine iterators count what they decoded when closed: the
		// statement is over once its connection is gone.
		if got := st.Stats().EventsDecoded - base; got >= total {
			t.Errorf("%s: %d events decoded after the client left, all %d", q, got, total)
		} else {
			t.Logf("%s: stopped after %d of %d events", q, got, total)
		}
	}
}

// startVictimCtx is startVictim with the statement run under ctx.
func startVictimCtx(t *testing.T, ctx context.Context, db *sql.DB, query string) *victim {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	v := &victim{conn: conn, done: make(chan error, 1)}
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&v.id); err != nil {
		t.Fatal(err)
	}
	go func() {
		rows, err := conn.QueryContext(ctx, query)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		v.done <- err
	}()
	return v
}
