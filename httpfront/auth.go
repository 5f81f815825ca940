package httpfront

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
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

// CheckListenAddress refuses a non-loopback address while the admin
// password is the default.
func CheckListenAddress(addr, adminPassword string) error {
	if adminPassword != DefaultAdminPassword {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s with the default admin password: set --admin-password or EVENTSQL_ADMIN_PASSWORD", addr)
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
