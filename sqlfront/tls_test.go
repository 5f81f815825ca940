package sqlfront

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"log/slog"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/eventsql/eventsql/httpfront"
)

// selfSigned is a TLS configuration with a certificate for 127.0.0.1.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// readPacket reads one MySQL packet; nil at the end of the connection.
func readPacket(t *testing.T, c net.Conn) []byte {
	t.Helper()
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return nil
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	b := make([]byte, n)
	io.ReadFull(c, b)
	return b
}

// writePacket writes b as packet seq.
func writePacket(c net.Conn, seq byte, b []byte) {
	h := []byte{byte(len(b)), byte(len(b) >> 8), byte(len(b) >> 16), seq}
	c.Write(append(h, b...))
}

// TestPlainConnectionRefusedWhenTLSRequired speaks the handshake by hand
// as a client that ignores errors: without TLS on a server that requires
// it, the server answers ERROR 3159 and closes the connection. (Through
// vitess's own check the server sent ERROR 1105 and then went on: the
// same client got an OK packet and ran queries in plain text.)
func TestPlainConnectionRefusedWhenTLSRequired(t *testing.T) {
	st, _ := testFrontAddr(t)
	fe, err := New(st, []Account{{Name: "reader", NativeHash: httpfront.HashPassword("pw")}, {Name: "admin", Admin: true, NativeHash: httpfront.HashPassword("a")}},
		Options{Version: "x", TLS: selfSigned(t), RequireTLS: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go fe.Serve(l)
	defer fe.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	sendLogin(t, c, "reader", "pw")
	// The refusal, then nothing: the connection is closed.
	p := readPacket(t, c)
	if len(p) < 3 || p[0] != 0xff || binary.LittleEndian.Uint16(p[1:3]) != 3159 {
		t.Fatalf("first packet %q, want ERROR 3159", p)
	}
	if p := readPacket(t, c); p != nil {
		t.Fatalf("after the refusal the server sent %q", p)
	}
}

// sendLogin reads the server's greeting on c and answers it as user with
// password pw (mysql_native_password, database eventsql), without TLS;
// the server's answer is left unread.
func sendLogin(t *testing.T, c net.Conn, user, pw string) {
	t.Helper()
	g := readPacket(t, c)
	// protocol 10, version\0, conn id 4, salt1 8, filler, caps 2, charset, status 2, caps 2, authlen, 10 reserved, salt2
	i := 1
	for g[i] != 0 {
		i++
	}
	i++
	i += 4
	salt := append([]byte{}, g[i:i+8]...)
	i += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10
	salt = append(salt, g[i:i+12]...)
	// mysql_native_password scramble
	h1 := sha1.Sum([]byte(pw))
	h2 := sha1.Sum(h1[:])
	s := sha1.New()
	s.Write(salt)
	s.Write(h2[:])
	h3 := s.Sum(nil)
	auth := make([]byte, 20)
	for k := range auth {
		auth[k] = h1[k] ^ h3[k]
	}
	caps := uint32(0x00000200 | 0x00008000 | 0x00080000 | 0x00000001 | 0x00000008) // PROTOCOL_41|SECURE_CONN|PLUGIN_AUTH|LONG_PASSWORD|CONNECT_WITH_DB
	var resp []byte
	resp = binary.LittleEndian.AppendUint32(resp, caps)
	resp = binary.LittleEndian.AppendUint32(resp, 1<<24)
	resp = append(resp, 33)
	resp = append(resp, make([]byte, 23)...)
	resp = append(resp, user+"\x00"...)
	resp = append(resp, 20)
	resp = append(resp, auth...)
	resp = append(resp, "eventsql\x00"...)
	resp = append(resp, "mysql_native_password\x00"...)
	writePacket(c, 1, resp)
}
