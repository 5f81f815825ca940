package export

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/eventsql/eventsql/engine"
)

// clock is a settable test clock for the store's append times.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var day1 = time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)

func openStore(t *testing.T, dir string) (*engine.Store, *clock) {
	t.Helper()
	c := &clock{t: day1}
	o := engine.DefaultOptions()
	o.SegmentSize = 1 << 20
	o.Clock = c.now
	o.Logger = slog.New(slog.DiscardHandler)
	s, err := engine.Open(context.Background(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

func appendJSON(t *testing.T, s *engine.Store, stream, typ string, data ...string) {
	t.Helper()
	evs := make([]engine.EventData, len(data))
	for i, d := range data {
		evs[i] = engine.EventData{Type: typ, Data: []byte(d), DataIsJSON: true}
	}
	if _, err := s.Append(context.Background(), stream, engine.ExpectAny, evs...); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, src Source, o Options) *Summary {
	t.Helper()
	sum, err := Run(context.Background(), src, o)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return sum
}

func sortByPosition(rows []map[string]any) {
	slices.SortFunc(rows, func(a, b map[string]any) int { return int(a["position"].(int64) - b["position"].(int64)) })
}

// TestExportReadBack writes events of two types over two days, with
// non-JSON data and metadata, and reads every file back with arrow-go:
// layout, schema, logical types, values.
func TestExportReadBack(t *testing.T) {
	ctx := context.Background()
	s, clk := openStore(t, t.TempDir())
	for i := range 50 {
		appendJSON(t, s, fmt.Sprintf("order-%d", i%5), "OrderPlaced",
			fmt.Sprintf(`{"amount":%d,"price":%d.5,"paid":%v,"at":"2026-03-01T10:00:0%dZ","note":"n%d","items":[%d]}`, i, i, i%2 == 0, i%10, i, i))
	}
	clk.set(day1.Add(2 * time.Hour)) // the next day
	meta := []byte(`{"corr":"c-1"}`)
	res, err := s.Append(ctx, "user-1", engine.ExpectAny,
		engine.EventData{Type: "Blob", Data: []byte{0xff, 0x00, 0x01}},
		engine.EventData{Type: "UserSeen", Data: []byte(`{"position":7,"Data":"x"}`), DataIsJSON: true, Metadata: meta, MetadataIsJSON: true})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	sum := run(t, s, Options{Dir: out, Version: "1.2.3", Build: "abc"})
	if sum.Events != 52 || sum.ToPosition != 52 || sum.FromPosition != 1 {
		t.Fatalf("summary %+v", sum)
	}
	m, files := snapshot(t, out)
	if m.StoreID != s.ID() || m.FromPosition != 1 || m.ToPosition != 52 || m.EventsqlVersion != "1.2.3" {
		t.Fatalf("manifest %+v", m)
	}
	var datasets []string
	for _, f := range m.Files {
		datasets = append(datasets, f.Dataset+" "+f.Date)
	}
	slices.Sort(datasets)
	want := []string{"by_type/Blob 2026-03-02", "by_type/OrderPlaced 2026-03-01", "by_type/UserSeen 2026-03-02", "events 2026-03-01", "events 2026-03-02"}
	if !slices.Equal(datasets, want) {
		t.Fatalf("files %v, want %v", datasets, want)
	}
	evs := datasetRows(m, files, "events")
	if len(evs) != 52 {
		t.Fatalf("%d events", len(evs))
	}
	for _, pf := range files {
		if pf.createdBy != "eventsql version 1.2.3 (build abc)" {
			t.Fatalf("created_by %q", pf.createdBy)
		}
		if got := pf.logical["created_at"]; !strings.Contains(got, "Timestamp") || !strings.Contains(got, "isAdjustedToUTC=true") || !strings.Contains(got, "timeUnit=microseconds") {
			t.Fatalf("created_at logical type %q", got)
		}
		if pf.logical["event_id"] != "String" || pf.logical["stream"] != "String" {
			t.Fatalf("logical types %v", pf.logical)
		}
	}
	ev0 := files[m.Files[0].Path]
	if !slices.Equal(ev0.order, []string{"position", "stream", "version", "event_id", "event_type", "created_at", "data", "data_is_json", "metadata", "metadata_is_json"}) {
		t.Fatalf("events columns %v", ev0.order)
	}
	// Values.
	all := readAllEvents(t, s)
	for i, e := range all {
		r := evs[i]
		if r["position"] != int64(e.Position) || r["stream"] != e.Stream || r["version"] != e.Version ||
			r["event_id"] != e.ID.String() || r["event_type"] != e.Type || !r["created_at"].(time.Time).Equal(e.CreatedAt) {
			t.Fatalf("row %v, event %+v", r, e)
		}
	}
	blob := evs[50]
	if blob["data"] != base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0x01}) || blob["data_is_json"] != false || blob["metadata"] != nil {
		t.Fatalf("non-JSON row %v", blob)
	}
	seen := evs[51]
	if seen["data"] != `{"position":7,"Data":"x"}` || seen["metadata"] != string(meta) || seen["data_is_json"] != true || seen["event_id"] != all[51].ID.String() || res.LastPosition != 52 {
		t.Fatalf("row %v", seen)
	}
	// Typed columns.
	orders := datasetRows(m, files, "by_type/OrderPlaced")
	of := files[pathOf(m, "by_type/OrderPlaced")]
	wantTypes := map[string]string{"amount": "int64", "price": "float64", "paid": "bool", "at": "timestamp[us, tz=UTC]", "note": "utf8", "items": "utf8"}
	for col, typ := range wantTypes {
		if got := of.arrow[col].String(); got != typ && !(typ == "utf8" && strings.Contains(got, "utf8")) {
			t.Errorf("column %s: %s, want %s", col, got, typ)
		}
	}
	if len(orders) != 50 {
		t.Fatalf("%d orders", len(orders))
	}
	o7 := orders[7]
	if o7["amount"] != int64(7) || o7["price"] != 7.5 || o7["paid"] != false || o7["note"] != "n7" || o7["items"] != "[7]" ||
		!o7["at"].(time.Time).Equal(time.Date(2026, 3, 1, 10, 0, 7, 0, time.UTC)) || o7["stream"] != "order-2" {
		t.Fatalf("typed row %v", o7)
	}
	// Base-column clashes are renamed like in SQL: position -> data_position, Data -> data_Data.
	us := datasetRows(m, files, "by_type/UserSeen")
	if us[0]["data_position"] != int64(7) || us[0]["data_Data"] != "x" || us[0]["position"] != int64(52) {
		t.Fatalf("UserSeen row %v", us[0])
	}
	hive, _ := os.ReadFile(filepath.Join(out, "hive.sql"))
	for _, want := range []string{"CREATE EXTERNAL TABLE IF NOT EXISTS `events`", "`created_at` TIMESTAMP", "PARTITIONED BY (`date` STRING)",
		"STORED AS PARQUET", "LOCATION '" + out + "/events'", "MSCK REPAIR TABLE `by_type_OrderPlaced`", "`price` DOUBLE", "`amount` BIGINT"} {
		if !strings.Contains(string(hive), want) {
			t.Errorf("hive.sql lacks %q:\n%s", want, hive)
		}
	}
}

func pathOf(m *Manifest, dataset string) string {
	for _, f := range m.Files {
		if f.Dataset == dataset {
			return f.Path
		}
	}
	return ""
}

func readAllEvents(t *testing.T, s *engine.Store) []*engine.RecordedEvent {
	t.Helper()
	it, err := s.ReadAll(context.Background(), 0, engine.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []*engine.RecordedEvent
	for it.Next() {
		out = append(out, it.Event().Clone())
	}
	return out
}

// TestIncremental: runs with writes between them add files for the new
// events only; a run with nothing new changes nothing.
func TestIncremental(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	out := t.TempDir()
	total := 0
	var prevFiles []File
	for round := range 3 {
		n := 10 + round*7
		for i := range n {
			appendJSON(t, s, fmt.Sprintf("c-%d", i%3), "T", fmt.Sprintf(`{"round":%d,"i":%d}`, round, i))
		}
		total += n
		sum := run(t, s, Options{Dir: out})
		if sum.Events != uint64(n) || sum.FromPosition != uint64(total-n+1) || sum.ToPosition != uint64(total) {
			t.Fatalf("round %d: %+v", round, sum)
		}
		m, files := snapshot(t, out)
		if !slices.Equal(m.Files[:len(prevFiles)], prevFiles) {
			t.Fatalf("round %d: earlier files changed", round)
		}
		prevFiles = m.Files
		evs := datasetRows(m, files, "events")
		if len(evs) != total || len(datasetRows(m, files, "by_type/T")) != total {
			t.Fatalf("round %d: %d rows, want %d", round, len(evs), total)
		}
		for i, r := range evs {
			if r["position"] != int64(i+1) {
				t.Fatalf("round %d: row %d has position %v", round, i, r["position"])
			}
		}
	}
	before, _ := os.ReadFile(filepath.Join(out, ManifestName))
	sum := run(t, s, Options{Dir: out})
	if !sum.UpToDate || sum.Events != 0 || sum.FromPosition != 0 || sum.ToPosition != uint64(total) {
		t.Fatalf("nothing new: %+v (want up to date, no events, from 0, to %d)", sum, total)
	}
	after, _ := os.ReadFile(filepath.Join(out, ManifestName))
	if string(before) != string(after) {
		t.Fatal("an up-to-date run changed the manifest")
	}
}

// TestTypeChange: a field whose kind widens between runs gets a new file
// with the wider type; old files keep theirs; the manifest records both
// schemas and hive.sql uses the widest.
func TestTypeChange(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	out := t.TempDir()
	appendJSON(t, s, "a-1", "Measured", `{"v":1,"k":"x"}`, `{"v":2,"k":"y"}`)
	run(t, s, Options{Dir: out})
	appendJSON(t, s, "a-1", "Measured", `{"v":2.5,"k":"z"}`, `{"v":3,"k":"w","extra":true}`)
	run(t, s, Options{Dir: out})
	// Within one run too: v becomes JSON (a string after numbers).
	appendJSON(t, s, "a-1", "Measured", `{"v":4}`)
	appendJSON(t, s, "a-1", "Other", `{}`)
	appendJSON(t, s, "a-1", "Measured", `{"v":"five"}`)
	run(t, s, Options{Dir: out})
	m, files := snapshot(t, out)
	ds := m.Datasets["by_type/Measured"]
	var kinds []string
	for _, sc := range ds.Schemas {
		for _, c := range sc {
			if c.Name == "v" {
				kinds = append(kinds, c.Type+"/"+c.Kind)
			}
		}
	}
	if !slices.Equal(kinds, []string{"BIGINT/int", "DOUBLE/float", "STRING/json"}) {
		t.Fatalf("schemas of v: %v", kinds)
	}
	var got []string
	for _, f := range m.Files {
		if f.Dataset == "by_type/Measured" {
			pf := files[f.Path]
			got = append(got, fmt.Sprintf("%d:%s", pf.rows, pf.arrow["v"]))
		}
	}
	if !slices.Equal(got, []string{"2:int64", "2:float64", "2:utf8"}) {
		t.Fatalf("files: %v", got)
	}
	rows := datasetRows(m, files, "by_type/Measured")
	if rows[2]["v"] != 2.5 || rows[3]["extra"] != true || rows[4]["v"] != "4" || rows[5]["v"] != `"five"` {
		t.Fatalf("rows %v", rows)
	}
	hive, _ := os.ReadFile(filepath.Join(out, "hive.sql"))
	if !strings.Contains(string(hive), "`v` STRING") || !strings.Contains(string(hive), "`extra` BOOLEAN") {
		t.Fatalf("hive.sql:\n%s", hive)
	}
}

func TestStoreMismatch(t *testing.T) {
	a, _ := openStore(t, t.TempDir())
	b, _ := openStore(t, t.TempDir())
	appendJSON(t, a, "x-1", "T", `{}`)
	appendJSON(t, b, "x-1", "T", `{}`)
	out := t.TempDir()
	run(t, a, Options{Dir: out})
	before, _ := os.ReadFile(filepath.Join(out, ManifestName))
	for _, full := range []bool{false, true} {
		_, err := Run(context.Background(), b, Options{Dir: out, Full: full})
		var sm *StoreMismatchError
		if !errors.As(err, &sm) || sm.Got != a.ID() || sm.Want != b.ID() {
			t.Fatalf("full=%v: err %v", full, err)
		}
	}
	after, _ := os.ReadFile(filepath.Join(out, ManifestName))
	if string(before) != string(after) {
		t.Fatal("manifest changed")
	}
	snapshot(t, out)
}

func TestUnwritableDir(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	appendJSON(t, s, "x-1", "T", `{}`)
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	_, err := Run(context.Background(), s, Options{Dir: filepath.Join(f, "out")})
	if err == nil || !strings.Contains(err.Error(), "output directory") {
		t.Fatalf("err %v", err)
	}
}

func TestFilters(t *testing.T) {
	s, clk := openStore(t, t.TempDir())
	appendJSON(t, s, "order-1", "A", `{"n":1}`)
	appendJSON(t, s, "user-1", "A", `{"n":2}`)
	appendJSON(t, s, "order-2", "B", `{"n":3}`)
	clk.set(day1.Add(3 * time.Hour))
	appendJSON(t, s, "order-3", "A", `{"n":4}`)
	appendJSON(t, s, "order-4", "C", `{"n":5}`)
	cases := []struct {
		name string
		o    Options
		want []int64 // positions
	}{
		{"types", Options{Types: []string{"A", "C"}}, []int64{1, 2, 4, 5}},
		{"category", Options{Category: "order"}, []int64{1, 3, 4, 5}},
		{"both", Options{Category: "order", Types: []string{"A"}}, []int64{1, 4}},
		{"since", Options{Since: day1.Add(time.Hour)}, []int64{4, 5}},
		{"until", Options{Until: day1.Add(time.Hour)}, []int64{1, 2, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			c.o.Dir = out
			run(t, s, c.o)
			m, files := snapshot(t, out)
			var got []int64
			for _, r := range datasetRows(m, files, "events") {
				got = append(got, r["position"].(int64))
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("positions %v, want %v", got, c.want)
			}
			// Another filter on an incremental run is refused; --full takes it.
			other := c.o
			other.Types = []string{"B"}
			other.Category, other.Since, other.Until = "", time.Time{}, time.Time{}
			_, err := Run(context.Background(), s, other)
			var fm *FilterMismatchError
			if !errors.As(err, &fm) || !strings.Contains(err.Error(), "--full") {
				t.Fatalf("err %v", err)
			}
			other.Full = true
			run(t, s, other)
			m, files = snapshot(t, out)
			if rows := datasetRows(m, files, "events"); len(rows) != 1 || rows[0]["position"] != int64(3) {
				t.Fatalf("after --full: %v", rows)
			}
		})
	}
}

// TestFullRewrite: --full replaces the snapshot; the old files go once the
// new manifest is in place.
func TestFullRewrite(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	out := t.TempDir()
	appendJSON(t, s, "x-1", "T", `{"a":1}`, `{"a":2}`)
	run(t, s, Options{Dir: out})
	appendJSON(t, s, "x-1", "T", `{"a":3}`)
	run(t, s, Options{Dir: out})
	m1, _ := snapshot(t, out)
	sum := run(t, s, Options{Dir: out, Full: true, Timestamps: TimestampsInt96})
	m2, files := snapshot(t, out)
	if sum.Events != 3 || len(m2.Files) != 2 || m2.Runs != m1.Runs+1 {
		t.Fatalf("summary %+v, %d files", sum, len(m2.Files))
	}
	for _, f := range m2.Files {
		if files[f.Path].physical["created_at"].String() != "INT96" {
			t.Fatalf("%s: created_at is %s", f.Path, files[f.Path].physical["created_at"])
		}
	}
}

// TestInt96 checks the hand-encoded INT96 timestamps against the times
// arrow-go decodes, before 1970 and after, including typed columns.
func TestInt96(t *testing.T) {
	s, clk := openStore(t, t.TempDir())
	clk.set(time.Date(2026, 3, 1, 12, 34, 56, 789_000_000, time.UTC))
	appendJSON(t, s, "x-1", "T", `{"when":"1969-07-20T20:17:40.123456Z"}`, `{"when":"2038-01-19T03:14:08+02:00"}`)
	out := t.TempDir()
	run(t, s, Options{Dir: out, Timestamps: TimestampsInt96})
	m, files := snapshot(t, out)
	all := readAllEvents(t, s)
	for i, r := range datasetRows(m, files, "events") {
		if !r["created_at"].(time.Time).Equal(all[i].CreatedAt) {
			t.Fatalf("created_at %v, want %v", r["created_at"], all[i].CreatedAt)
		}
	}
	rows := datasetRows(m, files, "by_type/T")
	want := []time.Time{time.Date(1969, 7, 20, 20, 17, 40, 123456000, time.UTC), time.Date(2038, 1, 19, 1, 14, 8, 0, time.UTC)}
	for i, r := range rows {
		if !r["when"].(time.Time).Equal(want[i]) {
			t.Fatalf("when %v, want %v", r["when"], want[i])
		}
	}
	pf := files[pathOf(m, "by_type/T")]
	if pf.physical["when"].String() != "INT96" {
		t.Fatalf("when is %s", pf.physical["when"])
	}
}

// faultFile fails with ENOSPC once the run has written limit bytes (the
// writers of a run write their files concurrently).
type faultFile struct {
	f       *os.File
	written *atomic.Int64
	limit   int64
}

func (ff *faultFile) Write(p []byte) (int, error) {
	if ff.written.Add(int64(len(p))) > ff.limit {
		ff.written.Add(-int64(len(p)))
		return 0, &os.PathError{Op: "write", Path: ff.f.Name(), Err: syscall.ENOSPC}
	}
	return ff.f.Write(p)
}
func (ff *faultFile) Sync() error  { return ff.f.Sync() }
func (ff *faultFile) Close() error { return ff.f.Close() }

// TestDiskFull: a write failing with ENOSPC at any point fails the run
// with that error and leaves the previous snapshot as it was, without
// leftovers.
func TestDiskFull(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	out := t.TempDir()
	for i := range 200 {
		appendJSON(t, s, fmt.Sprintf("x-%d", i%4), fmt.Sprintf("T%d", i%3), fmt.Sprintf(`{"i":%d,"s":"%0100d"}`, i, i))
	}
	run(t, s, Options{Dir: out})
	for i := range 300 {
		appendJSON(t, s, fmt.Sprintf("x-%d", i%4), fmt.Sprintf("T%d", i%3), fmt.Sprintf(`{"i":%d,"s":"%0100d"}`, i, i))
	}
	before, _ := os.ReadFile(filepath.Join(out, ManifestName))
	for _, limit := range []int64{0, 100, 5000, 20000} {
		var written atomic.Int64
		o := Options{Dir: out, create: func(name string) (outFile, error) {
			f, err := createOS(name)
			if err != nil {
				return nil, err
			}
			return &faultFile{f: f.(*os.File), written: &written, limit: limit}, nil
		}}
		_, err := Run(context.Background(), s, o)
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("limit %d: err %v, want ENOSPC", limit, err)
		}
		after, _ := os.ReadFile(filepath.Join(out, ManifestName))
		if string(before) != string(after) {
			t.Fatalf("limit %d: the manifest changed", limit)
		}
		snapshot(t, out) // the previous snapshot, no leftovers
	}
	sum := run(t, s, Options{Dir: out})
	if sum.Events != 300 {
		t.Fatalf("%+v", sum)
	}
	m, files := snapshot(t, out)
	if n := len(datasetRows(m, files, "events")); n != 500 {
		t.Fatalf("%d events", n)
	}
}

// TestLeftoversCleaned: files a dead run left (temp names, parts not in
// the manifest) are removed by the next run; other files are not.
func TestLeftoversCleaned(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	out := t.TempDir()
	appendJSON(t, s, "x-1", "T", `{}`)
	run(t, s, Options{Dir: out})
	part := filepath.Join(out, "events", "date=2026-03-01")
	leftovers := []string{
		filepath.Join(part, tempPrefix+"abc-9.parquet"),
		filepath.Join(part, "part-5-9.parquet"),
		filepath.Join(out, "by_type", "T", "date=2026-03-05", "part-7-7.parquet"),
		filepath.Join(out, tempPrefix+ManifestName),
	}
	for _, p := range leftovers {
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("junk"), 0o644)
	}
	keep := filepath.Join(out, "README.txt")
	os.WriteFile(keep, []byte("mine"), 0o644)
	appendJSON(t, s, "x-1", "T", `{}`)
	sum := run(t, s, Options{Dir: out})
	if sum.Removed != len(leftovers) {
		t.Fatalf("removed %d, want %d", sum.Removed, len(leftovers))
	}
	snapshot(t, out)
	if _, err := os.Stat(keep); err != nil {
		t.Fatal("a file the export does not own was removed")
	}
	if _, err := os.Stat(filepath.Join(out, "by_type", "T", "date=2026-03-05")); err == nil {
		t.Fatal("empty partition directory left")
	}
}

// TestCompact merges the small files of several runs into one per
// partition, keeping every row.
func TestCompact(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	out := t.TempDir()
	for round := range 4 {
		for i := range 30 {
			appendJSON(t, s, "c-1", "T", fmt.Sprintf(`{"r":%d,"i":%d}`, round, i))
		}
		run(t, s, Options{Dir: out})
	}
	m1, files1 := snapshot(t, out)
	if len(m1.Files) != 8 {
		t.Fatalf("%d files before compaction", len(m1.Files))
	}
	want := datasetRows(m1, files1, "by_type/T")
	sum := run(t, s, Options{Dir: out, Compact: true, RowGroupRows: 50})
	m2, files2 := snapshot(t, out)
	if len(m2.Files) != 2 || sum.Compacted != 8 || !sum.UpToDate {
		t.Fatalf("after compaction: %d files, %+v", len(m2.Files), sum)
	}
	for _, f := range m2.Files {
		if f.Rows != 120 || f.FromPosition != 1 || f.ToPosition != 120 {
			t.Fatalf("compacted file %+v", f)
		}
		if files2[f.Path].rowGroups != 3 {
			t.Fatalf("%s: %d row groups, want 3 of <= 50 rows", f.Path, files2[f.Path].rowGroups)
		}
	}
	got := datasetRows(m2, files2, "by_type/T")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatal("rows changed by compaction")
	}
	// Incremental runs continue after compaction.
	appendJSON(t, s, "c-1", "T", `{"r":9}`)
	run(t, s, Options{Dir: out})
	m3, files3 := snapshot(t, out)
	if n := len(datasetRows(m3, files3, "events")); n != 121 {
		t.Fatalf("%d events", n)
	}
}

// TestLogReaderSource exports a store held open by another Store (a
// running server) through engine.LogReader.
func TestLogReaderSource(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir)
	appendJSON(t, s, "x-1", "T", `{"a":1}`, `{"a":2}`)
	if err := s.DeleteStream(context.Background(), "x-1", engine.ExpectAny, true); err != nil {
		t.Fatal(err)
	}
	appendJSON(t, s, "y-1", "T", `{"a":3}`)
	r, err := engine.OpenLogReader(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := t.TempDir()
	sum := run(t, r, Options{Dir: out})
	if sum.Events != 1 || sum.ToPosition != 3 {
		t.Fatalf("%+v", sum)
	}
	// The same directory accepts the Store as source later (same store id).
	appendJSON(t, s, "y-1", "T", `{"a":4}`)
	if sum := run(t, s, Options{Dir: out}); sum.Events != 1 || sum.FromPosition != 4 {
		t.Fatalf("%+v", sum)
	}
	_ = io.EOF
}

// TestManyBatches exports more events than fit in the batches in flight,
// so batch buffers are reused, and checks field names and values survive
// (a field name must not alias a reused buffer).
func TestManyBatches(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	const n = 5 * batchRows * numBatches / 4
	for b := range n / 1000 {
		data := make([]string, 1000)
		for i := range data {
			data[i] = fmt.Sprintf(`{"alpha":%d,"beta":"b%d"}`, b*1000+i, i)
		}
		appendJSON(t, s, fmt.Sprintf("m-%d", b%7), fmt.Sprintf("T%d", b%3), data...)
	}
	out := t.TempDir()
	run(t, s, Options{Dir: out})
	m, files := snapshot(t, out)
	for name, ds := range m.Datasets {
		if name == "events" {
			continue
		}
		if len(ds.Schemas) != 1 {
			t.Fatalf("%s: %d schemas", name, len(ds.Schemas))
		}
		var cols []string
		for _, c := range ds.Schemas[0][numTypedBaseColumns:] {
			cols = append(cols, c.Name+":"+c.Type)
		}
		if !slices.Equal(cols, []string{"alpha:BIGINT", "beta:STRING"}) {
			t.Fatalf("%s: columns %v", name, cols)
		}
	}
	total := 0
	for i := range 3 {
		for _, r := range datasetRows(m, files, fmt.Sprintf("by_type/T%d", i)) {
			if r["alpha"] != r["position"].(int64)-1 {
				t.Fatalf("row %v", r)
			}
			total++
		}
	}
	if total != n/1000*1000 {
		t.Fatalf("%d typed rows", total)
	}
}

// TestEvery runs the periodic export: it exports, skips ticks with
// nothing new, exports what is appended later, and stops on cancel.
func TestEvery(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, s, 5*time.Millisecond, Options{Dir: out}, nil)
	}()
	// An empty store: ticks pass and write nothing, not an empty snapshot.
	time.Sleep(50 * time.Millisecond)
	if entries, err := os.ReadDir(out); err != nil || len(entries) != 0 {
		t.Fatalf("export dir of an empty store holds %d entries (%v), want none", len(entries), err)
	}
	appendJSON(t, s, "p-1", "T", `{"a":1}`)
	waitFor := func(events int64) {
		for range 2000 {
			if m, ok, _ := loadManifest(out); ok {
				var n int64
				for _, f := range m.Files {
					if f.Dataset == "events" {
						n += f.Rows
					}
				}
				if n == events {
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("the periodic export never reached %d events", events)
	}
	waitFor(1)
	appendJSON(t, s, "p-1", "T", `{"a":2}`, `{"a":3}`)
	waitFor(3)
	cancel()
	<-done
	m, _ := snapshot(t, out)
	if m.ToPosition != 3 || m.Runs != 2 {
		t.Fatalf("manifest: to %d, runs %d (ticks with nothing new must not run)", m.ToPosition, m.Runs)
	}
}

// TestDatasets writes one dataset only (Options.Datasets, --datasets):
// the other is neither written nor declared, the choice is recorded like
// a filter, and an incremental run with another choice is refused.
func TestDatasets(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	appendJSON(t, s, "order-1", "A", `{"n":1}`, `{"n":2}`)
	appendJSON(t, s, "order-2", "B", `{"x":"y"}`)
	for _, c := range []struct {
		datasets []string
		want     []string // datasets in the manifest
	}{
		{[]string{DatasetEvents}, []string{"events"}},
		{[]string{DatasetByType}, []string{"by_type/A", "by_type/B"}},
		{[]string{"by_type,events"}, []string{"by_type/A", "by_type/B", "events"}},
	} {
		t.Run(strings.Join(c.datasets, "+"), func(t *testing.T) {
			out := t.TempDir()
			o, err := Request{Out: out, Datasets: c.datasets}.Options()
			if err != nil {
				t.Fatal(err)
			}
			n := s.Head() // events so far (each case appends one)
			sum := run(t, s, o)
			if sum.Events != n || sum.SnapshotEvents != int64(n) {
				t.Fatalf("summary %+v, want %d events", sum, n)
			}
			m, files := snapshot(t, out)
			var got []string
			for name := range m.Datasets {
				got = append(got, name)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("datasets %v, want %v", got, c.want)
			}
			rows := 0
			for _, f := range m.Files {
				if !slices.Contains(c.want, f.Dataset) {
					t.Fatalf("file of dataset %s", f.Dataset)
				}
				rows += len(files[f.Path].records)
			}
			want := int(n)
			if len(c.datasets) == 1 && strings.Contains(c.datasets[0], ",") {
				want *= 2 // both: every event in events and in by_type
			}
			if rows != want {
				t.Fatalf("%d rows, want %d", rows, want)
			}
			for _, d := range []string{"events", "by_type"} {
				_, err := os.Stat(filepath.Join(out, d))
				if exists := err == nil; exists != slices.ContainsFunc(c.want, func(w string) bool { return strings.HasPrefix(w, d) }) {
					t.Fatalf("directory %s exists: %v", d, exists)
				}
			}
			hive, _ := os.ReadFile(filepath.Join(out, "hive.sql"))
			if strings.Contains(string(hive), "TABLE IF NOT EXISTS `events`") != slices.Contains(c.want, "events") {
				t.Fatalf("hive.sql:\n%s", hive)
			}
			// Another choice on an incremental run is refused.
			other := o
			other.Datasets = nil
			if len(c.want) == 3 {
				other.Datasets = []string{DatasetEvents}
			}
			_, err = Run(context.Background(), s, other)
			var fm *FilterMismatchError
			if !errors.As(err, &fm) || !strings.Contains(err.Error(), "datasets=") {
				t.Fatalf("err %v", err)
			}
			appendJSON(t, s, "order-3", "A", `{"n":3}`)
			if sum := run(t, s, o); sum.Events != 1 {
				t.Fatalf("incremental: %+v", sum)
			}
		})
	}
	if _, err := (Request{Out: t.TempDir(), Datasets: []string{"events,typed"}}).Options(); !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), `"typed"`) {
		t.Fatalf("unknown dataset: %v", err)
	}
}

// TestEventsByColumn: written alone on several cores, the events dataset
// goes column by column on two goroutines (eventcols.go); its files must
// read back exactly like those of the typed writer (eventRecord) used
// otherwise (schema, types, every value), for both timestamp encodings,
// over several row groups and two days.
func TestEventsByColumn(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // the column path is taken with two cores or more
	s, clk := openStore(t, t.TempDir())
	for i := range 3000 {
		if i == 2000 {
			clk.set(day1.Add(26 * time.Hour))
		}
		ev := engine.EventData{Type: fmt.Sprintf("T%d", i%3), Data: fmt.Appendf(nil, `{"i":%d,"s":"x\"%d"}`, i, i), DataIsJSON: true}
		switch i % 7 {
		case 1:
			ev.Metadata, ev.MetadataIsJSON = fmt.Appendf(nil, `{"m":%d}`, i), true
		case 2:
			ev.Data, ev.DataIsJSON = []byte{0xff, byte(i), 0x01}, false
		case 3:
			ev.Data, ev.DataIsJSON = nil, false
			ev.Metadata = []byte{0x00, byte(i)}
		}
		if _, err := s.Append(context.Background(), fmt.Sprintf("k-%d", i%11), engine.ExpectAny, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, ts := range []Timestamps{TimestampsInt64, TimestampsInt96} {
		t.Run(string(ts), func(t *testing.T) {
			both, alone := t.TempDir(), t.TempDir()
			run(t, s, Options{Dir: both, Timestamps: ts, RowGroupRows: 700, eventsAsRecords: true})
			run(t, s, Options{Dir: alone, Timestamps: ts, RowGroupRows: 700, Datasets: []string{DatasetEvents}})
			m1, f1 := snapshot(t, both)
			m2, f2 := snapshot(t, alone)
			r1, r2 := datasetRows(m1, f1, "events"), datasetRows(m2, f2, "events")
			if len(r1) != 3000 || len(r2) != 3000 {
				t.Fatalf("%d and %d rows", len(r1), len(r2))
			}
			for i := range r1 {
				if !reflect.DeepEqual(r1[i], r2[i]) {
					t.Fatalf("row %d:\n%v\n%v", i, r1[i], r2[i])
				}
			}
			var files1, files2 []*pqFile
			for _, f := range m1.Files {
				if f.Dataset == "events" {
					files1 = append(files1, f1[f.Path])
				}
			}
			for _, f := range m2.Files {
				files2 = append(files2, f2[f.Path])
			}
			if len(files1) != 2 || len(files2) != 2 {
				t.Fatalf("%d and %d events files (one per day)", len(files1), len(files2))
			}
			for i := range files1 {
				a, b := files1[i], files2[i]
				if !slices.Equal(a.order, b.order) || !maps.Equal(a.physical, b.physical) || !maps.Equal(a.logical, b.logical) ||
					a.rowGroups != b.rowGroups || a.rowGroups < 2 {
					t.Fatalf("file %d: columns %v / %v, types %v / %v, %v / %v, row groups %d / %d",
						i, a.order, b.order, a.physical, b.physical, a.logical, b.logical, a.rowGroups, b.rowGroups)
				}
			}
		})
	}
}
