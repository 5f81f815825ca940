package sqlfront

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// fastPred is a filter conjunct "column op constant" compiled to a Go
// comparison with go-mysql-server's semantics for the value types our
// columns hold (comparison.go: same signedness compares as integers, a
// mix or a DOUBLE compares as DOUBLE, text with the binary collation
// byte by byte). Other conjuncts are evaluated by GMS on the mini-row.
type fastPred struct {
	slot int
	op   cmpOp
	kind fastKind
	i    int64
	u    uint64
	f    float64
	s    string
	// in: column IN (constants), as equalities (a set for text).
	in  []fastPred
	set map[string]struct{}
}

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

type fastKind uint8

const (
	fastInt    fastKind = iota // int64 column, signed constant
	fastUint                   // uint64 column, unsigned constant
	fastDouble                 // compare as DOUBLE
	fastString                 // text column, text constant
	fastNull                   // IS NULL (opEq), IS NOT NULL (opNe)
)

// compileConjunct returns the fast form of conjunct e (over the
// mini-row) when there is one: comparisons, BETWEEN (two comparisons, as
// GMS evaluates it) and IN lists of constants.
func compileConjunct(ctx *sql.Context, e sql.Expression, colType func(slot int) sql.Type) ([]fastPred, bool) {
	switch e := e.(type) {
	case *expression.Between:
		lo, ok1 := compileFast(ctx, expression.NewLessThanOrEqual(e.Lower, e.Val), colType)
		hi, ok2 := compileFast(ctx, expression.NewGreaterThanOrEqual(e.Upper, e.Val), colType)
		return []fastPred{lo, hi}, ok1 && ok2
	case *expression.InTuple:
		p, ok := compileIn(ctx, e.Left(), e.Right(), colType)
		return []fastPred{p}, ok
	case *expression.HashInTuple:
		p, ok := compileIn(ctx, e.Left(), e.Right(), colType)
		return []fastPred{p}, ok
	case *expression.IsNull:
		if gf, ok := e.Child.(*expression.GetField); ok {
			return []fastPred{{slot: gf.Index(), kind: fastNull, op: opEq}}, true
		}
	case *expression.Not:
		if isNull, ok := e.Child.(*expression.IsNull); ok {
			if gf, ok := isNull.Child.(*expression.GetField); ok {
				return []fastPred{{slot: gf.Index(), kind: fastNull, op: opNe}}, true
			}
		}
	}
	p, ok := compileFast(ctx, e, colType)
	return []fastPred{p}, ok
}

// compileIn compiles column IN (constants) to equalities.
func compileIn(ctx *sql.Context, left, right sql.Expression, colType func(slot int) sql.Type) (fastPred, bool) {
	tup, ok := right.(expression.Tuple)
	if !ok || len(tup) == 0 {
		return fastPred{}, false
	}
	in := fastPred{op: opEq}
	for _, v := range tup {
		p, ok := compileFast(ctx, expression.NewEquals(left, v), colType)
		if !ok || (len(in.in) > 0 && p.kind != in.in[0].kind) {
			return fastPred{}, false
		}
		in.slot, in.kind = p.slot, p.kind
		in.in = append(in.in, p)
	}
	if in.kind == fastString {
		in.set = make(map[string]struct{}, len(in.in))
		for _, p := range in.in {
			in.set[p.s] = struct{}{}
		}
	}
	return in, true
}

// compileFast compiles one comparison.
func compileFast(ctx *sql.Context, e sql.Expression, colType func(slot int) sql.Type) (fastPred, bool) {
	op := opEq
	if not, ok := e.(*expression.Not); ok {
		eq, ok := not.Child.(*expression.Equals)
		if !ok {
			return fastPred{}, false
		}
		e, op = eq, opNe
	}
	var left, right sql.Expression
	switch c := e.(type) {
	case *expression.Equals:
		left, right = c.Left(), c.Right()
	case *expression.GreaterThan:
		left, right, op = c.Left(), c.Right(), opGt
	case *expression.GreaterThanOrEqual:
		left, right, op = c.Left(), c.Right(), opGe
	case *expression.LessThan:
		left, right, op = c.Left(), c.Right(), opLt
	case *expression.LessThanOrEqual:
		left, right, op = c.Left(), c.Right(), opLe
	default:
		return fastPred{}, false
	}
	gf, isGF := left.(*expression.GetField)
	lit, isLit := right.(*expression.Literal)
	if !isGF || !isLit {
		gf, isGF = right.(*expression.GetField)
		lit, isLit = left.(*expression.Literal)
		if !isGF || !isLit {
			return fastPred{}, false
		}
		op = op.flip()
	}
	v := lit.Value()
	if v == nil {
		return fastPred{}, false
	}
	p := fastPred{slot: gf.Index(), op: op}
	ct := colType(p.slot)
	lt := lit.Type(ctx)
	switch {
	case ct == types.Int64 && types.IsSigned(lt):
		i, ok := signedValue(v)
		p.kind, p.i = fastInt, i
		return p, ok
	case ct == types.Uint64 && types.IsUnsigned(lt):
		u, ok := unsignedValue(v)
		p.kind, p.u = fastUint, u
		return p, ok
	case (ct == types.Int64 || ct == types.Uint64 || ct == types.Float64) && (types.IsInteger(lt) || types.IsFloat(lt)):
		f, ok := doubleValue(v)
		p.kind, p.f = fastDouble, f
		return p, ok
	case types.IsText(ct) && types.IsText(lt):
		st, ok := ct.(sql.StringType)
		s, isStr := v.(string)
		if !ok || !isStr || st.Collation() != sql.Collation_utf8mb4_0900_bin {
			return fastPred{}, false
		}
		p.kind, p.s = fastString, s
		return p, true
	}
	return fastPred{}, false
}

func (op cmpOp) flip() cmpOp {
	switch op {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return op
}

func signedValue(v any) (int64, bool) {
	switch v := v.(type) {
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case int:
		return int64(v), true
	}
	return 0, false
}

func unsignedValue(v any) (uint64, bool) {
	switch v := v.(type) {
	case uint8:
		return uint64(v), true
	case uint16:
		return uint64(v), true
	case uint32:
		return uint64(v), true
	case uint64:
		return v, true
	case uint:
		return uint64(v), true
	}
	return 0, false
}

func doubleValue(v any) (float64, bool) {
	if i, ok := signedValue(v); ok {
		return float64(i), true
	}
	if u, ok := unsignedValue(v); ok {
		return float64(u), true
	}
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	}
	return 0, false
}

// match reports whether the row passes; NULL never does.
func (p *fastPred) match(row sql.Row) bool {
	if p.set != nil {
		s, ok := row[p.slot].(string)
		_, in := p.set[s]
		return ok && in
	}
	if p.in != nil {
		for i := range p.in {
			if p.in[i].match(row) {
				return true
			}
		}
		return false
	}
	var c int
	switch p.kind {
	case fastNull:
		return (row[p.slot] == nil) == (p.op == opEq)
	case fastInt:
		v, ok := row[p.slot].(int64)
		if !ok {
			return false
		}
		c = cmp3(v, p.i)
	case fastUint:
		v, ok := row[p.slot].(uint64)
		if !ok {
			return false
		}
		c = cmp3(v, p.u)
	case fastDouble:
		f, ok := doubleValue(row[p.slot])
		if !ok {
			return false
		}
		c = cmp3(f, p.f)
	case fastString:
		s, ok := row[p.slot].(string)
		if !ok {
			return false
		}
		c = strings.Compare(s, p.s)
	}
	switch p.op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

func cmp3[T int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dayKey is the fast form of a DATE(col) group key over a DATETIME
// column holding UTC times: the day's midnight.
func dayKey(ctx *sql.Context, e sql.Expression) (int, bool) {
	d, ok := e.(*function.Date)
	if !ok {
		return -1, false
	}
	gf, ok := d.Child.(*expression.GetField)
	if !ok || !types.IsDatetimeType(gf.Type(ctx)) {
		return -1, false
	}
	return gf.Index(), true
}

func appendDay(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(b, 'n'), true
	case time.Time:
		// Days since the epoch (floor, for times before 1970 too): the
		// same grouping as the UTC date.
		us := v.UnixMicro()
		day := us / microsPerDay
		if us%microsPerDay < 0 {
			day--
		}
		return binary.BigEndian.AppendUint64(append(b, 'd'), uint64(day)), true
	}
	return b, false
}

const microsPerDay = 24 * 60 * 60 * 1_000_000
