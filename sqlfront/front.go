// Package sqlfront is eventsql's MySQL-wire SQL server (docs/sql.md),
// built on go-mysql-server (GMS): read-only virtual tables over the event
// log — eventsql.events, eventsql.streams, by_type.<EventType> with typed
// columns inferred from the data, by_category.<category> — that read
// through the engine's indexes.
package sqlfront

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/memo"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
	server "github.com/eventsql/eventsql/sqlfront/internal/gmsserver"
	"github.com/google/uuid"

	"github.com/eventsql/eventsql/engine"
	"github.com/eventsql/eventsql/typeinfer"
)

// Store is what the SQL front reads.
type Store interface {
	ID() string
	Head() uint64
	Stats() engine.Stats
	ReadStream(ctx context.Context, stream string, from int64, opts engine.ReadOptions) (*engine.EventIterator, error)
	ReadAll(ctx context.Context, from uint64, opts engine.ReadOptions) (*engine.EventIterator, error)
	ReadType(ctx context.Context, eventType string, from uint64, opts engine.ReadOptions) (*engine.EventIterator, error)
	ReadCategory(ctx context.Context, category string, from uint64, opts engine.ReadOptions) (*engine.EventIterator, error)
	PositionAt(ctx context.Context, t time.Time) (uint64, error)
	GetEvent(ctx context.Context, id uuid.UUID) (*engine.RecordedEvent, error)
	StreamInfo(ctx context.Context, stream string) (engine.StreamInfo, error)
	ListStreams(ctx context.Context, opts engine.ListStreamsOptions) (*engine.StreamIterator, error)
	EventTypes(ctx context.Context) ([]engine.NameInfo, error)
	Categories(ctx context.Context) ([]engine.NameInfo, error)
	RestrictedStreams() int64
}

// Account is a user who may log in over SQL.
type Account struct {
	Name string
	// Admin may do everything; other users may only query.
	Admin bool
	// NativeHash is the mysql_native_password hash: "*" and the upper-case
	// hex of SHA1(SHA1(password)).
	NativeHash string
}

// Options configure the SQL front.
type Options struct {
	// Version is the server version reported to clients: in the
	// handshake, as VERSION() and as @@version (default
	// "8.0.31-eventsql"; MySQL clients parse the leading number).
	Version string
	// VersionComment is @@version_comment, which the mysql/mariadb
	// CLI prints after the version (default "eventsql").
	VersionComment string
	// QueryTimeout cancels queries running longer; 0 means none.
	QueryTimeout time.Duration
	// TypeCachePath is where inferred schemas are cached ("" = memory).
	TypeCachePath string
	// TLS, when set, lets clients upgrade to TLS (and then use
	// caching_sha2_password clients' defaults); RequireTLS refuses
	// connections that do not.
	TLS        *tls.Config
	RequireTLS bool
	// MemoryLimit bounds the server's Go heap for SQL operators that hold
	// rows in memory (sorts, GMS's GROUP BY and DISTINCT, hash joins):
	// past it such a query fails with ERROR 1037 instead of exhausting
	// the machine (memory_limit.go). 0 = DefaultSQLMemoryLimit.
	MemoryLimit uint64
	// DisableNativeAggregates leaves every aggregate to go-mysql-server's
	// row-at-a-time GroupBy (for comparison; see native_agg.go).
	DisableNativeAggregates bool
	// MaxAllowedPacket bounds the result of string functions such as
	// REPEAT or CONCAT, as max_allowed_packet does in MySQL: a larger one
	// is NULL with warning 1301. Sessions start with it as
	// @@max_allowed_packet and may lower it, not raise it (default 64 MiB,
	// MySQL 8.0's; packet_limit.go).
	MaxAllowedPacket int64
}

// Front is the SQL server.
type Front struct {
	store    Store
	opts     Options
	logger   *slog.Logger
	types    *typeinfer.Registry
	engine   *sqle.Engine
	provider *provider
	names    *nameCache
	admins   map[string]bool
	// aggChunk is the minimum number of positions a native aggregate scan
	// chunk covers (tests make it small to merge many chunks).
	aggChunk uint64
	// builtins are GMS's functions, some of which provider.Function
	// shadows with bounded versions (packet_limit.go).
	builtins map[string]sql.Function
	// beforeChunk, when set, runs before each native aggregate chunk
	// (tests hold scans up to kill them).
	beforeChunk func(context.Context)
	// selectivities caches sampled filter selectivities (join costing).
	selectivities selectivityCache
	// scanFiltered counts events scans dropped before building rows
	// (scan_filter.go).
	scanFiltered atomic.Uint64
	// noWireValues keeps every table read on Go values (wire_source.go;
	// tests compare the two, set before Serve).
	noWireValues bool
	// noPlanTemplates parses and analyzes every query (tests compare
	// the two; set before Serve).
	noPlanTemplates bool
	// noBinaryRows leaves prepared statements' rows to vitess to convert
	// from text, as upstream (tests compare the bytes).
	noBinaryRows bool
	// plans keeps plan templates (plan_templates.go).
	plans *planTemplates
	// wireReads counts table reads that made wire values (tests).
	wireReads atomic.Uint64
	// wireRows keeps the memory of wire values between statements
	// (wire_rows.go).
	wireRows sync.Pool

	mu     sync.Mutex // guards srv and closed
	srv    *server.Server
	closed bool
}

// New builds the SQL front over store for accounts.
func New(store Store, accounts []Account, opts Options, logger *slog.Logger) (*Front, error) {
	fe := &Front{store: store, opts: opts, logger: logger, admins: map[string]bool{},
		types: typeinfer.NewRegistry(store, opts.TypeCachePath, logger), names: &nameCache{store: store}, aggChunk: chunkPositions,
		builtins: builtinFunctions()}
	if fe.opts.MaxAllowedPacket <= 0 {
		fe.opts.MaxAllowedPacket = defaultMaxAllowedPacket
	}
	fe.provider = newProvider(fe)
	fe.plans = newPlanTemplates(fe)
	a := analyzer.NewBuilder(fe.provider).
		AddPreAnalyzeRule(ruleDenyGlobalSets, fe.denyGlobalSetsRule).
		AddPreAnalyzeRule(ruleOwnProcessesOnly, fe.ownProcessesRule).
		AddPreAnalyzeRule(ruleNoServerFiles, fe.noServerFilesRule).
		AddPreAnalyzeRule(ruleNoUserChanges, fe.noUserChangesRule).
		AddPostAnalyzeRule(ruleNativeAggregates, fe.nativeAggregateRule).
		AddPostAnalyzeRule(ruleScanFilters, fe.scanFilterRule).
		AddPostAnalyzeRule(ruleSubqueryReads, fe.subqueryReadsRule).
		Build()
	if !fe.installKeepAliases(a) {
		logger.Warn("sqlfront: GMS's once-after batch has no finalizeSubqueries rule; correlated subqueries will not use indexes")
	}
	if fe.opts.Version == "" {
		fe.opts.Version = "8.0.31-eventsql"
	}
	if fe.opts.VersionComment == "" {
		fe.opts.VersionComment = "eventsql"
	}
	fe.engine = sqle.New(a, &sqle.Config{})
	limit := opts.MemoryLimit
	if limit == 0 {
		limit = DefaultSQLMemoryLimit()
	}
	fe.engine.MemoryManager = sql.NewMemoryManager(&memoryLimit{limit: limit})
	fe.engine.Analyzer.Coster = &coster{fe: fe, base: memo.NewDefaultCoster()}
	fe.engine.Analyzer.ExecBuilder.PriorityBuilder = explainBuilder{fe: fe,
		next: enforcedFilters{base: fe.engine.Analyzer.ExecBuilder, scanFilters: !opts.DisableNativeAggregates,
			next: groupBys{base: fe.engine.Analyzer.ExecBuilder,
				next: wireSources{fe: fe, base: fe.engine.Analyzer.ExecBuilder}}}}
	fe.engine.Analyzer.Catalog.AuthHandler = processAuth{fe.engine.Analyzer.Catalog.AuthHandler}
	db := fe.engine.Analyzer.Catalog.MySQLDb
	db.SetPersister(noPersist{})
	db.SetEnabled(true)
	ed := db.Editor()
	for _, acc := range accounts {
		if acc.Name == "" || len(acc.NativeHash) != 41 || acc.NativeHash[0] != '*' {
			ed.Close()
			return nil, fmt.Errorf("sql account %q: need a mysql_native_password hash", acc.Name)
		}
		fe.admins[acc.Name] = acc.Admin
		ps := mysql_db.NewPrivilegeSet()
		if acc.Admin {
			ps = mysql_db.NewPrivilegeSetWithAllPrivileges()
		} else {
			// Readers may read eventsql's databases (information_schema is
			// open to all), not GMS's mysql database: global SELECT would
			// show them mysql.user with every account's password hash.
			for _, db := range []string{dbEventsql, dbByType, dbByCategory} {
				ps.AddDatabase(db, sql.PrivilegeType_Select)
			}
		}
		ed.PutUser(&mysql_db.User{
			User: acc.Name, Host: "%", PrivilegeSet: ps, Plugin: "mysql_native_password",
			AuthString: acc.NativeHash, PasswordLastChanged: time.Unix(1, 0).UTC(),
			IsSuperUser: acc.Admin, IsEphemeral: true,
		})
	}
	ed.Close()
	return fe, nil
}

// ruleDenyGlobalSets is the id of our analyzer rule (GMS's own ids are
// small numbers; custom ones must not collide).
const ruleDenyGlobalSets analyzer.RuleId = 10_001

// noPersist keeps the user tables in memory: users come from eventsql's
// configuration at every start.
type noPersist struct{}

func (noPersist) Persist(*sql.Context, []byte) error {
	return errors.New("users are configured with --user / --users-file, not with SQL")
}

// Serve serves the MySQL protocol on l until Close.
func (fe *Front) Serve(l net.Listener) error {
	cfg := server.Config{
		Protocol:         "tcp",
		Listener:         l,
		Version:          fe.opts.Version,
		TLSConfig:        fe.opts.TLS,
		ConnReadTimeout:  0,
		ConnWriteTimeout: 0,
	}
	if !fe.noPlanTemplates {
		cfg.Plans = fe.plans
	}
	cfg.VitessBinaryRows = fe.noBinaryRows
	wrap := func(h mysql.Handler) (mysql.Handler, error) {
		return stmtHandler{Handler: h, d: fe.opts.QueryTimeout, admins: fe.admins,
			requireTLS: fe.opts.TLS != nil && fe.opts.RequireTLS}, nil
	}
	srv, err := server.NewServerWithHandler(cfg, fe.engine, sql.NewContext, fe.sessionBuilder, nil, wrap)
	if err != nil {
		return fmt.Errorf("sql server: %w", err)
	}
	fe.mu.Lock()
	if fe.closed {
		fe.mu.Unlock()
		srv.Close()
		return nil
	}
	fe.srv = srv
	fe.mu.Unlock()
	err = srv.Start()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// Close stops the server and saves the type inference cache.
func (fe *Front) Close() error {
	fe.mu.Lock()
	srv := fe.srv
	fe.closed = true
	fe.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.Close()
	}
	if serr := fe.types.Save(); serr != nil {
		fe.logger.Warn("save type inference cache", "err", serr)
	}
	return err
}

func (fe *Front) sessionBuilder(ctx context.Context, conn *mysql.Conn, addr string) (sql.Session, error) {
	host, user := "", ""
	if u, ok := conn.UserData.(sql.MysqlConnectionUser); ok {
		host, user = u.Host, u.User
	}
	client := sql.Client{Address: host, User: user, Capabilities: conn.Capabilities}
	sess := sql.NewBaseSessionWithClientServer(addr, client, conn.ConnectionID)
	// A client that names no database still has one, as GMS needs a
	// current database for some statements; one named at connect wins.
	sess.SetCurrentDatabase(dbEventsql)
	// GMS's defaults would say "8.0.31" and "Dolt"; these are read-only
	// variables, so they are set per session rather than in GMS's
	// process-wide registry.
	sctx := sql.NewContext(ctx, sql.WithSession(sess))
	for name, v := range map[string]any{"version": fe.opts.Version, "version_comment": fe.opts.VersionComment,
		"max_allowed_packet": fe.opts.MaxAllowedPacket} {
		if err := sess.InitSessionVariable(sctx, name, v); err != nil {
			return nil, fmt.Errorf("session variable %s: %w", name, err)
		}
	}
	return sess, nil
}

// countInScope counts the events in a table's scope from the indexes. The
// count includes events hidden by stream metadata or deletes, so it is
// exact only while no stream restricts reads; then GMS answers COUNT(*)
// with it instead of scanning.
func (fe *Front) countInScope(ctx context.Context, sc scope, name string) (uint64, bool, error) {
	exact := fe.store.RestrictedStreams() == 0
	switch sc {
	case scopeAll:
		return fe.store.Head(), exact, nil
	case scopeType, scopeCategory:
		list := fe.names.eventTypes
		if sc == scopeCategory {
			list = fe.names.categories
		}
		infos, err := list(ctx)
		if err != nil {
			return 0, false, err
		}
		in, _ := findName(infos, name)
		return in.Count, exact, nil
	}
	return 0, false, nil
}
