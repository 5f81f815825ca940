package export

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// This file reads exports back with arrow-go, a Parquet implementation
// independent of the writer (parquet-go).

// pqFile is a part file as arrow-go reads it.
type pqFile struct {
	rows      int64
	createdBy string
	// columns by name: physical type, logical type (String()), Arrow type.
	physical map[string]parquet.Type
	logical  map[string]string
	arrow    map[string]arrow.DataType
	order    []string
	// records: every row as column name -> Go value (nil for NULL).
	records   []map[string]any
	rowGroups int
	// positionBounds are the min and max of position per row group, from
	// the column chunk statistics.
	positionBounds [][2]int64
}

// readParquet reads a file with arrow-go and checks the writer settings
// every file must have: data pages v1 only, PLAIN/RLE/dictionary
// encodings only (no DELTA_*).
func readParquet(t *testing.T, path string) *pqFile {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("arrow-go cannot open %s: %v", path, err)
	}
	defer rdr.Close()
	md := rdr.MetaData()
	out := &pqFile{rows: rdr.NumRows(), createdBy: md.GetCreatedBy(), physical: map[string]parquet.Type{},
		logical: map[string]string{}, arrow: map[string]arrow.DataType{}, rowGroups: rdr.NumRowGroups()}
	sc := md.Schema
	for i := 0; i < sc.NumColumns(); i++ {
		c := sc.Column(i)
		out.physical[c.Name()] = c.PhysicalType()
		out.logical[c.Name()] = logicalString(c.LogicalType())
		out.order = append(out.order, c.Name())
	}
	for g := 0; g < rdr.NumRowGroups(); g++ {
		rg := rdr.RowGroup(g)
		for c := 0; c < sc.NumColumns(); c++ {
			cc, err := rg.MetaData().ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range cc.Encodings() {
				switch e {
				case parquet.Encodings.Plain, parquet.Encodings.RLE, parquet.Encodings.PlainDict, parquet.Encodings.RLEDict, parquet.Encodings.BitPacked:
				default:
					t.Fatalf("%s column %s: encoding %s (only PLAIN, RLE and dictionary allowed)", path, sc.Column(c).Name(), e)
				}
			}
			// Bounds are in the footer (column chunk statistics) and in
			// the column index, not in the data page headers.
			// (INT96 has no defined sort order: no statistics.)
			if ok, err := cc.StatsSet(); (err != nil || !ok) && sc.Column(c).PhysicalType() != parquet.Types.Int96 {
				t.Fatalf("%s column %s: no column chunk statistics (%v)", path, sc.Column(c).Name(), err)
			}
			if cc.GetColumnIndexLocation() == nil || cc.GetOffsetIndexLocation() == nil {
				t.Fatalf("%s column %s: no column index or offset index", path, sc.Column(c).Name())
			}
			if sc.Column(c).Name() == "position" {
				st, err := cc.Statistics()
				if err != nil {
					t.Fatal(err)
				}
				out.positionBounds = append(out.positionBounds, [2]int64{st.(*metadata.Int64Statistics).Min(), st.(*metadata.Int64Statistics).Max()})
			}
			pr, err := rg.GetColumnPageReader(c)
			if err != nil {
				t.Fatal(err)
			}
			for pr.Next() {
				switch pg := pr.Page().(type) {
				case *file.DataPageV2:
					t.Fatalf("%s column %s: a data page v2", path, sc.Column(c).Name())
				case *file.DataPageV1:
					if st := pg.Statistics(); st.HasMin || st.HasMax {
						t.Fatalf("%s column %s: statistics in a data page header", path, sc.Column(c).Name())
					}
				}
			}
			if err := pr.Err(); err != nil {
				t.Fatalf("%s: read pages: %v", path, err)
			}
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(memory.DefaultAllocator),
		pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("arrow-go cannot read %s: %v", path, err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 4096)
	defer tr.Release()
	for i, fld := range tbl.Schema().Fields() {
		out.arrow[fld.Name] = fld.Type
		_ = i
	}
	for tr.Next() {
		rec := tr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			row := map[string]any{}
			for c, col := range rec.Columns() {
				name := rec.ColumnName(c)
				if col.IsNull(r) {
					row[name] = nil
					continue
				}
				switch a := col.(type) {
				case *array.Int64:
					row[name] = a.Value(r)
				case *array.Float64:
					row[name] = a.Value(r)
				case *array.Boolean:
					row[name] = a.Value(r)
				case *array.String:
					row[name] = a.Value(r)
				case *array.Timestamp:
					unit := a.DataType().(*arrow.TimestampType).Unit
					row[name] = a.Value(r).ToTime(unit).UTC()
				case *array.Dictionary:
					row[name] = a.Dictionary().(*array.String).Value(a.GetValueIndex(r))
				default:
					t.Fatalf("column %s: unexpected arrow type %s", name, col.DataType())
				}
			}
			out.records = append(out.records, row)
		}
	}
	if err := tr.Err(); err != nil {
		t.Fatal(err)
	}
	if int64(len(out.records)) != out.rows {
		t.Fatalf("%s: read %d rows, metadata says %d", path, len(out.records), out.rows)
	}
	// Row groups are in position order: the statistics must bound them.
	var first int64
	for g, b := range out.positionBounds {
		var rows int64
		if g < rdr.NumRowGroups() {
			rows = rdr.MetaData().RowGroup(g).NumRows()
		}
		if rows > 0 {
			lo, hi := out.records[first]["position"], out.records[first+rows-1]["position"]
			if lo != b[0] || hi != b[1] {
				t.Fatalf("%s row group %d: position statistics %v, rows from %v to %v", path, g, b, lo, hi)
			}
		}
		first += rows
	}
	return out
}

func logicalString(l schema.LogicalType) string {
	if l == nil {
		return ""
	}
	return l.String()
}

// snapshot reads a manifest and every file it lists, checking each
// file's rows, size and path against the manifest.
func snapshot(t *testing.T, dir string) (*Manifest, map[string]*pqFile) {
	t.Helper()
	m, ok, err := loadManifest(dir)
	if err != nil || !ok {
		t.Fatalf("manifest: %v (found %v)", err, ok)
	}
	files := map[string]*pqFile{}
	for _, f := range m.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("listed file: %v", err)
		}
		if st.Size() != f.Bytes {
			t.Fatalf("%s: %d bytes, manifest says %d", f.Path, st.Size(), f.Bytes)
		}
		pf := readParquet(t, p)
		if pf.rows != f.Rows {
			t.Fatalf("%s: %d rows, manifest says %d", f.Path, pf.rows, f.Rows)
		}
		first, last := pf.records[0]["position"].(int64), pf.records[len(pf.records)-1]["position"].(int64)
		if uint64(first) != f.FromPosition || uint64(last) != f.ToPosition {
			t.Fatalf("%s: positions %d..%d, manifest says %d..%d", f.Path, first, last, f.FromPosition, f.ToPosition)
		}
		for _, r := range pf.records {
			if d := r["created_at"].(interface{ Format(string) string }).Format("2006-01-02"); d != f.Date {
				t.Fatalf("%s: a row of %s in partition %s", f.Path, d, f.Date)
			}
		}
		files[f.Path] = pf
	}
	// No other part files, no temp files.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if d != nil && !d.IsDir() && (strings.HasSuffix(p, ".parquet") || strings.HasPrefix(d.Name(), tempPrefix)) {
			if _, ok := files[filepath.ToSlash(rel)]; !ok {
				t.Errorf("file %s is not in the manifest", rel)
			}
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(dir, "_SUCCESS")); err != nil {
		t.Errorf("_SUCCESS: %v", err)
	}
	return m, files
}

// datasetRows returns every row of a dataset, in position order.
func datasetRows(m *Manifest, files map[string]*pqFile, dataset string) []map[string]any {
	var out []map[string]any
	for _, f := range m.Files {
		if f.Dataset == dataset {
			out = append(out, files[f.Path].records...)
		}
	}
	sortByPosition(out)
	return out
}
