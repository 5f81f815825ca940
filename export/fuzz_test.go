package export

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// FuzzParseManifest: the manifest is read from a directory users can
// edit; parsing must never panic, and whatever it accepts names only
// files inside the export directory's datasets and round-trips.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"formatVersion":1,"storeId":"s","datasets":{"events":{"schemas":[[{"name":"position","type":"BIGINT"}]]}},` +
		`"files":[{"path":"events/date=2026-03-01/part-1-2.parquet","dataset":"events","date":"2026-03-01","rows":2,"schema":0}]}`))
	f.Add([]byte(`{"formatVersion":1,"storeId":"s","datasets":{"by_type/T":{"schemas":[[]],"inference":[{"name":"a","seen":["int"]}]}},` +
		`"files":[{"path":"by_type/T/date=2026-03-01/../../../etc/passwd.parquet","dataset":"by_type/T","date":"2026-03-01"}]}`))
	f.Add([]byte(`{"formatVersion":2}`))
	f.Add([]byte(`{"formatVersion":1,"storeId":"s","files":[{"path":"/abs.parquet"}]}`))
	f.Add([]byte(`nonsense`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseManifest(b)
		if err != nil {
			return
		}
		for _, file := range m.Files {
			if slices.Contains(strings.Split(file.Path, "/"), "..") || strings.HasPrefix(file.Path, "/") ||
				!(strings.HasPrefix(file.Path, "events/") || strings.HasPrefix(file.Path, "by_type/")) {
				t.Fatalf("accepted path %q", file.Path)
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseManifest(again); err != nil {
			t.Fatalf("re-encoded manifest rejected: %v", err)
		}
	})
}
