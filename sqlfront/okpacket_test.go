package sqlfront

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawConn is a minimal MySQL protocol client that shows the bytes of the
// server's answers: go-sql-driver/mysql skips everything after an OK
// packet's warnings, but the MySQL and MariaDB client libraries (the
// mysql and mariadb CLIs, Connector/C and everything built on it) read it
// as a length-encoded info string.
type rawConn struct {
	c   net.Conn
	r   *bufio.Reader
	seq byte
}

func (rc *rawConn) readPacket(t *testing.T) []byte {
	t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(rc.r, hdr[:]); err != nil {
		t.Fatalf("read packet header: %v", err)
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	rc.seq = hdr[3] + 1
	p := make([]byte, n)
	if _, err := io.ReadFull(rc.r, p); err != nil {
		t.Fatalf("read packet: %v", err)
	}
	return p
}

func (rc *rawConn) writePacket(t *testing.T, p []byte) {
	t.Helper()
	hdr := []byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), rc.seq}
	if _, err := rc.c.Write(append(hdr, p...)); err != nil {
		t.Fatalf("write packet: %v", err)
	}
	rc.seq++
}

// dialRaw connects and logs in with mysql_native_password.
func dialRaw(t *testing.T, addr, user, pass string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	rc := &rawConn{c: c, r: bufio.NewReader(c)}
	hs := rc.readPacket(t)
	if hs[0] != 10 {
		t.Fatalf("handshake protocol %d, want 10", hs[0])
	}
	p := bytes.IndexByte(hs[1:], 0) + 2 // after the server version
	p += 4                              // connection id
	salt := append([]byte{}, hs[p:p+8]...)
	p += 8 + 1 + 2 + 1 + 2 + 2 // filler, capabilities, charset, status, capabilities
	saltLen := int(hs[p])
	p += 1 + 10
	salt = append(salt, hs[p:p+max(12, saltLen-9)]...)

	h1 := sha1.Sum([]byte(pass))
	h2 := sha1.Sum(h1[:])
	h3 := sha1.Sum(append(append([]byte{}, salt...), h2[:]...))
	scramble := make([]byte, 20)
	for i := range scramble {
		scramble[i] = h1[i] ^ h3[i]
	}
	const caps = 0x1 | 0x200 | 0x2000 | 0x8000 | 0x80000 // long password, protocol 41, transactions, secure connection, plugin auth
	var resp []byte
	resp = binary.LittleEndian.AppendUint32(resp, caps)
	resp = binary.LittleEndian.AppendUint32(resp, 1<<24)
	resp = append(resp, 33)
	resp = append(resp, make([]byte, 23)...)
	resp = append(append(resp, user...), 0)
	resp = append(append(resp, byte(len(scramble))), scramble...)
	resp = append(append(resp, "mysql_native_password"...), 0)
	rc.writePacket(t, resp)
	if ok := rc.readPacket(t); ok[0] != 0 {
		t.Fatalf("login answered %q, want an OK packet", ok)
	}
	return rc
}

// query sends a COM_QUERY and returns the first packet of the answer.
func (rc *rawConn) query(t *testing.T, q string) []byte {
	t.Helper()
	rc.seq = 0
	rc.writePacket(t, append([]byte{3}, q...))
	return rc.readPacket(t)
}

// lenEnc reads a length-encoded integer as the client libraries do.
func lenEnc(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, io.ErrUnexpectedEOF
	}
	switch b[0] {
	case 0xfc:
		if len(b) < 3 {
			return 0, 0, io.ErrUnexpectedEOF
		}
		return uint64(binary.LittleEndian.Uint16(b[1:])), 3, nil
	case 0xfd:
		if len(b) < 4 {
			return 0, 0, io.ErrUnexpectedEOF
		}
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, 4, nil
	case 0xfe:
		if len(b) < 9 {
			return 0, 0, io.ErrUnexpectedEOF
		}
		return binary.LittleEndian.Uint64(b[1:]), 9, nil
	}
	return uint64(b[0]), 1, nil
}

// checkOKPacket parses an OK packet as libmysqlclient and libmariadb do:
// affected rows, insert id, status, warnings, then, if anything is
// left, a length-encoded info string that must fit the packet.
func checkOKPacket(p []byte) error {
	if len(p) == 0 || p[0] != 0 {
		return fmt.Errorf("not an OK packet: %q", p)
	}
	pos := 1
	for range 2 {
		_, n, err := lenEnc(p[pos:])
		if err != nil {
			return err
		}
		pos += n
	}
	pos += 4
	if pos > len(p) {
		return io.ErrUnexpectedEOF
	}
	if pos == len(p) {
		return nil
	}
	l, n, err := lenEnc(p[pos:])
	if err != nil {
		return err
	}
	if pos+n+int(l) > len(p) {
		return fmt.Errorf("info string of %d bytes in the %d bytes left (packet %q): malformed packet", l, len(p)-pos-n, p)
	}
	return nil
}

// TestOKPacketsParseInMySQLClientLibraries: statements answered with an
// OK packet (PREPARE, SET, USE, DEALLOCATE) send packets that the mysql
// and mariadb CLIs can parse. PREPARE used to send the info "Statement
// prepared" as '#' and the text, which those read as a 35-byte string:
// ERROR 2027 Received malformed packet.
func TestOKPacketsParseInMySQLClientLibraries(t *testing.T) {
	st, addr := testFrontAddr(t)
	appendEvents(t, st, "order-1", "OrderPlaced", `{"amount":10}`)
	rc := dialRaw(t, addr, "admin", "admin-pw")
	for _, q := range []string{
		"PREPARE s FROM 'SELECT stream, amount FROM by_type.OrderPlaced WHERE amount > ?'",
		"SET @a = 5",
		"USE by_type",
		"DEALLOCATE PREPARE s",
		"PREPARE s2 FROM 'SELECT 1'",
	} {
		if err := checkOKPacket(rc.query(t, q)); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	// The prepared statement works after its OK packet.
	if p := rc.query(t, "EXECUTE s2"); p[0] != 1 { // a result set of one column
		t.Fatalf("EXECUTE s2 answered %q, want a result set", p)
	}
}

// initDB sends COM_INIT_DB (the CLIs' "use" command) and returns the
// answer.
func (rc *rawConn) initDB(t *testing.T, db string) []byte {
	t.Helper()
	rc.seq = 0
	rc.writePacket(t, append([]byte{2}, db...))
	return rc.readPacket(t)
}

// TestInitDBRefusesMySQLToReaders: a reader's COM_INIT_DB of the mysql
// database (the mariadb CLI's "use mysql", a connection string's
// database) is ERROR 1044 like the USE statement; GMS let it through.
func TestInitDBRefusesMySQLToReaders(t *testing.T) {
	_, addr := testFrontAddr(t)
	reader := dialRaw(t, addr, "reader", "r-pw")
	if p := reader.initDB(t, "mysql"); p[0] != 0xff || binary.LittleEndian.Uint16(p[1:]) != 1044 ||
		!bytes.Contains(p, []byte("Access denied for user 'reader'@'%' to database 'mysql'")) {
		t.Fatalf("reader's COM_INIT_DB mysql answered %q, want ERROR 1044", p)
	}
	for _, db := range []string{"by_type", "eventsql", "information_schema"} {
		if p := reader.initDB(t, db); p[0] != 0 {
			t.Fatalf("reader's COM_INIT_DB %s answered %q, want OK", db, p)
		}
	}
	if p := dialRaw(t, addr, "admin", "admin-pw").initDB(t, "mysql"); p[0] != 0 {
		t.Fatalf("admin's COM_INIT_DB mysql answered %q, want OK", p)
	}
	// A connection string naming mysql is refused the same way.
	db, err := sql.Open("mysql", "reader:r-pw@tcp("+addr+")/mysql")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err == nil || !strings.Contains(err.Error(), "1044") {
		t.Fatalf("reader connecting to database mysql: %v, want ERROR 1044", err)
	}
}
