package sqlfront

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/go-mysql-server/sql/transform"

	server "github.com/eventsql/eventsql/sqlfront/internal/gmsserver"
)

// planTemplates keeps the analyzed plans of simple event table reads as
// templates, so that the next query that differs only in its literals
// (the next stream, the next position range) skips GMS's parse and
// analysis: ~100 µs of server CPU a query, more than reading a stream's
// rows. A template is made from the plan GMS's analyzer made for an
// earlier query of the same digest (query_digest.go), so the new plan is
// what the analyzer would make, with the new literals in its expressions
// and the index lookup planned again from them (LookupForExpressions,
// as the analyzer does).
//
// Only plans of one shape become templates: an index read of one event
// table (IndexedTableAccess under a Filter), with Project of columns,
// Sort, TopN, Limit, Offset and TableAlias above it and nothing else,
// whose literals are exactly the query's literals, each found by its
// value (a literal the analyzer derived or folded, like a range bound it
// computed, makes the query stay on the usual path). A literal place is
// trusted only once a query with another value there got the analyzer's
// own plan from the template (Plan). Anything that changes how a query
// is parsed or analyzed is part of the key: the user, the current
// database, sql_mode, the client character set, the connection
// collation, the time zone, sql_select_limit; a by_type or by_category
// table must still resolve to the same table with the same columns.
type planTemplates struct {
	fe *Front
	mu sync.Mutex
	m  map[templateKey]*planTemplate
	// hits counts queries planned from a template (tests).
	hits atomic.Uint64
	// prepared keeps prepared statements' columns (prepared_fields.go);
	// preparedHits counts prepares answered from it (tests).
	prepared     map[templateKey]preparedEntry
	preparedHits atomic.Uint64
}

// maxPlanTemplates bounds the templates kept (and digests seen once);
// past it the cache starts again empty.
const maxPlanTemplates = 4096

// templateKey is a digest with the session state its plan depends on.
type templateKey struct {
	digest                                             string
	user, db                                           string
	sqlMode, charset, collation, timeZone, selectLimit string
}

// planTemplate is the analyzed plan of one query of a digest, or a
// digest seen once (plan nil, learn on the second query) or found not to
// make templates (never set).
type planTemplate struct {
	plan  sql.Node
	flags sql.QueryFlags
	// lits are the literals of the query the plan was made for.
	lits []digestLiteral
	// table is the event table read (checked again for by_type and
	// by_category tables).
	table *eventsTable
	// checked marks the places of lits where a query with another
	// literal got the analyzer's plan from the template.
	checked []bool
	never   bool
}

var _ server.PlanSource = (*planTemplates)(nil)

func newPlanTemplates(fe *Front) *planTemplates {
	return &planTemplates{fe: fe, m: map[templateKey]*planTemplate{}, prepared: map[templateKey]preparedEntry{}}
}

// Plan implements server.PlanSource. A digest seen for the first time is
// only noted (most ad-hoc queries are never repeated). The second query
// of a digest is analyzed here and becomes a template if its plan fits.
// A later query is planned from the template when each of its literals
// is either the template's or in a place already checked: a query with
// a literal in an unchecked place is analyzed too and must get the plan
// the template makes for it (then those places are checked), or the
// digest never uses templates again.
func (pt *planTemplates) Plan(ctx *sql.Context, query string, flags *sql.QueryFlags) (sql.Node, *sql.QueryFlags, bool) {
	d, ok := digestQuery(query)
	if !ok {
		return nil, nil, false
	}
	key, ok := templateKeyOf(ctx, d.key)
	if !ok {
		return nil, nil, false
	}
	pt.mu.Lock()
	t, seen := pt.m[key]
	if !seen {
		if len(pt.m) >= maxPlanTemplates {
			clear(pt.m)
		}
		pt.m[key] = &planTemplate{}
	}
	pt.mu.Unlock()
	if !seen || t.never {
		return nil, nil, false
	}
	if t.plan != nil && !pt.sameTable(ctx, t.table) {
		pt.mu.Lock()
		pt.m[key] = &planTemplate{} // learn the table's new form
		pt.mu.Unlock()
		return nil, nil, false
	}
	if t.plan == nil || !t.covers(d.lits) {
		analyzed, aflags, ok := pt.analyze(ctx, query, flags)
		if !ok {
			return nil, nil, false // GMS reports the error or warnings
		}
		var nt *planTemplate
		if t.plan == nil {
			nt = pt.template(ctx, analyzed, *aflags, d)
		} else if n, ok := pt.instantiate(ctx, t, d.lits); ok && planFingerprint(ctx, n) == planFingerprint(ctx, analyzed) {
			nt = t.check(d.lits)
		} else {
			nt = &planTemplate{never: true}
		}
		pt.mu.Lock()
		pt.m[key] = nt
		pt.mu.Unlock()
		return analyzed, aflags, true
	}
	n, ok := pt.instantiate(ctx, t, d.lits)
	if !ok {
		return nil, nil, false
	}
	pt.hits.Add(1)
	f := t.flags
	return n, &f, true
}

// OneStatement implements server.PlanSource: a query the digester reads
// is one statement (a ';' may only end it).
func (pt *planTemplates) OneStatement(query string) bool {
	_, ok := digestQuery(query)
	return ok
}

// Bind implements server.PlanSource (bound_query.go).
func (pt *planTemplates) Bind(query string, bindings map[string]*querypb.BindVariable) (string, bool) {
	return boundQuery(query, bindings)
}

// covers reports whether the template may plan a query with lits: each
// literal is the template's or in a checked place.
func (t *planTemplate) covers(lits []digestLiteral) bool {
	for i := range lits {
		if lits[i].text != t.lits[i].text && !t.checked[i] {
			return false
		}
	}
	return true
}

// check returns a copy of t with the places where lits differ from its
// literals checked.
func (t *planTemplate) check(lits []digestLiteral) *planTemplate {
	c := *t
	c.checked = slices.Clone(t.checked)
	for i := range lits {
		if lits[i].text != t.lits[i].text {
			c.checked[i] = true
		}
	}
	return &c
}

// templateKeyOf is the key of digest in ctx's session; false when the
// session's state keeps queries off templates (a client character set
// other than UTF-8, which GMS converts literals from).
func templateKeyOf(ctx *sql.Context, digest string) (templateKey, bool) {
	k := templateKey{digest: digest, user: ctx.Session.Client().User, db: ctx.GetCurrentDatabase()}
	for _, v := range []struct {
		name string
		dst  *string
	}{
		{"sql_mode", &k.sqlMode}, {"character_set_client", &k.charset}, {"collation_connection", &k.collation},
		{"time_zone", &k.timeZone}, {"sql_select_limit", &k.selectLimit},
	} {
		x, err := ctx.GetSessionVariable(ctx, v.name)
		if err != nil {
			return templateKey{}, false
		}
		switch x := x.(type) { // what GMS holds them as, without fmt's allocations
		case string:
			*v.dst = x
		case int64:
			*v.dst = strconv.FormatInt(x, 10)
		case uint64:
			*v.dst = strconv.FormatUint(x, 10)
		default:
			*v.dst = fmt.Sprint(x)
		}
	}
	switch k.charset {
	case "utf8mb4", "utf8mb3", "utf8":
	default:
		return templateKey{}, false
	}
	return k, true
}

// analyze parses and analyzes query as GMS's engine does; false when
// that fails or leaves warnings (the usual path then reports them).
func (pt *planTemplates) analyze(ctx *sql.Context, query string, flags *sql.QueryFlags) (sql.Node, *sql.QueryFlags, bool) {
	e := pt.fe.engine
	warnings := len(ctx.Session.Warnings())
	var in *sql.QueryFlags
	if flags != nil {
		c := *flags
		in = &c
	}
	binder := planbuilder.New(ctx, e.Analyzer.Catalog, e.EventScheduler)
	parsed, _, _, pflags, err := binder.Parse(sql.RemoveSpaceAndDelimiter(query, ';'), in, false)
	if err != nil || pflags == nil {
		return nil, nil, false
	}
	analyzed, err := e.Analyzer.Analyze(ctx, parsed, nil, pflags)
	if err != nil || len(ctx.Session.Warnings()) != warnings {
		return nil, nil, false
	}
	return analyzed, pflags, true
}

// template makes a template of analyzed, the plan of a query digested as
// d, if it fits; else a template that says never.
func (pt *planTemplates) template(ctx *sql.Context, analyzed sql.Node, flags sql.QueryFlags, d queryDigest) *planTemplate {
	t := &planTemplate{plan: analyzed, flags: flags, lits: d.lits, checked: make([]bool, len(d.lits))}
	if pt.misfit(ctx, t, d.key) != "" {
		return &planTemplate{never: true}
	}
	// The template must give back the plan it was made from.
	n, ok := pt.instantiate(ctx, t, d.lits)
	if !ok || planFingerprint(ctx, n) != planFingerprint(ctx, analyzed) {
		return &planTemplate{never: true}
	}
	// The template keeps nodes of its own, which no statement runs:
	// analyzed runs now, and nodes cache what their methods compute
	// (Project.Schema), so a template shared with a running plan was
	// written by one goroutine while others copied it (a data race). Its
	// caches are filled here, before other goroutines see it, so that
	// later calls only read them.
	t.plan = n
	transform.Inspect(n, func(n sql.Node) bool {
		n.Schema(ctx)
		return true
	})
	return t
}

// planFingerprint is n's tree as GMS prints it, with the scanPlans of its
// index reads (GMS prints only the ranges of the index they read by).
func planFingerprint(ctx *sql.Context, n sql.Node) string {
	var b strings.Builder
	b.WriteString(sql.DebugString(ctx, n))
	transform.Inspect(n, func(n sql.Node) bool {
		if ita, ok := n.(*plan.IndexedTableAccess); ok {
			if pi, ok := ita.Index().(*planIndex); ok {
				b.WriteString("\nscan plan: " + pi.plan.String())
			}
		}
		return true
	})
	return b.String()
}

// misfit says why t.plan does not have the shape of a template ("" if
// it has), and finds the table it reads.
func (pt *planTemplates) misfit(ctx *sql.Context, t *planTemplate, digest string) string {
	// Literal values must tell the literals apart.
	for i := range t.lits {
		for j := range i {
			if t.lits[i] == t.lits[j] {
				return "two literals of one value"
			}
		}
	}
	why := ""
	offset := false
	transform.Inspect(t.plan, func(n sql.Node) bool {
		if why != "" {
			return false
		}
		switch n := n.(type) {
		case *plan.Limit, *plan.Sort, *plan.TopN, *plan.TableAlias, *plan.IndexedTableAccess:
			// IndexedTableAccess: under the Filter (checked there).
		case *plan.Offset:
			offset = true
		case *plan.Project:
			for _, e := range n.Projections {
				if a, isAlias := e.(*expression.Alias); isAlias {
					e = a.Child
				}
				if _, isField := e.(*expression.GetField); !isField {
					why = "a projection that is not a column"
				}
			}
		case *plan.Filter:
			ita, _ := indexReadUnder(n)
			if ita == nil || t.table != nil {
				why = "a Filter not over one index read"
				break
			}
			// The table itself, not GMS's process-tracking wrapper (whose
			// hooks name the query the template was made from).
			rt, isResolved := ita.TableNode.(*plan.ResolvedTable)
			if !isResolved {
				why = "an index read of a " + fmt.Sprintf("%T", ita.TableNode)
				break
			}
			et, isEvents := rt.Table.(*eventsTable)
			if !isEvents || et.filter != nil || et.wire != nil || et.plan == nil {
				why = "an index read not planned by an event table"
				break
			}
			if _, isPlan := ita.Index().(*planIndex); !isPlan {
				why = "an index read not planned by an event table"
				break
			}
			t.table = et
		default:
			why = fmt.Sprintf("a %T", n)
		}
		return why == ""
	})
	if why != "" {
		return why
	}
	if t.table == nil {
		return "no index read"
	}
	if t.table.scope != scopeAll && !namesWord(digest, t.table.name) {
		return "a table named in another case" // an exact name may appear
	}
	// Every literal of the plan is one of the query's; every literal of
	// the query is in the plan. An integer may have another integer type
	// than the parser gave it (the analyzer converts some, TopN's limit
	// for one), but a TopN's limit is LIMIT's only without an OFFSET.
	used := make([]bool, len(t.lits))
	transform.Inspect(t.plan, func(n sql.Node) bool {
		if tn, ok := n.(*plan.TopN); ok && offset {
			if _, isLit := tn.Limit.(*expression.Literal); isLit {
				why = "a TopN with an offset"
			}
		}
		return why == ""
	})
	transform.InspectExpressions(ctx, t.plan, func(_ *sql.Context, e sql.Expression) bool {
		l, isLit := e.(*expression.Literal)
		if !isLit || why != "" {
			return why == ""
		}
		i := literalIndex(t.lits, l.Value())
		if i < 0 {
			why = fmt.Sprintf("a literal %v (%s) not in the query", l.Value(), l.Type(ctx))
			return false
		}
		used[i] = true
		return true
	})
	if why == "" && slices.Contains(used, false) {
		why = "a literal of the query not in the plan"
	}
	return why
}

// namesWord reports whether the digest has name as a word, as written
// or quoted.
func namesWord(digest, name string) bool {
	for _, w := range strings.Split(digest, " ") {
		if w == name || w == "`"+name+"`" {
			return true
		}
	}
	return false
}

// literalIndex finds v among lits by value: a string, or an integer of
// any integer type; -1 if it is none of them.
func literalIndex(lits []digestLiteral, v any) int {
	var (
		u     uint64
		isInt bool
	)
	switch x := v.(type) {
	case string:
		for i, l := range lits {
			if l.str && l.text == x {
				return i
			}
		}
		return -1
	case int8, int16, int32, int64:
		n := reflect.ValueOf(x).Int()
		u, isInt = uint64(n), n >= 0
	case uint8, uint16, uint32, uint64:
		u, isInt = reflect.ValueOf(x).Uint(), true
	}
	if !isInt {
		return -1
	}
	for i, l := range lits {
		if !l.str {
			if w, err := strconv.ParseUint(l.text, 10, 64); err == nil && w == u {
				return i
			}
		}
	}
	return -1
}

// valueLike is the new literal l as a value of the Go type of old (the
// template's value in its place); false when it does not fit that type.
func valueLike(old any, l digestLiteral) (any, bool) {
	if _, ok := old.(string); ok {
		return l.text, l.str
	}
	if l.str {
		return nil, false
	}
	u, err := strconv.ParseUint(l.text, 10, 64)
	if err != nil {
		return nil, false
	}
	rv := reflect.New(reflect.TypeOf(old)).Elem()
	switch rv.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if u > math.MaxInt64 || rv.OverflowInt(int64(u)) {
			return nil, false
		}
		rv.SetInt(int64(u))
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if rv.OverflowUint(u) {
			return nil, false
		}
		rv.SetUint(u)
	default:
		return nil, false
	}
	return rv.Interface(), true
}

// indexReadUnder returns the index read a Filter filters, directly or
// under a TableAlias.
func indexReadUnder(f *plan.Filter) (*plan.IndexedTableAccess, *plan.TableAlias) {
	switch c := f.Child.(type) {
	case *plan.IndexedTableAccess:
		return c, nil
	case *plan.TableAlias:
		if ita, ok := c.Child.(*plan.IndexedTableAccess); ok {
			return ita, c
		}
	}
	return nil, nil
}

// instantiate makes the plan of a query of t's digest whose literals are
// lits: t's plan with each literal replaced by the new value (of the
// type GMS gave the template's), and the index read planned again from
// the Filter over it. False when the new values do not fit.
func (pt *planTemplates) instantiate(ctx *sql.Context, t *planTemplate, lits []digestLiteral) (sql.Node, bool) {
	n, _, err := transform.Node(ctx, t.plan, func(ctx *sql.Context, n sql.Node) (sql.Node, transform.TreeIdentity, error) {
		ex, ok := n.(sql.Expressioner)
		if !ok {
			return n, transform.SameTree, nil
		}
		if _, isIndexRead := n.(*plan.IndexedTableAccess); isIndexRead {
			return n, transform.SameTree, nil // rebuilt with its Filter
		}
		exprs := ex.Expressions()
		out := make([]sql.Expression, len(exprs))
		for i, e := range exprs {
			ne, _, err := transform.Expr(ctx, e, func(ctx *sql.Context, e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
				l, isLit := e.(*expression.Literal)
				if !isLit {
					return e, transform.SameTree, nil
				}
				i := literalIndex(t.lits, l.Value())
				if i < 0 {
					return nil, transform.SameTree, errTemplateMismatch
				}
				v, ok := valueLike(l.Value(), lits[i])
				if !ok {
					return nil, transform.SameTree, errTemplateMismatch
				}
				return expression.NewLiteral(v, l.Type(ctx)), transform.NewTree, nil
			})
			if err != nil {
				return nil, transform.SameTree, err
			}
			out[i] = ne
		}
		nn, err := ex.WithExpressions(ctx, out...)
		if err != nil {
			return nil, transform.SameTree, err
		}
		f, isFilter := nn.(*plan.Filter)
		if !isFilter {
			return nn, transform.NewTree, nil
		}
		read, err := pt.indexRead(ctx, f)
		if err != nil {
			return nil, transform.SameTree, err
		}
		return read, transform.NewTree, nil
	})
	if err != nil {
		return nil, false
	}
	return n, true
}

// errTemplateMismatch stops an instantiation whose plan does not match its
// template (never expected: fits checked it).
var errTemplateMismatch = fmt.Errorf("eventsql: plan template mismatch")

// indexRead returns f with the index read under it planned again from
// f's conjuncts, as the analyzer plans it (LookupForExpressions).
func (pt *planTemplates) indexRead(ctx *sql.Context, f *plan.Filter) (sql.Node, error) {
	ita, alias := indexReadUnder(f)
	if ita == nil {
		return nil, errTemplateMismatch
	}
	et, ok := ita.TableNode.UnderlyingTable().(*eventsTable)
	if !ok {
		return nil, errTemplateMismatch
	}
	lookup, _, _, ok, err := et.LookupForExpressions(ctx, expression.SplitConjunction(ctx, f.Expression)...)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errTemplateMismatch // GMS would scan: not this plan
	}
	nita, err := plan.NewStaticIndexedAccessForTableNode(ctx, ita.TableNode, lookup)
	if err != nil {
		return nil, err
	}
	var child sql.Node = nita
	if alias != nil {
		if child, err = alias.WithChildren(ctx, nita); err != nil {
			return nil, err
		}
	}
	return f.WithChildren(ctx, child)
}

// sameTable reports whether t is still what its name resolves to: the
// events table always is; a by_type table keeps its columns only while
// no new field or type change appears, and a name that matched in
// another case may later match exactly.
func (pt *planTemplates) sameTable(ctx *sql.Context, t *eventsTable) bool {
	if t.scope == scopeAll {
		return true
	}
	db, err := pt.fe.provider.Database(ctx, t.db)
	if err != nil {
		return false
	}
	cur, ok, err := db.(*database).GetTableInsensitive(ctx, t.name)
	if err != nil || !ok {
		return false
	}
	ct, ok := cur.(*eventsTable)
	return ok && ct.name == t.name && ct.scope == t.scope && slices.Equal(ct.typed, t.typed) &&
		len(ct.schema) == len(t.schema) && slices.EqualFunc(ct.schema, t.schema, sameColumn)
}

// sameColumn reports whether two columns are the same to a client.
func sameColumn(a, b *sql.Column) bool {
	return a.Name == b.Name && a.Source == b.Source && a.Nullable == b.Nullable && a.Type.Equals(b.Type)
}
