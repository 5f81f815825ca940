package sqlfront

import (
	"strconv"
	"strings"

	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// Prepared statements and plan templates.
//
// A prepared statement's execution (COM_STMT_EXECUTE) hands GMS the
// statement's text with its ? placeholders and the bound values; GMS
// turns each value into the parser's node for a literal
// (sqlparser.ExprFromValue: an integer becomes the node the parser makes
// of its digits, a string or a date the node it makes of a quoted
// string), binds the statement with them and analyzes it, at every
// execution. The Go driver without interpolateParams prepares, executes
// and closes a statement for every query with arguments, so a point
// query cost twice the parse and analysis of the same query sent as text
// (sqlbench -prepared: 1.7x MariaDB's time).
//
// boundQuery writes the values into the text as the literals whose
// nodes those are, so the execution can be planned from the template of
// the same query sent as text: the two are one statement to GMS's binder.
// It declines (GMS binds as usual) whenever that is not certain: values
// that are neither integers nor strings, strings the digester would not
// take as they are (quotes, backslashes, invalid UTF-8), placeholders it
// cannot find for sure (comments, double-quoted strings), and counts that
// do not match.

// boundQuery returns query with the values of bindings (named v1, v2, ...
// in the order of the placeholders, as vitess names them) written in as
// literals; false when it declines.
func boundQuery(query string, bindings map[string]*querypb.BindVariable) (string, bool) {
	if len(bindings) == 0 || len(query) > maxDigestQuery {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(query) + 16*len(bindings))
	next := 0
	for i := 0; i < len(query); i++ {
		switch c := query[i]; c {
		case '\'', '`':
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				return "", false
			}
			end := i + 1 + j
			if c == '\'' && strings.IndexByte(query[i+1:end], '\\') >= 0 {
				return "", false // an escaped quote may hide the string's end
			}
			b.WriteString(query[i : end+1])
			i = end
		case '"', '#':
			return "", false
		case '-', '/':
			if i+1 < len(query) && (query[i+1] == '-' || c == '/' && query[i+1] == '*') {
				return "", false // a comment
			}
			b.WriteByte(c)
		case '?':
			next++
			bv, ok := bindings["v"+strconv.Itoa(next)]
			if !ok {
				return "", false
			}
			lit, ok := boundLiteral(bv)
			if !ok {
				return "", false
			}
			b.WriteString(lit)
		default:
			b.WriteByte(c)
		}
	}
	if next != len(bindings) {
		return "", false
	}
	return b.String(), true
}

// boundLiteral is the SQL text of a bound value whose parser node GMS
// would bind: digits for an integer, a quoted string for a string;
// false for anything else.
func boundLiteral(bv *querypb.BindVariable) (string, bool) {
	v, err := sqltypes.BindVariableToValue(bv)
	if err != nil {
		return "", false
	}
	e, err := sqlparser.ExprFromValue(v)
	if err != nil {
		return "", false
	}
	lit, ok := e.(*sqlparser.SQLVal)
	if !ok {
		return "", false
	}
	s := string(lit.Val)
	switch lit.Type {
	case sqlparser.IntVal:
		if s == "" || s[0] < '0' || s[0] > '9' {
			return "", false // negative: the text would be an expression
		}
		return s, true
	case sqlparser.StrVal:
		if strings.ContainsAny(s, `'\`) {
			return "", false
		}
		return "'" + s + "'", true
	}
	return "", false
}
