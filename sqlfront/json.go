package sqlfront

import (
	"context"
	"database/sql/driver"
	"encoding/base64"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	gojson "github.com/goccy/go-json"
	"github.com/tidwall/gjson"
)

// jsonValue is a JSON column value kept as the bytes written. It goes to
// the wire without re-encoding (types.JSONBytes), is parsed into Go values
// once (ToInterface; two first calls at once may both parse), and answers
// JSON_EXTRACT / -> / ->> paths by scanning the bytes, without building
// the document (types.SearchableJSON). It is small (32 bytes): every row
// of events has two, and most are never parsed.
type jsonValue struct {
	raw    []byte
	parsed atomic.Pointer[parsedJSON]
}

// parsedJSON is a jsonValue's document as Go values.
type parsedJSON struct {
	val any
	err error
}

var (
	_ types.JSONBytes      = (*jsonValue)(nil)
	_ types.SearchableJSON = (*jsonValue)(nil)
	_ driver.Valuer        = (*jsonValue)(nil)
)

func newJSONValue(raw []byte) *jsonValue { return &jsonValue{raw: raw} }

// nonJSONValue is how data that was not written as JSON appears in a JSON
// column: a JSON string of its base64 text.
func nonJSONValue(b []byte) *jsonValue {
	s, _ := gojson.Marshal(base64.StdEncoding.EncodeToString(b))
	return newJSONValue(s)
}

func (j *jsonValue) Clone(context.Context) sql.JSONWrapper { return newJSONValue(j.raw) }

func (j *jsonValue) ToInterface(context.Context) (any, error) {
	p := j.parsed.Load()
	if p == nil {
		dec := gojson.NewDecoder(strings.NewReader(string(j.raw)))
		dec.UseNumber()
		var v any
		err := dec.Decode(&v)
		p = &parsedJSON{val: normalizeNumbers(v), err: err}
		if !j.parsed.CompareAndSwap(nil, p) {
			p = j.parsed.Load()
		}
	}
	return p.val, p.err
}

// normalizeNumbers turns json.Number into float64 (GMS's JSON model) but
// keeps integers exact where they fit.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case gojson.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return float64(i)
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

func (j *jsonValue) GetBytes(context.Context) ([]byte, error) { return j.raw, nil }

func (j *jsonValue) Value() (driver.Value, error) { return string(j.raw), nil }

func (j *jsonValue) String() string { return string(j.raw) }

// Lookup answers a JSON path. Simple paths ($.a.b, $."a b", $[0], $.a[2])
// are resolved by scanning the bytes; anything else (wildcards, ranges)
// falls back to GMS's evaluator on the parsed document.
func (j *jsonValue) Lookup(ctx context.Context, path string) (sql.JSONWrapper, error) {
	if path == "$" {
		return j, nil
	}
	gpath, ok := toGJSONPath(path)
	if !ok {
		doc, err := j.ToInterface(ctx)
		if err != nil {
			return nil, err
		}
		return types.LookupJSONValue(ctx, types.JSONDocument{Val: doc}, path)
	}
	res := gjson.GetBytes(j.raw, gpath)
	if !res.Exists() {
		return nil, nil
	}
	return newJSONValue([]byte(res.Raw)), nil
}

// toGJSONPath converts a simple MySQL JSON path to gjson's syntax.
func toGJSONPath(path string) (string, bool) {
	if !strings.HasPrefix(path, "$") {
		return "", false
	}
	p := path[1:]
	var parts []string
	for len(p) > 0 {
		switch p[0] {
		case '.':
			p = p[1:]
			if len(p) > 0 && p[0] == '"' {
				end := strings.IndexByte(p[1:], '"')
				if end < 0 {
					return "", false
				}
				key := p[1 : end+1]
				if strings.ContainsRune(key, '\\') {
					return "", false
				}
				parts = append(parts, escapeGJSON(key))
				p = p[end+2:]
				continue
			}
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			key := p[:end]
			if key == "" || key == "*" || strings.ContainsAny(key, " \"*") {
				return "", false
			}
			parts = append(parts, escapeGJSON(key))
			p = p[end:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return "", false
			}
			idx := strings.TrimSpace(p[1:end])
			if _, err := strconv.ParseUint(idx, 10, 32); err != nil {
				return "", false // last, ranges, wildcards
			}
			parts = append(parts, idx)
			p = p[end+1:]
		default:
			return "", false
		}
	}
	if len(parts) == 0 {
		return "", false
	}
	return strings.Join(parts, "."), true
}

// escapeGJSON escapes gjson's path metacharacters in a key.
func escapeGJSON(key string) string {
	if !strings.ContainsAny(key, `.*?|#@\!=<>%`) {
		return key
	}
	var b strings.Builder
	for _, r := range key {
		if strings.ContainsRune(`.*?|#@\!=<>%`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
