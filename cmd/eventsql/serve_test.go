package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventsql/eventsql/httpfront"
	"github.com/go-sql-driver/mysql"
)

// writeSelfSignedCert writes a certificate for 127.0.0.1 and its key.
func writeSelfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "eventsql test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// startServe runs `eventsql serve args...` in process and returns the
// base URL and SQL address it prints, and a stop function that waits for
// it to end.
func startServe(t *testing.T, args ...string) (base, sqlAddr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--http", "127.0.0.1:0", "--mysql", "127.0.0.1:0", "--log-level", "error"}, args...), pw, io.Discard)
		pw.Close()
	}()
	br := bufio.NewReader(pr)
	line, err := br.ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("serve printed nothing: %v (exit: %v)", err, <-done)
	}
	sqlLine, err := br.ReadString('\n')
	go io.Copy(io.Discard, pr)
	if err != nil {
		cancel()
		t.Fatalf("serve printed no SQL address: %v (exit: %v)", err, <-done)
	}
	sqlAddr = sqlLine[strings.LastIndex(strings.TrimSpace(sqlLine), " ")+1:]
	sqlAddr = strings.TrimSpace(sqlAddr)
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, "http://") || strings.HasPrefix(f, "https://") {
			base = strings.TrimSuffix(f, ",")
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no URL in %q", line)
	}
	return base, sqlAddr, func() error { cancel(); return <-done }
}

func TestServeWithTLSAndConfiguredUsers(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := writeSelfSignedCert(t, dir)
	usersFile := filepath.Join(dir, "users")
	os.WriteFile(usersFile, []byte("ann:reader:a-pw\n"), 0o600)
	base, sqlAddr, stop := startServe(t, "--data", filepath.Join(dir, "data"), "--admin-password", "adm",
		"--tls-cert", certFile, "--tls-key", keyFile, "--users-file", usersFile, "--user", "wes:writer:w-pw")
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("base = %q, want https", base)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(user, pass, path string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	post := func(user, pass string) int {
		req, _ := http.NewRequest("POST", base+"/streams/s-1", strings.NewReader(`[{"eventType":"E","data":{}}]`))
		req.SetBasicAuth(user, pass)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("", "", "/health/live"); got != 200 {
		t.Fatalf("health over TLS = %d", got)
	}
	if got := post("wes", "w-pw"); got != 201 {
		t.Fatalf("writer from --user append = %d", got)
	}
	if got := post("ann", "a-pw"); got != 403 {
		t.Fatalf("reader from --users-file append = %d, want 403", got)
	}
	if got := get("ann", "a-pw", "/streams/s-1"); got != 200 {
		t.Fatalf("reader read = %d", got)
	}
	if got := get("admin", "changeit", "/stats"); got != 401 {
		t.Fatalf("default password accepted after --admin-password: %d", got)
	}
	// Plain HTTP to the TLS port is refused.
	if resp, err := http.Get(strings.Replace(base, "https://", "http://", 1) + "/health/live"); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("plain HTTP to the TLS port = %d", resp.StatusCode)
		}
	}
	// SQL on the same certificate: TLS works, plain connections are refused.
	mysql.RegisterTLSConfig("eventsql-test", &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	db, err := sql.Open("mysql", "ann:a-pw@tcp("+sqlAddr+")/eventsql?tls=eventsql-test")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM events").Scan(&n); err != nil || n != 1 {
		t.Fatalf("SQL over TLS: %d, %v", n, err)
	}
	plain, _ := sql.Open("mysql", "ann:a-pw@tcp("+sqlAddr+")/eventsql?tls=false")
	defer plain.Close()
	var me *mysql.MySQLError
	if err := plain.Ping(); !errors.As(err, &me) || me.Number != 3159 {
		t.Fatalf("a plain SQL connection while TLS is configured: %v, want MySQL's ERROR 3159", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}

func TestServeRefusesBadSecurityConfig(t *testing.T) {
	dir := t.TempDir()
	certFile, _, _ := writeSelfSignedCert(t, dir)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"--tls-cert", certFile}, "go together"},
		{"unreadable key", []string{"--tls-cert", certFile, "--tls-key", filepath.Join(dir, "nope.pem")}, "--tls-key"},
		{"bad user", []string{"--user", "ann:boss:x"}, "unknown role"},
		{"missing users file", []string{"--users-file", filepath.Join(dir, "nope")}, "users file"},
		{"default password on all interfaces", []string{"--http", "0.0.0.0:0"}, "default password"},
		{"export dir without interval", []string{"--export-dir", dir}, "--export-dir needs --export-every"},
		{"interval without export dir", []string{"--export-every", "1m"}, "--export-every needs --export-dir"},
		{"negative interval", []string{"--export-every", "-1m", "--export-dir", dir}, "positive duration"},
		{"a user with the default password on all interfaces", []string{"--http", "0.0.0.0:0", "--admin-password", "x", "--user", "u:reader:changeit"}, "default password"},
		{"bad CORS origin", []string{"--cors-origin", "app.example.com"}, "--cors-origin: CORS origin \"app.example.com\": want * or scheme://host[:port]"},
		{"a user given twice", []string{"--user", "bob:reader:a", "--user", "bob:writer:b"}, `user "bob" is defined twice by --user on the command line`},
		{"no admin left", []string{"--user", "admin:reader:x"}, `no user has the admin role: user "admin" is redefined as reader by --user on the command line`},
		{"admin password and admin user", []string{"--admin-password", "p", "--user", "admin:admin:q"}, `user "admin" is defined twice: by --admin-password on the command line and by --user on the command line`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--data", filepath.Join(t.TempDir(), "d"), "--mysql", "127.0.0.1:0", "--log-level", "error"}, tt.args...)
			err := run(context.Background(), args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("serve %v = %v, want error with %q", tt.args, err, tt.want)
			}
		})
	}
}

// TestServeUserSources checks that a user name defined twice within or
// across the sources of users is refused at start with the user and the
// sources named, and that the documented precedence still holds: the
// command line's --user replaces the config file's user lines, and the
// default admin may be redefined.
func TestServeUserSources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	usersFile := write("users", "ann:reader:a\nbob:reader:b\n")
	twiceFile := write("twice", "ann:reader:a\n\nann:writer:b\n")
	config := write("config", "admin-password adm\nuser cy:reader:c\nuser cy:writer:d\n")
	refuse := func(t *testing.T, want string, args ...string) {
		t.Helper()
		args = append([]string{"serve", "--data", filepath.Join(t.TempDir(), "d"), "--mysql", "off", "--log-level", "error"}, args...)
		err := run(context.Background(), args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("serve %v = %v, want error with %q", args, err, want)
		}
	}
	t.Run("twice in the users file", func(t *testing.T) {
		refuse(t, `user "ann" is defined twice: by users file `+twiceFile+`:1 and by users file `+twiceFile+`:3`, "--users-file", twiceFile)
	})
	t.Run("users file and command line", func(t *testing.T) {
		refuse(t, `user "bob" is defined twice: by users file `+usersFile+`:2 and by --user on the command line`,
			"--users-file", usersFile, "--user", "bob:writer:x")
	})
	t.Run("twice in the config file", func(t *testing.T) {
		refuse(t, `user "cy" is defined twice by user in config file `+config, "--config", config)
	})
	t.Run("environment and users file", func(t *testing.T) {
		t.Setenv("EVENTSQL_USER", "ann:writer:x")
		refuse(t, `user "ann" is defined twice: by users file `+usersFile+`:1 and by EVENTSQL_USER`, "--users-file", usersFile)
	})
	t.Run("admin password from the config file and an admin user", func(t *testing.T) {
		refuse(t, `user "admin" is defined twice: by admin-password in config file `+config+` and by --user on the command line`,
			"--config", config, "--user", "admin:admin:x")
	})
	t.Run("no admin", func(t *testing.T) {
		t.Setenv("EVENTSQL_USER", "admin:writer:x")
		refuse(t, `no user has the admin role: user "admin" is redefined as writer by EVENTSQL_USER`)
	})

	// The command line's --user replaces the config file's user lines
	// (cy twice there is then no error), and redefines the default admin
	// (no --admin-password anywhere) with a hashed password.
	plain := write("plain", "user cy:reader:c\nuser cy:writer:d\n")
	base, sqlAddr, stop := startServe(t, "--data", filepath.Join(dir, "data"), "--config", plain,
		"--user", "admin:admin:"+httpfront.HashPassword("new-pw"), "--user", "cy:writer:e", "--users-file", usersFile)
	status := func(user, pass string) int {
		req, _ := http.NewRequest("POST", base+"/streams/s-1", strings.NewReader(`[{"eventType":"E","data":{}}]`))
		req.SetBasicAuth(user, pass)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		user, pass string
		want       int
	}{{"admin", "new-pw", 201}, {"admin", "changeit", 401}, {"cy", "e", 201}, {"cy", "d", 401}, {"ann", "a", 403}} {
		if got := status(c.user, c.pass); got != c.want {
			t.Errorf("append as %s:%s = %d, want %d", c.user, c.pass, got, c.want)
		}
	}
	db, err := sql.Open("mysql", "admin:new-pw@tcp("+sqlAddr+")/eventsql")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM events").Scan(&n); err != nil || n != 2 {
		t.Fatalf("SQL as the redefined admin: %d, %v", n, err)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}
