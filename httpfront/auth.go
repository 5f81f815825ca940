package httpfront

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
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
	digest [32]byte // SHA-256 of the password, when known
	// native is the mysql_native_password hash, SHA1(SHA1(password)), when
	// known: it lets the same user log in over SQL.
	native    [20]byte
	hasDigest bool
	hasNative bool
	role      Role
	// source names where the user was configured, for errors ("--user on
	// the command line", "users file u.txt:3"); "" for the default admin,
	// which a spec may redefine.
	source string
}

func nativeHash(password string) [20]byte {
	s1 := sha1.Sum([]byte(password))
	return sha1.Sum(s1[:])
}

// NewUsers returns a user set with an admin whose password is
// adminPassword. That admin is a default: one spec may redefine it
// (unless AdminPasswordFrom says the password was configured).
func NewUsers(adminPassword string) *Users {
	u := &Users{users: map[string]user{}}
	u.Add("admin", adminPassword, RoleAdmin)
	return u
}

// AdminPasswordFrom records that the admin's password was configured by
// source (e.g. "--admin-password on the command line"): a spec naming
// admin is then a second definition, an error, not a replacement.
func (u *Users) AdminPasswordFrom(source string) {
	usr := u.users["admin"]
	usr.source = source
	u.users["admin"] = usr
}

// Add adds or replaces a user.
func (u *Users) Add(name, password string, role Role) {
	u.users[name] = user{digest: sha256.Sum256([]byte(password)), hasDigest: true,
		native: nativeHash(password), hasNative: true, role: role}
}

// AddSpec adds a user given as "name:role:password" by source (which
// errors name: "--user on the command line", "users file u.txt:3"). To
// keep clear text out of config files the password may be written as a
// hash: "*<40 hex digits>", MySQL's mysql_native_password form (as
// `eventsql hash-password` prints; the user can log in over HTTP and
// SQL), or "sha256:<64 hex digits>" (HTTP only). A name already defined
// is an error naming both sources, except the default admin of NewUsers,
// which the spec replaces.
func (u *Users) AddSpec(spec, source string) error {
	name, rest, ok1 := strings.Cut(spec, ":")
	roleName, password, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || name == "" || password == "" {
		return fmt.Errorf("user %q: want name:role:password", redact(spec))
	}
	role, err := ParseRole(roleName)
	if err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	if prev, ok := u.users[name]; ok && prev.source != "" {
		return &DuplicateUserError{Name: name, First: prev.source, Second: source}
	}
	usr := user{role: role, source: source}
	if hexDigest, ok := strings.CutPrefix(password, "sha256:"); ok {
		d, err := hex.DecodeString(hexDigest)
		if err != nil || len(d) != sha256.Size {
			return fmt.Errorf("user %q: sha256: needs 64 hex digits", name)
		}
		usr.hasDigest = true
		copy(usr.digest[:], d)
		u.users[name] = usr
		return nil
	}
	if len(password) == 41 && password[0] == '*' {
		d, err := hex.DecodeString(password[1:])
		if err == nil && len(d) == sha1.Size {
			usr.hasNative = true
			copy(usr.native[:], d)
			u.users[name] = usr
			return nil
		}
	}
	usr.digest, usr.hasDigest = sha256.Sum256([]byte(password)), true
	usr.native, usr.hasNative = nativeHash(password), true
	u.users[name] = usr
	return nil
}

// DuplicateUserError is a user name configured twice.
type DuplicateUserError struct {
	Name          string
	First, Second string // the sources, as given to AddSpec
}

func (e *DuplicateUserError) Error() string {
	if e.First == e.Second {
		return fmt.Sprintf("user %q is defined twice by %s", e.Name, e.First)
	}
	return fmt.Sprintf("user %q is defined twice: by %s and by %s", e.Name, e.First, e.Second)
}

// LoadFile adds the users listed in a file, one "name:role:password" a
// line; blank lines and lines starting with # are skipped. Errors name
// the file and line.
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
		if err := u.AddSpec(line, fmt.Sprintf("users file %s:%d", path, i+1)); err != nil {
			if errors.As(err, new(*DuplicateUserError)) {
				return err // names the file and lines already
			}
			return fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
	}
	return nil
}

// CheckAdmin returns an error unless some user has the admin role: a
// server nobody can administer (change metadata, delete streams, export,
// see every SQL session) is a configuration mistake.
func (u *Users) CheckAdmin() error {
	for _, usr := range u.users {
		if usr.role == RoleAdmin {
			return nil
		}
	}
	if a, ok := u.users["admin"]; ok && a.source != "" {
		return fmt.Errorf("no user has the admin role: user \"admin\" is redefined as %s by %s (give some user the admin role)", a.role, a.source)
	}
	return fmt.Errorf("no user has the admin role (give some user the admin role)")
}

// HashPassword returns the "*<HEX>" mysql_native_password form AddSpec
// accepts, good for both HTTP and SQL logins.
func HashPassword(password string) string {
	d := nativeHash(password)
	return "*" + strings.ToUpper(hex.EncodeToString(d[:]))
}

// Each calls fn for every user with its SQL password hash ("*<HEX>"), or
// "" when the user can log in over HTTP only (configured as sha256:).
func (u *Users) Each(fn func(name string, role Role, nativeHash string)) {
	names := make([]string, 0, len(u.users))
	for n := range u.users {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		usr := u.users[n]
		h := ""
		if usr.hasNative {
			h = "*" + strings.ToUpper(hex.EncodeToString(usr.native[:]))
		}
		fn(n, usr.role, h)
	}
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
	usr, ok := u.users[name]
	if !ok {
		got := sha256.Sum256([]byte(password))
		subtle.ConstantTimeCompare(got[:], got[:]) // same work for unknown users
		return 0, false
	}
	if usr.hasDigest {
		got := sha256.Sum256([]byte(password))
		return usr.role, subtle.ConstantTimeCompare(got[:], usr.digest[:]) == 1
	}
	got := nativeHash(password)
	return usr.role, subtle.ConstantTimeCompare(got[:], usr.native[:]) == 1
}

// HasDefaultPassword reports whether some user's password is the default
// one (normally the admin, when no password was configured).
func (u *Users) HasDefaultPassword() bool {
	d := sha256.Sum256([]byte(DefaultAdminPassword))
	n := nativeHash(DefaultAdminPassword)
	for _, usr := range u.users {
		if (usr.hasDigest && usr.digest == d) || (usr.hasNative && usr.native == n) {
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
