package sqlfront

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/httpfront"
)

// killFront serves st to admin, reader and other (a second reader).
func killFront(t *testing.T, st *engine.Store, setup func(*Front)) func(user string) *sql.DB {
	t.Helper()
	_, addr := startFront(t, st, setup)
	var dbs []*sql.DB
	t.Cleanup(func() {
		for _, db := range dbs {
			db.Close()
		}
	})
	return func(user string) *sql.DB {
		db, err := sql.Open("mysql", fmt.Sprintf("%s:pw@tcp(%s)/eventsql", user, addr))
		if err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
		return db
	}
}

// startFront serves st to admin, reader and other (password pw) on a
// loopback address; setup runs before it serves.
func startFront(t *testing.T, st *engine.Store, setup func(*Front)) (*Front, string) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	accounts := []Account{
		{Name: "admin", Admin: true, NativeHash: httpfront.HashPassword("pw")},
		{Name: "reader", NativeHash: httpfront.HashPassword("pw")},
		{Name: "other", NativeHash: httpfront.HashPassword("pw")},
	}
	fe, err := New(st, accounts, Options{Version: "x"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(fe)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go fe.Serve(l)
	t.Cleanup(func() { fe.Close() })
	return fe, l.Addr().String()
}

// victim is a connection that runs one statement in the background.
type victim struct {
	id   int64
	conn *sql.Conn
	done chan error
}

func startVictim(t *testing.T, db *sql.DB, query string) *victim {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
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

// waitRunning polls the process list until the victim's statement runs.
func waitRunning(t *testing.T, admin *sql.DB, v *victim) {
	t.Helper()
	for {
		var info sql.NullString
		err := admin.QueryRow("SELECT info FROM information_schema.processlist WHERE id = ?", v.id).Scan(&info)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		if strings.Contains(info.String, "SELECT") && !strings.Contains(info.String, "CONNECTION_ID") {
			return
		}
		select {
		case err := <-v.done:
			t.Fatalf("the statement ended before it was seen running: %v", err)
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKillQueryStopsScans kills a native aggregate scan and a GMS scan
// with KILL QUERY from another connection of the same reader, and counts
// the events decoded after the kill.
func TestKillQueryStopsScans(t *testing.T) {
	st := openStore(t)
	fillAggData(t, st)
	total := st.Head()
	// Native scans read 10 chunks, then every further chunk waits until
	// the query is cancelled: the query cannot end unless the KILL works.
	var chunks atomic.Int64
	open := killFront(t, st, func(fe *Front) {
		fe.aggChunk = 10
		fe.beforeChunk = func(ctx context.Context) {
			if chunks.Add(1) > 10 {
				<-ctx.Done()
			}
		}
	})
	reader, admin := open("reader"), open("admin")
	for _, q := range []string{
		"SELECT event_type, COUNT(*) FROM events WHERE position > 0 GROUP BY event_type", // native
		"SELECT COUNT(*) FROM events WHERE SLEEP(0.001 + version * 0) = 0",               // GMS, 1 ms a row
	} {
		base := st.Stats().EventsDecoded
		v := startVictim(t, reader, q)
		waitRunning(t, admin, v)
		for st.Stats().EventsDecoded == base && chunks.Load() <= 10 && !strings.Contains(q, "SLEEP") {
			time.Sleep(time.Millisecond)
		}
		if _, err := reader.Exec(fmt.Sprintf("KILL QUERY %d", v.id)); err != nil {
			t.Fatalf("reader kills own query: %v", err)
		}
		atKill := st.Stats().EventsDecoded
		err := <-v.done
		if err == nil || !strings.Contains(err.Error(), "1317") || !strings.Contains(err.Error(), "interrupted") {
			t.Fatalf("%s: killed query returned %v, want ERROR 1317", q, err)
		}
		after := st.Stats().EventsDecoded
		// Native scans stop within the chunks in flight (10 positions
		// each); GMS's within a row (decoded is counted when an engine
		// iterator closes, so GMS's whole scan counts after the kill).
		if strings.Contains(q, "SLEEP") {
			atKill = base
		}
		if after-atKill > 100 || after-base >= total {
			t.Errorf("%s: %d events decoded after KILL, %d in all (store has %d)", q, after-atKill, after-base, total)
		}
		var one int
		if err := v.conn.QueryRowContext(context.Background(), "SELECT 1").Scan(&one); err != nil {
			t.Fatalf("connection after KILL QUERY: %v", err)
		}
		v.conn.Close()
	}
}

func TestKillPermissionsAndProcessList(t *testing.T) {
	st := openStore(t)
	open := killFront(t, st, nil)
	reader, other, admin := open("reader"), open("other"), open("admin")

	v := startVictim(t, reader, "SELECT SLEEP(60)")
	waitRunning(t, admin, v)

	if _, err := other.Exec(fmt.Sprintf("KILL QUERY %d", v.id)); err == nil || !strings.Contains(err.Error(), "1095") {
		t.Fatalf("other user's KILL QUERY: %v, want ERROR 1095", err)
	}
	if _, err := other.Exec(fmt.Sprintf("KILL %d", v.id)); err == nil || !strings.Contains(err.Error(), "1095") {
		t.Fatalf("other user's KILL CONNECTION: %v, want ERROR 1095", err)
	}
	for _, db := range []*sql.DB{other, admin} {
		for _, q := range []string{"KILL QUERY 987654", "KILL 987654"} {
			if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "1094") {
				t.Fatalf("%s (an unknown thread): %v, want ERROR 1094", q, err)
			}
		}
	}
	users := func(db *sql.DB) map[string]bool {
		t.Helper()
		got := map[string]bool{}
		for _, r := range queryStrings(t, db, "SHOW PROCESSLIST") {
			got[r[1]] = true
		}
		return got
	}
	if got := users(other); len(got) != 1 || !got["other"] {
		t.Fatalf("other's SHOW PROCESSLIST shows users %v, want only other", got)
	}
	if got := users(reader); len(got) != 1 || !got["reader"] {
		t.Fatalf("reader's SHOW PROCESSLIST shows users %v, want only reader", got)
	}
	if got := users(admin); !got["reader"] || !got["other"] || !got["admin"] {
		t.Fatalf("admin's SHOW PROCESSLIST shows users %v, want everyone", got)
	}
	// State is MySQL's short word, not GMS's progress tree (lines and
	// partition names).
	for _, r := range queryStrings(t, admin, "SHOW PROCESSLIST") {
		if r[6] != "running" && r[6] != "" {
			t.Errorf("SHOW PROCESSLIST row %q: State %q", r, r[6])
		}
	}
	for _, q := range []string{
		"SELECT DISTINCT user FROM information_schema.processlist",
		"SELECT DISTINCT user FROM information_schema.processlist WHERE id IN (SELECT id FROM information_schema.processlist)",
		"SELECT (SELECT MAX(user) FROM information_schema.processlist)",
	} {
		if got := queryStrings(t, other, q); fmt.Sprint(got) != "[[other]]" {
			t.Errorf("other: %s = %v, want only other", q, got)
		}
		if got := queryStrings(t, admin, q); len(got) < 2 && !strings.HasPrefix(q, "SELECT (") {
			t.Errorf("admin: %s = %v, want every user", q, got)
		}
	}
	select {
	case err := <-v.done:
		t.Fatalf("refused KILLs stopped the query: %v", err)
	default:
	}

	// The admin may kill anyone's query, and connection.
	if _, err := admin.Exec(fmt.Sprintf("KILL QUERY %d", v.id)); err != nil {
		t.Fatalf("admin KILL QUERY: %v", err)
	}
	if err := <-v.done; err == nil || !strings.Contains(err.Error(), "1317") {
		t.Fatalf("killed SLEEP returned %v, want ERROR 1317", err)
	}
	var one int
	if err := v.conn.QueryRowContext(context.Background(), "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("connection after KILL QUERY: %v", err)
	}
	if _, err := admin.Exec(fmt.Sprintf("KILL CONNECTION %d", v.id)); err != nil {
		t.Fatalf("admin KILL CONNECTION: %v", err)
	}
	if err := v.conn.QueryRowContext(context.Background(), "SELECT 1").Scan(&one); err == nil {
		t.Fatal("connection still works after KILL CONNECTION")
	}
	v.conn.Close()
}
