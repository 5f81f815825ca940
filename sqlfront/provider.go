package sqlfront

import (
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/eventsql/eventsql/engine"
)

// Database names.
const (
	dbEventsql   = "eventsql"
	dbByType     = "by_type"
	dbByCategory = "by_category"
)

// provider lists eventsql's databases. GMS adds information_schema and
// mysql itself.
type provider struct {
	fe  *Front
	dbs []sql.Database
}

var _ sql.MutableDatabaseProvider = (*provider)(nil)

func newProvider(fe *Front) *provider {
	return &provider{fe: fe, dbs: []sql.Database{
		&database{fe: fe, name: dbEventsql},
		&database{fe: fe, name: dbByType},
		&database{fe: fe, name: dbByCategory},
	}}
}

func (p *provider) Database(ctx *sql.Context, name string) (sql.Database, error) {
	for _, db := range p.dbs {
		if strings.EqualFold(db.Name(), name) {
			return db, nil
		}
	}
	return nil, sql.ErrDatabaseNotFound.New(name)
}

func (p *provider) HasDatabase(ctx *sql.Context, name string) bool {
	_, err := p.Database(ctx, name)
	return err == nil
}

func (p *provider) AllDatabases(*sql.Context) []sql.Database { return p.dbs }

// CreateDatabase and DropDatabase refuse with the same error as other
// DDL (GMS's own message for a provider without them names a Go type).
func (p *provider) CreateDatabase(_ *sql.Context, name string) error {
	return readOnlySchemaError("CREATE DATABASE", name)
}

func (p *provider) DropDatabase(_ *sql.Context, name string) error {
	return readOnlySchemaError("DROP DATABASE", name)
}

// database is one of eventsql's three databases. Tables of by_type and
// by_category are made on demand from the engine's type and category
// lists, so new ones appear without a restart.
type database struct {
	fe   *Front
	name string
}

var (
	_ sql.Database                = (*database)(nil)
	_ sql.ViewDatabase            = (*database)(nil)
	_ sql.TableCreator            = (*database)(nil)
	_ sql.TableDropper            = (*database)(nil)
	_ sql.TableRenamer            = (*database)(nil)
	_ sql.CollatedDatabase        = (*database)(nil)
	_ sql.TriggerDatabase         = (*database)(nil)
	_ sql.StoredProcedureDatabase = (*database)(nil)
	_ sql.EventDatabase           = (*database)(nil)
)

func (d *database) Name() string { return d.name }
func (d *database) GetCollation(*sql.Context) sql.CollationID {
	return sql.Collation_Default
}
func (d *database) SetCollation(*sql.Context, sql.CollationID) error {
	return readOnlySchemaError("ALTER DATABASE", d.name)
}

func (d *database) GetTableNames(ctx *sql.Context) ([]string, error) {
	switch d.name {
	case dbEventsql:
		return []string{"events", "streams"}, nil
	case dbByType, dbByCategory:
		infos, err := d.names(ctx)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(infos))
		for i, in := range infos {
			names[i] = in.Name
		}
		return names, nil
	}
	return nil, nil
}

// names lists the event types (by_type) or categories (by_category),
// cached per head position.
func (d *database) names(ctx *sql.Context) ([]engine.NameInfo, error) {
	if d.name == dbByCategory {
		return d.fe.names.categories(ctx)
	}
	return d.fe.names.eventTypes(ctx)
}

// GetTableInsensitive finds a table; an exact match wins over one that
// differs in case (event types "Paid" and "paid" can both exist).
func (d *database) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	switch d.name {
	case dbEventsql:
		switch strings.ToLower(name) {
		case "events":
			return newEventsTable(d.fe, d.name, "events", scopeAll, "", nil), true, nil
		case "streams":
			return newStreamsTable(d.fe, d.name), true, nil
		}
		return nil, false, nil
	}
	infos, err := d.names(ctx)
	if err != nil {
		return nil, false, err
	}
	found := ""
	if in, ok := findName(infos, name); ok {
		found = in.Name
	} else {
		for _, in := range infos {
			if strings.EqualFold(in.Name, name) {
				found = in.Name
				break
			}
		}
	}
	if found == "" {
		return nil, false, nil
	}
	if d.name == dbByCategory {
		return newEventsTable(d.fe, d.name, found, scopeCategory, found, nil), true, nil
	}
	schema, err := d.fe.types.Schema(ctx, found)
	if err != nil {
		return nil, false, err
	}
	return newEventsTable(d.fe, d.name, found, scopeType, found, &schema), true, nil
}

// Views are not supported; GMS needs the interface for every SELECT.
func (d *database) CreateView(ctx *sql.Context, name string, _ string, _ string) error {
	return readOnlySchemaError("CREATE VIEW", d.name)
}
func (d *database) DropView(ctx *sql.Context, name string) error {
	return readOnlySchemaError("DROP VIEW", d.name)
}
func (d *database) GetViewDefinition(*sql.Context, string) (sql.ViewDefinition, bool, error) {
	return sql.ViewDefinition{}, false, nil
}
func (d *database) AllViews(*sql.Context) ([]sql.ViewDefinition, error) { return nil, nil }

func (d *database) CreateTable(ctx *sql.Context, name string, _ sql.PrimaryKeySchema, _ sql.CollationID, _ string) error {
	return readOnlySchemaError("CREATE TABLE", d.name)
}
func (d *database) DropTable(ctx *sql.Context, name string) error {
	return readOnlySchemaError("DROP TABLE", d.name)
}
func (d *database) RenameTable(ctx *sql.Context, from, to string) error {
	return readOnlySchemaError("RENAME TABLE", d.name)
}

// Triggers: none, and none can be made. GMS asks every database for its
// triggers before a write, so the write then reaches the table's refusal.
func (d *database) GetTriggers(*sql.Context) ([]sql.TriggerDefinition, error) { return nil, nil }
func (d *database) CreateTrigger(*sql.Context, sql.TriggerDefinition) error {
	return readOnlySchemaError("CREATE TRIGGER", d.name)
}
func (d *database) DropTrigger(*sql.Context, string) error {
	return readOnlySchemaError("DROP TRIGGER", d.name)
}

// Stored procedures and events: none, and none can be made. Without
// these, information_schema.ROUTINES, PARAMETERS and EVENTS and SHOW
// PROCEDURE/FUNCTION STATUS and SHOW EVENTS, which tools and JDBC's
// DatabaseMetaData read, failed with ERROR 1105 ("database eventsql
// doesn't support stored procedures").
func (d *database) GetStoredProcedure(*sql.Context, string) (sql.StoredProcedureDetails, bool, error) {
	return sql.StoredProcedureDetails{}, false, nil
}
func (d *database) GetStoredProcedures(*sql.Context) ([]sql.StoredProcedureDetails, error) {
	return nil, nil
}
func (d *database) SaveStoredProcedure(*sql.Context, sql.StoredProcedureDetails) error {
	return readOnlySchemaError("CREATE PROCEDURE", d.name)
}
func (d *database) DropStoredProcedure(*sql.Context, string) error {
	return readOnlySchemaError("DROP PROCEDURE", d.name)
}
func (d *database) GetEvent(*sql.Context, string) (sql.EventDefinition, bool, error) {
	return sql.EventDefinition{}, false, nil
}
func (d *database) GetEvents(*sql.Context) ([]sql.EventDefinition, any, error) { return nil, nil, nil }
func (d *database) SaveEvent(*sql.Context, sql.EventDefinition) (bool, error) {
	return false, readOnlySchemaError("CREATE EVENT", d.name)
}
func (d *database) DropEvent(*sql.Context, string) error {
	return readOnlySchemaError("DROP EVENT", d.name)
}
func (d *database) UpdateEvent(*sql.Context, string, sql.EventDefinition) (bool, error) {
	return false, readOnlySchemaError("ALTER EVENT", d.name)
}
func (d *database) UpdateLastExecuted(*sql.Context, string, time.Time) error { return nil }
func (d *database) NeedsToReloadEvents(*sql.Context, any) (bool, error)      { return false, nil }
