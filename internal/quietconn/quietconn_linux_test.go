package quietconn

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"
)

// quietPair is a Conn accepted on a loopback listener and the
// plain client connection at the other end.
func quietPair(t *testing.T) (server net.Conn, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ql := Listener{ln}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ql.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	if _, ok := server.(*Conn); !ok {
		t.Fatalf("accepted %T, want *Conn", server)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// TestQuietConnCarriesBytesBothWays sends more than the socket buffers
// hold each way, so reads and writes hit EAGAIN and wait through the
// poller, and compares what arrives.
func TestQuietConnCarriesBytesBothWays(t *testing.T) {
	server, client := quietPair(t)
	const size = 32 << 20
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(rand.Uint32())
	}
	for _, tc := range []struct {
		name     string
		from, to net.Conn
	}{
		{"server writes", server, client},
		{"server reads", client, server},
	} {
		t.Run(tc.name, func(t *testing.T) {
			werr := make(chan error, 1)
			go func() {
				// Odd-sized writes, so the reader's buffer boundaries differ.
				for off := 0; off < size; {
					n := min(size-off, 1+rand.IntN(3<<20))
					w, err := tc.from.Write(payload[off : off+n])
					if err != nil || w != n {
						werr <- errors.Join(err, io.ErrShortWrite)
						return
					}
					off += n
				}
				werr <- nil
			}()
			got := make([]byte, size)
			if _, err := io.ReadFull(tc.to, got); err != nil {
				t.Fatal(err)
			}
			if err := <-werr; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatal("bytes differ")
			}
		})
	}
}

// TestQuietConnEnds: a peer's close is io.EOF, a read deadline is
// os.ErrDeadlineExceeded (a net.Error with Timeout), a close from
// another goroutine ends a waiting read with net.ErrClosed, and writes
// to a reset connection fail.
func TestQuietConnEnds(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		server, _ := quietPair(t)
		server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := server.Read(make([]byte, 10))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past the deadline: %v", err)
		}
	})
	t.Run("peer closes", func(t *testing.T) {
		server, client := quietPair(t)
		client.Write([]byte("bye"))
		client.Close()
		got, err := io.ReadAll(server)
		if err != nil || string(got) != "bye" {
			t.Fatalf("ReadAll = %q, %v; want \"bye\", nil", got, err)
		}
		if n, err := server.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Fatalf("read after EOF = %d, %v", n, err)
		}
	})
	t.Run("closed while reading", func(t *testing.T) {
		server, _ := quietPair(t)
		done := make(chan error, 1)
		go func() {
			_, err := server.Read(make([]byte, 10))
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		server.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read ended by Close: %v, want net.ErrClosed", err)
		}
	})
	t.Run("peer resets", func(t *testing.T) {
		server, client := quietPair(t)
		client.(*net.TCPConn).SetLinger(0)
		client.Close()
		var err error
		for range 100 {
			if _, err = server.Write(make([]byte, 64<<10)); err != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "write" {
			t.Fatalf("write to a reset connection: %v, want a write *net.OpError", err)
		}
	})
}

// TestHoldWritesBeforeTheNextRead: after Hold, writes reach the peer
// only when the connection next reads (in one piece), or once 64 KiB are
// kept.
func TestHoldWritesBeforeTheNextRead(t *testing.T) {
	server, client := quietPair(t)
	q := server.(*Conn)
	q.Hold()
	for _, s := range []string{"column 1;", "column 2;", "eof"} {
		if n, err := q.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("held write: %d, %v", n, err)
		}
	}
	client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := client.Read(make([]byte, 64)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the peer got %d bytes (%v) before the server read", n, err)
	}
	client.SetReadDeadline(time.Time{})
	if _, err := client.Write([]byte("next command")); err != nil {
		t.Fatal(err)
	}
	if n, err := server.Read(make([]byte, 64)); n != len("next command") || err != nil {
		t.Fatalf("server read: %d, %v", n, err)
	}
	want := "column 1;column 2;eof"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(client, got); err != nil || string(got) != want {
		t.Fatalf("peer got %q, %v; want %q", got, err, want)
	}

	// Past 64 KiB the kept bytes go out, and later writes are not held.
	q.Hold()
	big := bytes.Repeat([]byte("x"), maxHeld)
	q.Write([]byte("head;"))
	go q.Write(big)
	got = make([]byte, len("head;")+len(big))
	if _, err := io.ReadFull(client, got); err != nil || !bytes.HasPrefix(got, []byte("head;x")) {
		t.Fatalf("peer got %d bytes (%v) of an overflowing hold", len(got), err)
	}
}
