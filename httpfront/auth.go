package httpfront

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// Role is what a user may do.
type Role int

// Roles, each including the ones before it.
const (
	RoleReader Role = iota + 1
	RoleWriter
	RoleAdmin
)

// ParseRole parses "reader", "writer" or "admin".
func ParseRole(s string) (Role, error) {
	switch s {
	case "reader":
		return RoleReader, nil
	case "writer":
		return RoleWriter, nil
	case "admin":
		return RoleAdmin, nil
	}
	return 0, fmt.Errorf("unknown role %q: want reader, writer or admin", s)
}

func (r Role) String() string {
	return [...]string{"", "reader", "writer", "admin"}[r]
}

// DefaultAdminPassword is accepted only while listening on loopback.
const DefaultAdminPassword = "changeit"

// Users checks HTTP Basic credentials. Passwords are kept as SHA-256
// digests and compared in constant time.
type Users struct {
	users map[string]user
}

type user struct {
	digest [32]byte
	role   Role
}

// NewUsers returns a user set with an admin whose password is adminPassword.
func NewUsers(adminPassword string) *Users {
	u := &Users{users: map[string]user{}}
	u.Add("admin", adminPassword, RoleAdmin)
	return u
}

// Add adds or replaces a user.
func (u *Users) Add(name, password string, role Role) {
	u.users[name] = user{digest: sha256.Sum256([]byte(password)), role: role}
}

// AddSpec adds or replaces a user given as "name:role:password", where the
// password may be written "sha256:<64 hex digits>" (its SHA-256 digest,
// as `eventsql hash-password` prints) to keep it out of config files.
func (u *Users) AddSpec(spec string) error {
	name, rest, ok1 := strings.Cut(spec, ":")
	roleName, password, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || name == "" || password == "" {
		return fmt.Errorf("user %q: want name:role:password", redact(spec))
	}
	role, err := ParseRole(roleName)
	if err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	if hexDigest, ok := strings.CutPrefix(password, "sha256:"); ok {
		d, err := hex.DecodeString(hexDigest)
		if err != nil || len(d) != sha256.Size {
			return fmt.Errorf("user %q: sha256: needs 64 hex digits", name)
		}
		usr := user{role: role}
		copy(usr.digest[:], d)
		u.users[name] = usr
		return nil
	}
	u.Add(name, password, role)
	return nil
}

// LoadFile adds the users listed in a file, one "name:role:password" a
// line; blank lines and lines starting with # are skipped.
func (u *Users) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("users file: %w", err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := u.AddSpec(line); err != nil {
			return fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
	}
	return nil
}

// HashPassword returns the "sha256:<hex>" form AddSpec accepts.
func HashPassword(password string) string {
	d := sha256.Sum256([]byte(password))
	return "sha256:" + hex.EncodeToString(d[:])
}

// redact hides the password part of a user spec in error messages.
func redact(spec string) string {
	name, rest, ok := strings.Cut(spec, ":")
	if !ok {
		return "…" // could be a password typed alone
	}
	role, _, ok := strings.Cut(rest, ":")
	if !ok {
		return name + ":…"
	}
	return name + ":" + role + ":…"
}

// check returns the user's role, or false.
func (u *Users) check(name, password string) (Role, bool) {
	got := sha256.Sum256([]byte(password))
	usr, ok := u.users[name]
	if !ok {
		subtle.ConstantTimeCompare(got[:], got[:]) // same work for unknown users
		return 0, false
	}
	return usr.role, subtle.ConstantTimeCompare(got[:], usr.digest[:]) == 1
}

// HasDefaultPassword reports whether some user's password is the default
// one (normally the admin, when no password was configured).
func (u *Users) HasDefaultPassword() bool {
	d := sha256.Sum256([]byte(DefaultAdminPassword))
	for _, usr := range u.users {
		if subtle.ConstantTimeCompare(d[:], usr.digest[:]) == 1 {
			return true
		}
	}
	return false
}

// CheckListenAddress refuses a non-loopback address while a user has
// the default password.
func CheckListenAddress(addr string, users *Users) error {
	if !users.HasDefaultPassword() {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s while a user has the default password %q: set --admin-password or EVENTSQL_ADMIN_PASSWORD (and give every --user its own)", addr, DefaultAdminPassword)
}

// require wraps h so that it runs only for users with at least role.
func (s *Server) require(role Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, password, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="eventsql", charset="UTF-8"`)
			writeError(w, s.logger, r, newError(http.StatusUnauthorized, "unauthorized", "credentials required (HTTP Basic)"))
			return
		}
		got, ok := s.users.check(name, password)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="eventsql", charset="UTF-8"`)
			writeError(w, s.logger, r, newError(http.StatusUnauthorized, "unauthorized", "wrong user name or password"))
			return
		}
		if got < role {
			writeError(w, s.logger, r, newError(http.StatusForbidden, "forbidden",
				fmt.Sprintf("user %q is a %s; this needs %s", name, got, role)))
			return
		}
		h(w, r)
	}
}
