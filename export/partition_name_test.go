package export

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFieldNamedLikeThePartition: a data field named date (any case) is
// exported as data_date, like fields named like base columns. As "date"
// it clashed with the partition column: hive.sql declared `date` twice
// (Hive refuses the table) and DuckDB showed the partition's day in
// place of the field's value.
func TestFieldNamedLikeThePartition(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	appendJSON(t, s, "ship-1", "Shipped", `{"date":"2026-01-05","Date":"x","n":1}`)
	out := t.TempDir()
	run(t, s, Options{Dir: out})
	m, files := snapshot(t, out)
	rows := datasetRows(m, files, "by_type/Shipped")
	if len(rows) != 1 || rows[0]["data_date"] != "2026-01-05" || rows[0]["n"] != int64(1) {
		t.Fatalf("Shipped rows %v", rows)
	}
	if _, ok := rows[0]["date"]; ok {
		t.Fatalf("a column named date in the files: %v", rows[0])
	}
	hive, err := os.ReadFile(filepath.Join(out, "hive.sql"))
	if err != nil {
		t.Fatal(err)
	}
	table := string(hive[strings.Index(string(hive), "`by_type_Shipped`"):])
	table = table[:strings.Index(table, "PARTITIONED BY")]
	if strings.Contains(table, "`date`") || !strings.Contains(table, "`data_date` STRING") {
		t.Fatalf("hive.sql columns of by_type_Shipped:\n%s", table)
	}
}

// TestHiveLeavesOutDottedNames: Hive refuses '.' and ':' in column names,
// even backquoted, so hive.sql leaves such fields out (with a comment)
// while the files keep them.
func TestHiveLeavesOutDottedNames(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	appendJSON(t, s, "u-1", "Seen", `{"user.id":7,"ns:key":"x","n":1}`)
	out := t.TempDir()
	run(t, s, Options{Dir: out})
	m, files := snapshot(t, out)
	rows := datasetRows(m, files, "by_type/Seen")
	if len(rows) != 1 || rows[0]["user.id"] != int64(7) || rows[0]["ns:key"] != "x" {
		t.Fatalf("Seen rows %v", rows)
	}
	hive, err := os.ReadFile(filepath.Join(out, "hive.sql"))
	if err != nil {
		t.Fatal(err)
	}
	table := string(hive[strings.Index(string(hive), "`by_type_Seen`"):])
	table = table[:strings.Index(table, "PARTITIONED BY")]
	if strings.Contains(table, "`user.id`") || strings.Contains(table, "`ns:key`") ||
		!strings.Contains(table, `-- "user.id" left out`) || !strings.Contains(table, "`n` BIGINT\n)") {
		t.Fatalf("hive.sql columns of by_type_Seen:\n%s", table)
	}
}
