//go:build !linux

package quietconn

import "net"

// Conn is a TCP connection; outside Linux Wrap leaves connections as
// they are.
type Conn struct {
	*net.TCPConn
}

// Hold does nothing outside Linux.
func (c *Conn) Hold() {}

// Wrap returns c.
func Wrap(c net.Conn) net.Conn { return c }
