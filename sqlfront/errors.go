package sqlfront

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

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

// refusedInsert gives an INSERT or REPLACE with a partial column list
// into one of our tables our refusal: GMS checks NOT NULL columns for
// values ("Field 'position' doesn't have a default value") before it asks
// the table to insert, and simple inserts skip the analyzer rules where
// we could refuse them first. Other errors are returned as they are.
func refusedInsert(query string, err error) error {
	if err == nil || !strings.Contains(err.Error(), "doesn't have a default value") &&
		!sql.ErrInsertIntoNonNullableDefaultNullColumn.Is(err) {
		return err
	}
	stmt, perr := ast.Parse(query)
	if perr != nil {
		return err
	}
	ins, ok := stmt.(*ast.Insert)
	if !ok {
		return err
	}
	db, table := ins.Table.DbQualifier.String(), ins.Table.Name.String()
	switch strings.ToLower(db) {
	case "":
		if t := strings.ToLower(table); t != "events" && t != "streams" {
			return err
		}
		db = dbEventsql
	case dbEventsql, dbByType, dbByCategory:
	default:
		return err
	}
	op := "INSERT"
	if ins.Action == ast.ReplaceStr {
		op = "REPLACE"
	}
	return immutableError(op, strings.ToLower(db), table)
}
