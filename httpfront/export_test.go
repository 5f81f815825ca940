package httpfront

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
)

func TestExportOverHTTP(t *testing.T) {
	base, st := testServer(t)
	body := importLine("cart-1", 1) + "\n" + importLine("cart-2", 2) + "\n"
	if r := do(t, "POST", base+"/import", "writer", "w-pw", ndjsonCT, body); r.status != 200 {
		t.Fatalf("import: %d %s", r.status, r.raw)
	}
	out := t.TempDir()
	req, _ := json.Marshal(map[string]any{"out": out, "compression": "zstd"})
	r := do(t, "POST", base+"/export", "admin", "admin-pw", jsonCT, string(req))
	if r.status != 200 || r.body["events"] != 2.0 || r.body["toPosition"] != 2.0 || r.body["files"] != 2.0 {
		t.Fatalf("export: %d %s", r.status, r.raw)
	}
	files, _ := filepath.Glob(filepath.Join(out, "events", "date=*", "part-*.parquet"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	rdr, err := file.OpenParquetFile(files[0], false)
	if err != nil {
		t.Fatal(err)
	}
	if rdr.NumRows() != 2 || !strings.Contains(rdr.MetaData().GetCreatedBy(), "eventsql version") {
		t.Fatalf("rows %d created_by %q", rdr.NumRows(), rdr.MetaData().GetCreatedBy())
	}
	rdr.Close()

	// Query parameters work too; nothing new is up to date.
	r = do(t, "POST", base+"/export?out="+out+"&compression=zstd", "admin", "admin-pw", nil, "")
	if r.status != 200 || r.body["upToDate"] != true || r.body["snapshotEvents"] != 2.0 {
		t.Fatalf("second export: %d %s", r.status, r.raw)
	}
	if st.Head() != 2 {
		t.Fatal("head moved")
	}
}

func TestExportErrors(t *testing.T) {
	base, _ := testServer(t)
	do(t, "POST", base+"/import", "writer", "w-pw", ndjsonCT, importLine("cart-1", 1)+"\n")
	out := t.TempDir()
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "_manifest.json"), []byte(`{"formatVersion":1,"storeId":"someone-else","datasets":{},"files":[]}`), 0o644)
	lake := t.TempDir() // holds a table eventsql did not write
	os.MkdirAll(filepath.Join(lake, "events"), 0o755)
	os.WriteFile(filepath.Join(lake, "events", "clicks.parquet"), []byte("PAR1"), 0o644)
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o644)
	cases := []struct {
		name, user, pw, query, body string
		status                      int
		code                        string
	}{
		{"writer", "writer", "w-pw", "?out=" + out, "", 403, "forbidden"},
		{"no out", "admin", "admin-pw", "", "", 400, "invalid_options"},
		{"bad compression", "admin", "admin-pw", "?out=" + out + "&compression=lz77", "", 400, "invalid_options"},
		{"bad since", "admin", "admin-pw", "?out=" + out + "&since=yesterday", "", 400, "invalid_options"},
		{"bad bool", "admin", "admin-pw", "?out=" + out + "&full=maybe", "", 400, "invalid_options"},
		{"bad json", "admin", "admin-pw", "", `{"out":`, 400, "invalid_options"},
		{"unknown field", "admin", "admin-pw", "", `{"out":"x","fast":true}`, 400, "invalid_options"},
		{"bad dataset", "admin", "admin-pw", "?out=" + out + "&datasets=typed", "", 400, "invalid_options"},
		{"other store", "admin", "admin-pw", "?out=" + other, "", 409, "store_mismatch"},
		{"foreign files", "admin", "admin-pw", "?out=" + lake, "", 409, "foreign_files"},
		{"unwritable", "admin", "admin-pw", "?out=" + notDir + "/sub", "", 500, "export_failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, "POST", base+"/export"+c.query, c.user, c.pw, jsonCT, c.body)
			if r.status != c.status || r.body["error"] != c.code || r.body["message"] == "" {
				t.Fatalf("%d %s, want %d %s", r.status, r.raw, c.status, c.code)
			}
		})
	}
	// A different filter on an existing export is a conflict.
	if r := do(t, "POST", base+"/export?out="+out, "admin", "admin-pw", nil, ""); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	r := do(t, "POST", base+"/export?out="+out+"&types=X", "admin", "admin-pw", nil, "")
	if r.status != 409 || r.body["error"] != "filter_mismatch" || !strings.Contains(r.body["message"].(string), "--full") {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	r = do(t, "POST", base+"/export?out="+out+"&datasets=events", "admin", "admin-pw", nil, "")
	if r.status != 409 || r.body["error"] != "filter_mismatch" || !strings.Contains(r.body["message"].(string), "datasets=events") {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	// One dataset only, in the JSON body.
	events := t.TempDir()
	if r := do(t, "POST", base+"/export", "admin", "admin-pw", jsonCT, `{"out":"`+events+`","datasets":["events"]}`); r.status != 200 || r.body["files"] != 1.0 {
		t.Fatalf("datasets=events: %d %s", r.status, r.raw)
	}
}

// TestExportWhileAnotherRuns: a second POST /export while one runs is
// 409 export_running and writes nothing; once the first is done, exports
// go through again.
func TestExportWhileAnotherRuns(t *testing.T) {
	st := openTestStore(t)
	base, srv := startServer(t, st, Options{MaxBodySize: 1 << 20})
	if r := do(t, "POST", base+"/import", "writer", "w-pw", ndjsonCT, importLine("cart-1", 1)+"\n"); r.status != 200 {
		t.Fatalf("import: %d %s", r.status, r.raw)
	}
	out := t.TempDir()
	srv.exporting.Store(true) // as while a long export is running
	r := do(t, "POST", base+"/export?out="+out, "admin", "admin-pw", nil, "")
	if r.status != 409 || r.body["error"] != "export_running" {
		t.Fatalf("export during another: %d %s", r.status, r.raw)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("a refused export wrote %d entries", len(entries))
	}
	srv.exporting.Store(false)
	if r := do(t, "POST", base+"/export?out="+out, "admin", "admin-pw", nil, ""); r.status != 200 || r.body["events"] != 1.0 {
		t.Fatalf("export after the other: %d %s", r.status, r.raw)
	}
}
