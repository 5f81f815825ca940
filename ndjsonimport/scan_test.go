package ndjsonimport

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidJSON(t *testing.T) {
	tests := []string{
		``, ` `, `{}`, `[]`, `{"a":1}`, `{"a":1,}`, `[1,]`, `[,1]`, `{"a" 1}`, `{a:1}`, `"\u00e9\n\"\\\/\b\f\r\t"`,
		`"\x"`, `"\u12"`, `"\u12g4"`, "\"a\x01\"", "\"a\x7f\xff\"", `01`, `-0`, `-`, `1.`, `.5`, `1.5e`, `1.5e+3`, `1E-3`,
		`-01`, `tru`, `true`, `nul`, `null `, ` false`, `[true,false,null]`, `{"a":{"b":[{}]}}`, `{"a":[}`, `[1 2]`,
		`{"a":1}{}`, `"unterminated`, `[`, `{"`, `{"a":`, `1 2`, "\t{ \"a\" :\n[ 1 ,2 ] }\r\n",
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
		strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
	}
	for _, in := range tests {
		if got, want := validJSON([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("validJSON(%.40q) = %v, encoding/json says %v", in, got, want)
		}
	}
}

// FuzzScanMatchesStd: the scanner accepts exactly what encoding/json does.
func FuzzScanMatchesStd(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-3,"x\u00e9",true,null,{}]}`, `-0.0E+1`, `"\\\""`, `[01]`, "\"\x1f\"", `{"a":1,}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
		var l Line
		if _, err := ParseLine(b, &l, nil); err == nil && !json.Valid(b) {
			t.Fatalf("ParseLine accepted %q, which is not JSON", b)
		}
	})
}

// TestScanStringEveryOffset puts each kind of special byte at every
// offset of strings longer than a word, where scanString switches from
// eight bytes at a time to one: the answers must be encoding/json's.
func TestScanStringEveryOffset(t *testing.T) {
	specials := []string{`"`, `\"`, `\\`, `\n`, `\u00e9`, `\u12`, `\x`, "\x00", "\x1f", "\x20", "\x7f", "\x80", "\xff", "\xe9\x80", `\`}
	for n := 0; n < 26; n++ {
		for k := 0; k <= n; k++ {
			for _, sp := range specials {
				s := `"` + strings.Repeat("a", k) + sp + strings.Repeat("b", n-k) + `"`
				for _, in := range []string{s, `{"k":` + s + `}`, s + ` `} {
					if got, want := validJSON([]byte(in)), json.Valid([]byte(in)); got != want {
						t.Fatalf("validJSON(%q) = %v, encoding/json says %v", in, got, want)
					}
				}
			}
		}
	}
}
