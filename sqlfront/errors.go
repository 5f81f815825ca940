package sqlfront

import "github.com/dolthub/vitess/go/mysql"

// erTableReadOnly is MySQL's ER_OPEN_AS_READONLY ("Table '%s' is read
// only"), which clients show as ERROR 1036.
const erTableReadOnly = 1036

// immutableError refuses a write to an event table and says what to do.
func immutableError(op, db, table string) error {
	return mysql.NewSQLError(erTableReadOnly, "HY000",
		"%s on %s.%s refused: events are immutable. Append new events over HTTP "+
			"(POST /streams/{stream} or POST /import); change stream metadata with POST /streams/{stream}/metadata", op, db, table)
}

// readOnlySchemaError refuses DDL.
func readOnlySchemaError(op, db string) error {
	return mysql.NewSQLError(erTableReadOnly, "HY000",
		"%s refused in database %s: eventsql's tables are virtual views of the event log; "+
			"new event types and categories appear as tables by themselves", op, db)
}
