package benchgen

import (
	"testing"

	"github.com/google/uuid"
)

func TestAppendUUIDMatchesUUIDPackage(t *testing.T) {
	for i := range 100 {
		var id [16]byte
		for j := range id {
			id[j] = byte(Mix(uint64(i*16 + j)))
		}
		if got, want := string(AppendUUID([]byte("x"), id)), "x"+uuid.UUID(id).String(); got != want {
			t.Fatalf("AppendUUID = %s, want %s", got, want)
		}
	}
}

func TestAppendTSVEscaped(t *testing.T) {
	for in, want := range map[string]string{
		"plain":              "plain",
		"a\tb\nc\rd\\e\x00f": `a\tb\nc\rd\\e\0f`,
		`{"k":"v\"w"}`:       `{"k":"v\\"w"}`, // quotes are not special, backslashes are
		"":                   "",
	} {
		if got := string(AppendTSVEscaped(nil, in)); got != want {
			t.Errorf("AppendTSVEscaped(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMixIsABijectionOnASample(t *testing.T) {
	seen := map[uint64]bool{}
	for i := range uint64(10000) {
		v := Mix(i)
		if seen[v] {
			t.Fatalf("Mix(%d) repeats", i)
		}
		seen[v] = true
	}
}
