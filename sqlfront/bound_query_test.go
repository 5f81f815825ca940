package sqlfront

import (
	"testing"

	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

func TestBoundQuery(t *testing.T) {
	str := func(s string) *querypb.BindVariable { return sqltypes.StringBindVariable(s) }
	i64 := sqltypes.Int64BindVariable
	u64 := sqltypes.Uint64BindVariable
	bin := func(s string) *querypb.BindVariable {
		return &querypb.BindVariable{Type: sqltypes.VarBinary, Value: []byte(s)}
	}
	for _, tc := range []struct {
		query string
		binds []*querypb.BindVariable
		want  string // "" = declined
	}{
		{"SELECT * FROM events WHERE stream = ?", []*querypb.BindVariable{str("cart-1")}, "SELECT * FROM events WHERE stream = 'cart-1'"},
		{"SELECT * FROM events WHERE position BETWEEN ? AND ? LIMIT ?", []*querypb.BindVariable{i64(5), u64(1 << 63), i64(0)},
			"SELECT * FROM events WHERE position BETWEEN 5 AND 9223372036854775808 LIMIT 0"},
		{"SELECT * FROM events WHERE stream = ?", []*querypb.BindVariable{bin("café-7")}, "SELECT * FROM events WHERE stream = 'café-7'"},
		{"SELECT '?', `a?b` FROM events WHERE stream = ?", []*querypb.BindVariable{str("x")}, "SELECT '?', `a?b` FROM events WHERE stream = 'x'"},
		{"SELECT * FROM events WHERE version > ? - 1", []*querypb.BindVariable{i64(3)}, "SELECT * FROM events WHERE version > 3 - 1"},
		// Declined: GMS binds these itself.
		{"SELECT * FROM events WHERE version > ?", []*querypb.BindVariable{i64(-1)}, ""},                           // a sign
		{"SELECT * FROM events WHERE stream = ?", []*querypb.BindVariable{str("it's")}, ""},                        // a quote
		{"SELECT * FROM events WHERE stream = ?", []*querypb.BindVariable{str(`a\b`)}, ""},                         // an escape
		{"SELECT * FROM events WHERE version > ?", []*querypb.BindVariable{sqltypes.Float64BindVariable(1.5)}, ""}, // not an integer or string
		{"SELECT * FROM events WHERE version > ?", []*querypb.BindVariable{sqltypes.NullBindVariable}, ""},
		{"SELECT * FROM events WHERE stream = ? -- ?", []*querypb.BindVariable{str("x")}, ""}, // a comment
		{"SELECT * FROM events WHERE stream = ? /* ? */", []*querypb.BindVariable{str("x")}, ""},
		{"SELECT * FROM events WHERE stream = ? # ?", []*querypb.BindVariable{str("x")}, ""},
		{`SELECT * FROM events WHERE stream = "?" AND version = ?`, []*querypb.BindVariable{i64(1)}, ""}, // double quotes
		{`SELECT * FROM events WHERE stream = 'a\'?' AND version = ?`, []*querypb.BindVariable{i64(1)}, ""},
		{"SELECT * FROM events WHERE stream = ? AND version = ?", []*querypb.BindVariable{str("x")}, ""}, // too few values
		{"SELECT * FROM events WHERE stream = ?", []*querypb.BindVariable{str("x"), i64(1)}, ""},         // too many
		{"SELECT * FROM events WHERE stream = 'unterminated ?", []*querypb.BindVariable{str("x")}, ""},
		{"SELECT * FROM events", nil, ""},
	} {
		bindings := map[string]*querypb.BindVariable{}
		for i, b := range tc.binds {
			bindings["v"+string(rune('1'+i))] = b
		}
		got, ok := boundQuery(tc.query, bindings)
		if !ok {
			got = ""
		}
		if got != tc.want {
			t.Errorf("boundQuery(%q, %d values) = %q, %v; want %q", tc.query, len(tc.binds), got, ok, tc.want)
		}
	}
}
