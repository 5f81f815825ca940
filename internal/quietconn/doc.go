// Package quietconn makes a server's TCP connections cheaper to serve
// after a pause, by keeping their reads and writes out of the Go
// scheduler's view.
//
// A Go program that goes idle between requests pays for its runtime's
// system monitor (sysmon) on every request: while all Ps are idle sysmon
// sleeps until a goroutine enters a system call, and the call that wakes
// it sets it polling every 20 µs for the next millisecond
// (golang/go#18236). A query of a few hundred microseconds served after
// a pause, the common case for a client that sends a query, reads the
// result and then thinks, thus woke sysmon ten to twenty times; on the
// project's VM each wake-up is a pair of context switches of a few
// microseconds, 15% of the server's CPU for a 100-row SQL range query
// (perf: do_nanosleep from runtime.usleep, notetsleep,
// entersyscallWakeSysmon).
//
// Reads and writes of a connection's non-blocking socket return at once,
// so on Linux a Conn makes them as raw system calls, which the scheduler
// does not see, inside syscall.RawConn's Read and Write: those wait
// through the runtime's network poller (deadlines included) when the
// socket is not ready, as net.TCPConn does, without a system call of
// their own. Everything else (Close, deadlines, addresses, options) is
// the TCP connection's. Elsewhere connections are left as they are.
//
// sysmon still wakes for the program's other system calls, timers and
// garbage collections, so it keeps preempting long-running goroutines
// while the server is busy.
package quietconn

import "net"

// Listener wraps the TCP connections its listener accepts (see Wrap).
type Listener struct {
	net.Listener
}

// Accept waits for the next connection and wraps it.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	return Wrap(c), nil
}

// TCP is the TCP connection under c: c itself, or the one a Conn wraps.
func TCP(c net.Conn) (*net.TCPConn, bool) {
	if q, ok := c.(*Conn); ok {
		return q.TCPConn, true
	}
	tcp, ok := c.(*net.TCPConn)
	return tcp, ok
}
