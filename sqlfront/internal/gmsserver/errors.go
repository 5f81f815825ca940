package server

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// eventsql: MySQL's ER_BAD_FIELD_ERROR ("Unknown column"), which clients
// and tools branch on; upstream answers a missing column with the generic
// ERROR 1105.
const erBadFieldError = 1054

// eventsql: MySQL's ER_PARSE_ERROR, which clients and tools show as "You
// have an error in your SQL syntax"; upstream answers a syntax error with
// the generic ERROR 1105.
const erParseError = 1064

// eventsql: MySQL's ER_OUTOFMEMORY, for a query stopped by the memory
// limit (upstream: ERROR 1105 "no memory available").
const erOutOfMemory = 1037

// sqlStates are the SQLSTATEs MySQL sends with these error numbers;
// upstream sends HY000 for them.
var sqlStates = map[int]string{
	erBadFieldError:     "42S22",
	erParseError:        "42000",
	mysql.ERNoSuchTable: "42S02",
	mysql.ERBadDb:       "42000",
}

// castSQLError is sql.CastSQLError with unknown columns answered as
// ERROR 1054 (keeping GMS's message, which names the column), syntax
// errors as ERROR 1064, and MySQL's SQLSTATE for unknown tables, columns
// and databases and for syntax errors.
func castSQLError(err error) *mysql.SQLError {
	if err == nil {
		return nil
	}
	var e *mysql.SQLError
	if sql.ErrColumnNotFound.Is(err) || sql.ErrTableColumnNotFound.Is(err) {
		e = mysql.NewSQLError(erBadFieldError, "", "%s", err.Error())
	} else if sql.ErrSyntaxError.Is(err) {
		e = mysql.NewSQLError(erParseError, "", "%s", err.Error())
	} else if sql.ErrNoMemoryAvailable.Is(err) {
		e = mysql.NewSQLError(erOutOfMemory, "HY001", "Out of memory: the query holds more rows in memory than the server's SQL memory limit allows (--sql-memory-limit); narrow it with WHERE or LIMIT, sort by an indexed column (position), or export the data to Parquet")
	} else {
		e = sql.CastSQLError(err)
	}
	if st, ok := sqlStates[e.Num]; ok && (e.State == "" || e.State == mysql.SSUnknownSQLState) {
		e.State = st
	}
	return e
}
