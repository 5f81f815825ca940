package sqlfront

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// erQueryTimeout is MySQL's ER_QUERY_TIMEOUT (3024).
const erQueryTimeout = 3024

// erSecureTransportRequired is MySQL's ER_SECURE_TRANSPORT_REQUIRED
// (3159).
const erSecureTransportRequired = 3159

// stmtHandler wraps GMS's handler for every statement: it cancels
// statements that run longer than d (the --query-timeout flag; 0 =
// never), answering MySQL's ERROR 3024, answers statements cancelled by
// KILL QUERY with ERROR 1317, and gives partial INSERTs into our tables
// the immutable-events refusal (refusedInsert).
// Cancellation reaches the engine's iterators and native aggregate scans
// through the context, so the scan stops.
type stmtHandler struct {
	mysql.Handler
	d      time.Duration
	admins map[string]bool
	// requireTLS refuses connections that did not upgrade to TLS.
	requireTLS bool
}

// ConnectionAuthenticated refuses, when TLS is required, a connection
// that did not upgrade to it, with MySQL's ERROR 3159 and after the
// handshake as MySQL does. (vitess's own check, RequireSecureTransport,
// answers ERROR 1105 and then goes on with the handshake: a client that
// ignored that error packet got a session in plain text.)
func (h stmtHandler) ConnectionAuthenticated(c *mysql.Conn) error {
	if h.requireTLS {
		if _, ok := c.Conn.(*tls.Conn); !ok {
			return mysql.NewSQLError(erSecureTransportRequired, "HY000",
				"Connections using insecure transport are prohibited while --require_secure_transport=ON.")
		}
	}
	return h.Handler.ConnectionAuthenticated(c)
}

// ComInitDB refuses the mysql database (it holds the password hashes) to
// users who are not admins with ERROR 1044, as USE does: GMS checks no
// privilege on COM_INIT_DB, which the mysql and mariadb CLIs send for
// their "use" command and drivers for a connection's database.
func (h stmtHandler) ComInitDB(c *mysql.Conn, db string) error {
	if strings.EqualFold(db, "mysql") && !h.admins[c.User] {
		return mysql.NewSQLError(erDBAccessDenied, "42000", "Access denied for user '%s'@'%%' to database '%s'", c.User, db)
	}
	return h.Handler.ComInitDB(c, db)
}

func (h stmtHandler) run(ctx context.Context, fn func(context.Context) error) error {
	if h.d <= 0 {
		return interrupted(ctx, fn(ctx))
	}
	tctx, cancel := context.WithTimeout(ctx, h.d)
	defer cancel()
	err := fn(tctx)
	if err != nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return mysql.NewSQLError(erQueryTimeout, "HY000",
			"Query execution was interrupted, maximum statement execution time (--query-timeout %s) exceeded", h.d)
	}
	return interrupted(ctx, err)
}

func (h stmtHandler) ComQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) error {
	return refusedInsert(query, h.run(ctx, func(ctx context.Context) error { return h.Handler.ComQuery(ctx, c, query, callback) }))
}

func (h stmtHandler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (string, error) {
	var rest string
	err := h.run(ctx, func(ctx context.Context) error {
		var err error
		rest, err = h.Handler.ComMultiQuery(ctx, c, query, callback)
		return err
	})
	if err != nil {
		// The statement that failed is the first one.
		if first, _, serr := ast.SplitStatement(query); serr == nil {
			err = refusedInsert(first, err)
		}
	}
	return rest, err
}

func (h stmtHandler) ComStmtExecute(ctx context.Context, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	return refusedInsert(prepare.PrepareStmt, h.run(ctx, func(ctx context.Context) error {
		return h.Handler.ComStmtExecute(ctx, c, prepare, callback)
	}))
}
