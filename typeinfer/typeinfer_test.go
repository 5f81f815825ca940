package typeinfer

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/eventsql/eventsql/engine"
)

func TestKindRules(t *testing.T) {
	tests := []struct {
		name   string
		values []string // JSON values of one field, one per event
		want   Kind
	}{
		{"integers", []string{`1`, `-7`, `9223372036854775807`}, KindInt},
		{"too big for int64", []string{`1`, `9223372036854775808`}, KindFloat},
		{"floats", []string{`1.5`, `2e3`}, KindFloat},
		{"ints and floats", []string{`1`, `2.5`}, KindFloat},
		{"bools", []string{`true`, `false`}, KindBool},
		{"strings", []string{`"a"`, `"b"`}, KindString},
		{"times", []string{`"2026-11-23T10:00:00Z"`, `"2026-11-23T10:00:00.123456+01:00"`}, KindDatetime},
		{"times and strings", []string{`"2026-11-23T10:00:00Z"`, `"soon"`}, KindString},
		{"objects", []string{`{"a":1}`, `[1,2]`}, KindJSON},
		{"number then string", []string{`1`, `"1"`}, KindJSON},
		{"nulls do not count", []string{`null`, `3`, `null`}, KindInt},
		{"only null", []string{`null`}, KindJSON},
		{"bool and int", []string{`true`, `1`}, KindJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st typeState
			for _, v := range tt.values {
				st.observe([]byte(`{"f":`+v+`}`), true)
			}
			s := st.schema("T")
			if len(s.Fields) != 1 || s.Fields[0].Kind != tt.want {
				t.Fatalf("fields = %+v, want f:%v", s.Fields, tt.want)
			}
		})
	}
}

func TestFieldsInOrderOfAppearance(t *testing.T) {
	var st typeState
	st.observe([]byte(`{"b":1,"a":"x"}`), true)
	st.observe([]byte(`[1,2]`), true)     // not an object: no fields
	st.observe([]byte(`\x00\x01`), false) // binary data: no fields
	st.observe([]byte(`{"c":true,"a":"longer"}`), true)
	s := st.schema("T")
	if len(s.Fields) != 3 || s.Fields[0].Name != "b" || s.Fields[1].Name != "a" || s.Fields[2].Name != "c" {
		t.Fatalf("fields = %+v", s.Fields)
	}
	if s.Fields[1].MaxLen != 6 || s.Events != 4 {
		t.Fatalf("maxLen %d events %d", s.Fields[1].MaxLen, s.Events)
	}
}

func TestRegistryIsIncrementalAndCached(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := engine.DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := engine.Open(ctx, filepath.Join(dir, "data"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	appendJSON := func(typ, data string) {
		t.Helper()
		if _, err := st.Append(ctx, "s-1", engine.ExpectAny, engine.EventData{Type: typ, Data: []byte(data), DataIsJSON: true}); err != nil {
			t.Fatal(err)
		}
	}
	appendJSON("Paid", `{"amount":10,"currency":"EUR"}`)
	appendJSON("Other", `{"x":1}`)
	cache := filepath.Join(dir, "typeinfer.json")
	reg := NewRegistry(st, cache, opts.Logger)
	s, err := reg.Schema(ctx, "Paid")
	if err != nil || len(s.Fields) != 2 || s.Fields[0].Kind != KindInt {
		t.Fatalf("schema = %+v, %v", s, err)
	}
	// A new field and a kind change appear without a restart.
	appendJSON("Paid", `{"amount":10.5,"currency":"EUR","note":"late"}`)
	s, err = reg.Schema(ctx, "Paid")
	if err != nil || len(s.Fields) != 3 || s.Fields[0].Kind != KindFloat || s.Events != 2 {
		t.Fatalf("schema after new event = %+v, %v", s, err)
	}
	if err := reg.Save(); err != nil {
		t.Fatal(err)
	}
	// A new registry starts from the cache and scans only what is new.
	appendJSON("Paid", `{"amount":1,"flag":true}`)
	reg2 := NewRegistry(st, cache, opts.Logger)
	s, err = reg2.Schema(ctx, "Paid")
	if err != nil || len(s.Fields) != 4 || s.Events != 3 || s.Through != st.Head() {
		t.Fatalf("schema from cache = %+v, %v", s, err)
	}
	// An unknown type has no fields.
	if s, err := reg2.Schema(ctx, "Nope"); err != nil || len(s.Fields) != 0 {
		t.Fatalf("unknown type = %+v, %v", s, err)
	}
}
