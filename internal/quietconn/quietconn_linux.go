package quietconn

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// Conn is a TCP connection read and written with raw system calls.
type Conn struct {
	*net.TCPConn
	raw syscall.RawConn
	// held is what was written since Hold, sent by the next Read;
	// holding says Hold is in force. Both belong to the goroutine that
	// reads and writes the connection.
	held    []byte
	holding bool
}

// maxHeld is how much Hold keeps before it writes anyway.
const maxHeld = 64 << 10

// Hold keeps what is written from now on in memory, and writes it with
// one system call just before the next Read (or when it reaches 64 KiB):
// for a reply a library writes packet by packet without buffering it
// (vitess's answer to COM_STMT_PREPARE is a write, and a wake-up of the
// client, per column). Call it from the goroutine that reads and writes
// the connection. A held reply waits for the next read of the socket: a
// client that pipelined further commands (already in the reader's
// buffer) gets it once those are answered too; one that waits for it, as
// MySQL clients do after a prepare, gets it at once.
func (c *Conn) Hold() { c.holding = true }

// release writes what Hold kept.
func (c *Conn) release() error {
	c.holding = false
	if len(c.held) == 0 {
		return nil
	}
	_, err := c.write(c.held)
	c.held = c.held[:0]
	if cap(c.held) > maxHeld {
		c.held = nil
	}
	return err
}

// Wrap is c as a Conn when c is a TCP connection, else c.
func Wrap(c net.Conn) net.Conn {
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return c
	}
	return &Conn{TCPConn: tcp, raw: raw}
}

// Read reads into p with one raw read(2), waiting through the network
// poller while the socket has nothing to read; a closed peer is io.EOF.
func (c *Conn) Read(p []byte) (int, error) {
	if c.holding {
		if err := c.release(); err != nil {
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case 0:
				n = int(r)
				return true
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			default:
				errno = e
				return true
			}
		}
	})
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p with raw write(2)s, waiting through the network
// poller while the socket's send buffer is full.
func (c *Conn) Write(p []byte) (int, error) {
	if c.holding {
		if len(c.held)+len(p) <= maxHeld {
			c.held = append(c.held, p...)
			return len(p), nil
		}
		if err := c.release(); err != nil {
			return 0, err
		}
	}
	return c.write(p)
}

// write writes all of p.
func (c *Conn) write(p []byte) (int, error) {
	var done int
	var errno syscall.Errno
	err := c.raw.Write(func(fd uintptr) bool {
		for done < len(p) {
			r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[done])), uintptr(len(p)-done))
			switch e {
			case 0:
				done += int(r)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return done, c.opError("write", err)
	case errno != 0:
		return done, c.opError("write", os.NewSyscallError("write", errno))
	}
	return done, nil
}

// opError wraps err as net.TCPConn's methods do. RawConn's own errors are
// *net.OpError already (op "raw-read"/"raw-write"); they get the plain op.
func (c *Conn) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
