package sqlfront

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
)

// String functions whose result can be far larger than their arguments
// are bounded by max_allowed_packet, as in MySQL: a result that would be
// larger is NULL with warning 1301 ("Result of repeat() was larger than
// max_allowed_packet (N) - truncated"). GMS builds them whole, whatever
// their size: SELECT REPEAT('x', 2000000000) from any reader allocated
// 2 GB per row, and SPACE(n) took time quadratic in n.
//
// The bound is the session's max_allowed_packet, at most the server's
// (Options.MaxAllowedPacket, 64 MiB by default as in MySQL 8.0): a session
// may lower it, not raise it. Where the result's size follows from the
// arguments it is checked before anything is allocated; the others are
// checked once built: HEX, TO_BASE64 and QUOTE at most double their
// input, REGEXP_REPLACE (whose size depends on the matches, found inside
// GMS) may build a large result before it is dropped.

const (
	// erWarnAllowedPacketOverflowed is MySQL's ER_WARN_ALLOWED_PACKET_OVERFLOWED.
	erWarnAllowedPacketOverflowed = 1301
	// defaultMaxAllowedPacket is MySQL 8.0's default max_allowed_packet
	// (GMS's is 1 GiB).
	defaultMaxAllowedPacket = 64 << 20
)

// resultBound gives the largest result, in bytes, a function can build
// from its evaluated arguments (none of them NULL).
type resultBound func(ctx *sql.Context, args []any) (int64, error)

// packetLimits lists the functions bounded by max_allowed_packet and how
// their result size is bounded before they run (nil: checked after).
var packetLimits = map[string]resultBound{
	"repeat":         repeatBound,
	"space":          nil, // own implementation, spaceFunc
	"lpad":           padBound,
	"rpad":           padBound,
	"concat":         nil, // own implementation, concatFunc
	"concat_ws":      nil, // own implementation, concatFunc
	"insert":         insertBound,
	"replace":        replaceBound,
	"export_set":     exportSetBound,
	"make_set":       makeSetBound,
	"hex":            nil,
	"to_base64":      nil,
	"quote":          nil,
	"regexp_replace": nil,
}

// limitedFunction returns the bounded version of the builtin function
// name, or false.
func (fe *Front) limitedFunction(name string) (sql.Function, bool) {
	name = strings.ToLower(name)
	bound, ok := packetLimits[name]
	if !ok {
		return nil, false
	}
	base, ok := fe.builtins[name]
	if !ok {
		return nil, false
	}
	return sql.FunctionN{Name: name, Fn: func(ctx *sql.Context, args ...sql.Expression) (sql.Expression, error) {
		orig, err := base.NewInstance(ctx, args)
		if err != nil {
			return nil, err
		}
		return &packetLimited{name: name, orig: orig, bound: bound, max: fe.opts.MaxAllowedPacket}, nil
	}}, true
}

// packetLimited is a GMS string function bounded by max_allowed_packet.
// orig, GMS's own, gives the type, the children and (for most) the
// result; it is evaluated with its arguments evaluated once, by us.
type packetLimited struct {
	name  string
	orig  sql.Expression
	bound resultBound
	max   int64
}

var (
	_ sql.FunctionExpression = (*packetLimited)(nil)
	_ sql.CollationCoercible = (*packetLimited)(nil)
)

func (p *packetLimited) FunctionName() string { return p.name }
func (p *packetLimited) Description() string {
	if fe, ok := p.orig.(sql.FunctionExpression); ok {
		return fe.Description()
	}
	return p.name
}
func (p *packetLimited) Resolved() bool                 { return p.orig.Resolved() }
func (p *packetLimited) String() string                 { return p.orig.String() }
func (p *packetLimited) Type(ctx *sql.Context) sql.Type { return p.orig.Type(ctx) }
func (p *packetLimited) IsNullable(*sql.Context) bool   { return true }
func (p *packetLimited) Children() []sql.Expression     { return p.orig.Children() }
func (p *packetLimited) CollationCoercibility(ctx *sql.Context) (sql.CollationID, byte) {
	return sql.GetCoercibility(ctx, p.orig)
}

func (p *packetLimited) WithChildren(ctx *sql.Context, children ...sql.Expression) (sql.Expression, error) {
	orig, err := p.orig.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	return &packetLimited{name: p.name, orig: orig, bound: p.bound, max: p.max}, nil
}

func (p *packetLimited) Eval(ctx *sql.Context, row sql.Row) (any, error) {
	limit := maxAllowedPacket(ctx, p.max)
	switch p.name {
	case "space":
		return spaceFunc(ctx, p.orig.Children()[0], row, limit)
	case "concat", "concat_ws":
		return concatFunc(ctx, p.name, p.orig.Children(), row, limit)
	}
	if p.bound == nil {
		v, err := p.orig.Eval(ctx, row)
		if err != nil || v == nil {
			return v, err
		}
		if n, ok := byteLen(v); ok && n > limit {
			return tooLarge(ctx, p.name, limit)
		}
		return v, nil
	}
	// Evaluate the arguments once (they may have side effects, such as
	// RAND() or @v := ...), bound the result, then let GMS's function
	// build it from them.
	children := p.orig.Children()
	args := make([]any, len(children))
	lits := make([]sql.Expression, len(children))
	anyNull := false
	for i, c := range children {
		v, err := c.Eval(ctx, row)
		if err != nil {
			return nil, err
		}
		args[i] = v
		anyNull = anyNull || v == nil
		lits[i] = expression.NewLiteral(v, c.Type(ctx))
	}
	if !anyNull {
		n, err := p.bound(ctx, args)
		if err != nil {
			return nil, err
		}
		if n > limit {
			return tooLarge(ctx, p.name, limit)
		}
	}
	f, err := p.orig.WithChildren(ctx, lits...)
	if err != nil {
		return nil, err
	}
	return f.Eval(ctx, nil)
}

// maxAllowedPacket is the session's max_allowed_packet, at most max.
func maxAllowedPacket(ctx *sql.Context, max int64) int64 {
	v, err := ctx.GetSessionVariable(ctx, "max_allowed_packet")
	if err != nil {
		return max
	}
	var n int64
	switch v := v.(type) {
	case int64:
		n = v
	case uint64:
		n = int64(min(v, uint64(max)))
	case int:
		n = int64(v)
	default:
		return max
	}
	return min(n, max)
}

// tooLarge is MySQL's answer to a result over max_allowed_packet: NULL
// and warning 1301.
func tooLarge(ctx *sql.Context, name string, limit int64) (any, error) {
	ctx.Warn(erWarnAllowedPacketOverflowed, "Result of %s() was larger than max_allowed_packet (%d) - truncated", name, limit)
	return nil, nil
}

// byteLen is the length of a string result.
func byteLen(v any) (int64, bool) {
	switch v := v.(type) {
	case string:
		return int64(len(v)), true
	case []byte:
		return int64(len(v)), true
	}
	return 0, false
}

// toText converts an argument to the text GMS's functions work on.
func toText(ctx *sql.Context, v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	}
	t, _, err := types.LongText.Convert(ctx, v)
	if err != nil {
		return "", err
	}
	t, err = sql.UnwrapAny(ctx, t)
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("%T is not text", t)
	}
	return s, nil
}

// textLen is len(toText(v)) without a copy for strings and bytes.
func textLen(ctx *sql.Context, v any) (int64, error) {
	if n, ok := byteLen(v); ok {
		return n, nil
	}
	s, err := toText(ctx, v)
	return int64(len(s)), err
}

// toInt converts an integer argument; a value GMS would refuse is left
// to GMS (0, with ok false).
func toInt(ctx *sql.Context, v any) (int64, bool) {
	n, _, err := types.Int64.Convert(ctx, v)
	if err != nil {
		return 0, false
	}
	i, ok := n.(int64)
	return i, ok
}

// mulBound is a*b, saturated.
func mulBound(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > (1<<62)/b {
		return 1 << 62
	}
	return a * b
}

func repeatBound(ctx *sql.Context, args []any) (int64, error) {
	n, err := textLen(ctx, args[0])
	if err != nil {
		return 0, err
	}
	count, ok := toInt(ctx, args[1])
	if !ok {
		return 0, nil
	}
	return mulBound(n, count), nil
}

// padBound: LPAD/RPAD(str, len, pad) build len bytes (GMS pads bytes).
func padBound(ctx *sql.Context, args []any) (int64, error) {
	if len(args) < 2 {
		return 0, nil
	}
	n, _ := toInt(ctx, args[1])
	return max(n, 0), nil
}

// insertBound: INSERT(str, pos, len, newstr) is at most str and newstr.
func insertBound(ctx *sql.Context, args []any) (int64, error) {
	a, err := textLen(ctx, args[0])
	if err != nil {
		return 0, err
	}
	b, err := textLen(ctx, args[3])
	return a + b, err
}

// replaceBound: REPLACE(str, from, to) grows str by len(to)-len(from)
// per occurrence.
func replaceBound(ctx *sql.Context, args []any) (int64, error) {
	s, err := toText(ctx, args[0])
	if err != nil {
		return 0, err
	}
	from, err := toText(ctx, args[1])
	if err != nil || from == "" {
		return int64(len(s)), err
	}
	to, err := textLen(ctx, args[2])
	if err != nil {
		return 0, err
	}
	grow := to - int64(len(from))
	if grow <= 0 {
		return int64(len(s)), nil
	}
	return int64(len(s)) + mulBound(int64(strings.Count(s, from)), grow), nil
}

// exportSetBound: EXPORT_SET(bits, on, off[, sep[, n]]) writes n (at
// most 64) of on/off separated by sep.
func exportSetBound(ctx *sql.Context, args []any) (int64, error) {
	on, err := textLen(ctx, args[1])
	if err != nil {
		return 0, err
	}
	off, err := textLen(ctx, args[2])
	if err != nil {
		return 0, err
	}
	sep := int64(1)
	if len(args) > 3 {
		if sep, err = textLen(ctx, args[3]); err != nil {
			return 0, err
		}
	}
	return 64 * (max(on, off) + sep), nil
}

// makeSetBound: MAKE_SET(bits, s1, s2, ...) joins some of the strings.
func makeSetBound(ctx *sql.Context, args []any) (int64, error) {
	var n int64
	for _, a := range args[1:] {
		l, err := textLen(ctx, a)
		if err != nil {
			return 0, err
		}
		n += l + 1
	}
	return n, nil
}

// spaceFunc is SPACE(n) (GMS's appends one space at a time: quadratic).
func spaceFunc(ctx *sql.Context, arg sql.Expression, row sql.Row, limit int64) (any, error) {
	v, err := arg.Eval(ctx, row)
	if err != nil || v == nil {
		return nil, err
	}
	// As GMS: a value that is not a whole number is truncated with a warning.
	n, _, err := types.Int64.Convert(ctx, v)
	if err != nil {
		if !sql.ErrTruncatedIncorrect.Is(err) {
			return nil, err
		}
		ctx.Warn(mysql.ERTruncatedWrongValue, "%s", err.Error())
	}
	num, _ := n.(int64)
	if num <= 0 {
		return "", nil
	}
	if num > limit {
		return tooLarge(ctx, "space", limit)
	}
	return strings.Repeat(" ", int(num)), nil
}

// concatFunc is CONCAT and CONCAT_WS as GMS does them, with the total
// size checked before the result is built.
func concatFunc(ctx *sql.Context, name string, args []sql.Expression, row sql.Row, limit int64) (any, error) {
	parts := make([]string, 0, len(args))
	var total int64
	for i, arg := range args {
		v, err := arg.Eval(ctx, row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			if name == "concat" || i == 0 {
				return nil, nil
			}
			continue // CONCAT_WS skips NULLs after the separator
		}
		var s string
		if name == "concat" {
			// As GMS: type-aware, for enums and sets.
			s, _, err = types.ConvertToCollatedString(ctx, v, arg.Type(ctx))
		} else {
			s, err = toText(ctx, v)
		}
		if err != nil {
			return nil, err
		}
		parts = append(parts, s)
		total += int64(len(s))
	}
	if name == "concat" {
		if total > limit {
			return tooLarge(ctx, name, limit)
		}
		return strings.Join(parts, ""), nil
	}
	sep := parts[0]
	total += int64(len(parts)-2)*int64(len(sep)) - int64(len(sep))
	if total > limit {
		return tooLarge(ctx, name, limit)
	}
	return strings.Join(parts[1:], sep), nil
}

// builtinFunctions indexes GMS's builtin functions by name.
func builtinFunctions() map[string]sql.Function {
	m := make(map[string]sql.Function, len(function.BuiltIns))
	for _, f := range function.BuiltIns {
		m[f.FunctionName()] = f
	}
	return m
}
