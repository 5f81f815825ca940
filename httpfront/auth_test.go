package httpfront

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUserSpecs(t *testing.T) {
	tests := []struct {
		spec      string
		ok        bool
		name, pw  string
		role      Role
		errSubstr string
	}{
		{spec: "alice:reader:s3cret", ok: true, name: "alice", pw: "s3cret", role: RoleReader},
		{spec: "bob:writer:pa:ss:word", ok: true, name: "bob", pw: "pa:ss:word", role: RoleWriter},
		{spec: "carol:admin:" + HashPassword("hashed"), ok: true, name: "carol", pw: "hashed", role: RoleAdmin},
		{spec: "cora:reader:sha256:" + sha256Hex("hashed2"), ok: true, name: "cora", pw: "hashed2", role: RoleReader},
		{spec: "dave:root:topsecret", errSubstr: "unknown role"},
		{spec: "erin:reader", errSubstr: "name:role:password"},
		{spec: "topsecret", errSubstr: "name:role:password"},
		{spec: ":reader:x", errSubstr: "name:role:password"},
		{spec: "frank:reader:", errSubstr: "name:role:password"},
		{spec: "gina:reader:sha256:abc", errSubstr: "64 hex"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			u := NewUsers("admin-pw")
			err := u.AddSpec(tt.spec, "test")
			if !tt.ok {
				if err == nil || !strings.Contains(err.Error(), tt.errSubstr) {
					t.Fatalf("AddSpec(%q) = %v, want error with %q", tt.spec, err, tt.errSubstr)
				}
				if strings.Contains(err.Error(), "topsecret") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			role, ok := u.check(tt.name, tt.pw)
			if !ok || role != tt.role {
				t.Fatalf("check(%q, %q) = %v, %v; want %v", tt.name, tt.pw, role, ok, tt.role)
			}
			if _, ok := u.check(tt.name, tt.pw+"x"); ok {
				t.Fatal("a wrong password was accepted")
			}
		})
	}
}

func TestUsersFileAndDefaultPassword(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	content := "# analysts\nann:reader:a-pw\n\n  wes:writer:" + HashPassword("w-pw") + "  \n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	u := NewUsers("strong")
	if err := u.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if r, ok := u.check("ann", "a-pw"); !ok || r != RoleReader {
		t.Fatalf("ann = %v %v", r, ok)
	}
	if r, ok := u.check("wes", "w-pw"); !ok || r != RoleWriter {
		t.Fatalf("wes = %v %v", r, ok)
	}
	if u.HasDefaultPassword() {
		t.Fatal("no user has the default password")
	}
	// A user given the default password counts, not only the admin.
	u.Add("lazy", DefaultAdminPassword, RoleReader)
	if !u.HasDefaultPassword() || CheckListenAddress("0.0.0.0:2113", u) == nil {
		t.Fatal("default password on a non-loopback address was allowed")
	}

	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("ok:reader:x\nbroken\n"), 0o600)
	if err := NewUsers("p").LoadFile(bad); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("LoadFile(bad) = %v, want the line number", err)
	}
	if err := NewUsers("p").LoadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing users file accepted")
	}
}

func sha256Hex(pw string) string {
	d := sha256.Sum256([]byte(pw))
	return hex.EncodeToString(d[:])
}

func TestEachGivesSQLHashes(t *testing.T) {
	u := NewUsers("adm")
	u.AddSpec("web:reader:sha256:"+sha256Hex("x"), "test")
	u.AddSpec("bi:reader:"+HashPassword("y"), "test")
	got := map[string]string{}
	u.Each(func(name string, role Role, native string) { got[name] = native })
	// MySQL's PASSWORD('adm') is *B8A6D7A0D1A3F0F3C2F8F4C5B7B5A0E8D3E1F1C4-like: 41 chars.
	if len(got["admin"]) != 41 || got["admin"][0] != '*' || got["bi"] != HashPassword("y") || got["web"] != "" {
		t.Fatalf("Each = %v", got)
	}
	// A known value: MySQL's PASSWORD('password').
	if h := HashPassword("password"); h != "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19" {
		t.Fatalf("HashPassword(password) = %s", h)
	}
}

func TestUsersDefinedOnce(t *testing.T) {
	u := NewUsers("adm")
	if err := u.AddSpec("bob:reader:a", "--user on the command line"); err != nil {
		t.Fatal(err)
	}
	err := u.AddSpec("bob:writer:b", "--user on the command line")
	var dup *DuplicateUserError
	if !errors.As(err, &dup) || dup.Name != "bob" || err.Error() != `user "bob" is defined twice by --user on the command line` {
		t.Fatalf("second bob = %v", err)
	}
	if r, ok := u.check("bob", "a"); !ok || r != RoleReader {
		t.Fatalf("the first bob was replaced: %v %v", r, ok)
	}
	// The default admin may be redefined, once.
	if err := u.AddSpec("admin:admin:"+HashPassword("h"), "users file u:1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := u.check("admin", "h"); !ok {
		t.Fatal("redefined admin cannot log in")
	}
	if err := u.AddSpec("admin:admin:x", "--user on the command line"); err == nil ||
		err.Error() != `user "admin" is defined twice: by users file u:1 and by --user on the command line` {
		t.Fatalf("admin twice = %v", err)
	}
	// A configured admin password makes the admin a definition too.
	u = NewUsers("adm")
	u.AdminPasswordFrom("EVENTSQL_ADMIN_PASSWORD")
	if err := u.AddSpec("admin:admin:x", "--user on the command line"); err == nil || !strings.Contains(err.Error(), "EVENTSQL_ADMIN_PASSWORD") {
		t.Fatalf("admin after an admin password = %v", err)
	}
	path := filepath.Join(t.TempDir(), "users")
	os.WriteFile(path, []byte("ann:reader:a\n# comment\nann:admin:b\n"), 0o600)
	if err := NewUsers("p").LoadFile(path); err == nil || !strings.Contains(err.Error(), path+":1 and by users file "+path+":3") {
		t.Fatalf("LoadFile with ann twice = %v", err)
	}
}

func TestCheckAdmin(t *testing.T) {
	u := NewUsers("adm")
	if err := u.CheckAdmin(); err != nil {
		t.Fatalf("default admin: %v", err)
	}
	if err := u.AddSpec("admin:reader:x", "--user on the command line"); err != nil {
		t.Fatal(err)
	}
	if err := u.CheckAdmin(); err == nil || !strings.Contains(err.Error(), `"admin" is redefined as reader by --user on the command line`) {
		t.Fatalf("no admin left: %v", err)
	}
	if err := u.AddSpec("root:admin:y", "users file u:2"); err != nil {
		t.Fatal(err)
	}
	if err := u.CheckAdmin(); err != nil {
		t.Fatalf("another admin: %v", err)
	}
}
