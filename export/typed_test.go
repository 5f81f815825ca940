package export

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventsql/eventsql/engine"
)

// TestShardPicker: types keep their writer and number; new types go to
// the writer with the fewest types, then the fewest events.
func TestShardPicker(t *testing.T) {
	p := newShardPicker(2)
	// The benchmark's pattern: four types of equal frequency, the first
	// ones seen several times before the last appear.
	seq := []string{"A", "A", "B", "A", "C", "A", "B", "D", "C", "D"}
	got := map[string]pickedType{}
	for _, typ := range seq {
		shard, id := p.pick(typ)
		if prev, ok := got[typ]; ok && (prev.shard != shard || prev.id != id) {
			t.Fatalf("%s moved from %+v to shard %d id %d", typ, prev, shard, id)
		}
		got[typ] = pickedType{shard, id}
	}
	perShard := map[uint8]int{}
	for typ, pt := range got {
		perShard[pt.shard]++
		if want := uint32(map[string]int{"A": 0, "B": 1, "C": 2, "D": 3}[typ]); pt.id != want {
			t.Errorf("%s: id %d, want %d", typ, pt.id, want)
		}
	}
	if perShard[0] != 2 || perShard[1] != 2 {
		t.Fatalf("types per writer %v, want 2 and 2 (%v)", perShard, got)
	}
	// With equal type counts, the writer with fewer events gets the next type.
	if shard, _ := p.pick("E"); shard != got["B"].shard {
		t.Fatalf("E went to writer %d (loads %v)", shard, p.load)
	}
	for i := range 3 {
		p.pick(fmt.Sprint("T", i))
	}
	if d := p.ntypes[0] - p.ntypes[1]; d < -1 || d > 1 {
		t.Fatalf("types per writer %v", p.ntypes)
	}
}

// TestTypedColumns reads back by_type values written column by column:
// keys in any order, missing keys and JSON nulls as NULL, the last of a
// key given twice, escaped strings, objects and arrays as JSON text,
// events whose data is not an object (NULL typed columns), metadata or
// none, over several batches and a kind that widens in the middle of one.
func TestTypedColumns(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	const n = 3*batchRows + 500
	want := make([]map[string]any, 0, n)
	for i := 0; i < n; i += 100 {
		var evs []engine.EventData
		for j := i; j < min(n, i+100); j++ {
			var data string
			w := map[string]any{"a": int64(j), "b": nil, "s": nil, "o": nil, "v": nil}
			switch j % 7 {
			case 0:
				data = fmt.Sprintf(`{"a":%d,"b":true,"s":"x\"y\u00e9","o":{"k":[1,2]}}`, j)
				w["b"], w["s"], w["o"] = true, `x"yé`, `{"k":[1,2]}`
			case 1:
				data = fmt.Sprintf(`{"s":"s%d","a":%d}`, j, j) // another order, b and o missing
				w["s"] = fmt.Sprint("s", j)
			case 2:
				data = fmt.Sprintf(`{"a":1,"b":false,"a":%d,"o":null}`, j) // a twice: the last counts
				w["b"] = false
			case 3:
				data = `[1,2,3]` // not an object
				w["a"] = nil
			case 4:
				data = fmt.Sprintf(`{"a":%d,"o":[],"s":""}`, j)
				w["o"], w["s"] = "[]", ""
			default:
				data = fmt.Sprintf(`{"a":%d}`, j)
			}
			if j >= batchRows+100 {
				// v: integers from the second batch on, then a fraction
				// in the middle of the third (the column becomes DOUBLE).
				if j == 2*batchRows+300 {
					data = data[:len(data)-1] + `,"v":0.5}`
					w["v"] = 0.5
				} else if data[0] == '{' {
					data = data[:len(data)-1] + fmt.Sprintf(`,"v":%d}`, j)
					w["v"] = int64(j)
				}
				if data == `[1,2,3]` {
					w["v"] = nil
				}
			}
			ev := engine.EventData{Type: "T", Data: []byte(data), DataIsJSON: true}
			if j%2 == 0 {
				ev.Metadata, ev.MetadataIsJSON = []byte(fmt.Sprintf(`{"m":%d}`, j)), true
				w["metadata"] = fmt.Sprintf(`{"m":%d}`, j)
			} else {
				w["metadata"] = nil
			}
			evs = append(evs, ev)
			want = append(want, w)
		}
		if _, err := s.Append(context.Background(), fmt.Sprint("t-", i), engine.ExpectAny, evs...); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	run(t, s, Options{Dir: out})
	m, files := snapshot(t, out)
	rows := datasetRows(m, files, "by_type/T")
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}
	all := readAllEvents(t, s)
	for i, r := range rows {
		e := all[i]
		if r["position"] != int64(e.Position) || r["stream"] != e.Stream || r["version"] != e.Version ||
			r["event_id"] != e.ID.String() || !r["created_at"].(time.Time).Equal(e.CreatedAt) {
			t.Fatalf("row %d: base columns %v, event %+v", i, r, e)
		}
		for col, w := range want[i] {
			got, ok := r[col]
			if col == "v" && !ok {
				got = nil // a file from before v appeared
			}
			if v, isInt := w.(int64); isInt && col == "v" {
				if f, isFloat := got.(float64); isFloat { // the file after v widened
					got, w = f, float64(v)
				}
			}
			if got != w {
				t.Fatalf("row %d (event %d, data %s): %s = %#v, want %#v", i, e.Position, e.Data, col, got, w)
			}
		}
	}
	var kinds []string
	for _, sc := range m.Datasets["by_type/T"].Schemas {
		var k []string
		for _, c := range sc[numTypedBaseColumns:] {
			k = append(k, c.Name+":"+c.Type)
		}
		kinds = append(kinds, strings.Join(k, ","))
	}
	if want := []string{"a:BIGINT,b:BOOLEAN,s:STRING,o:STRING", "a:BIGINT,b:BOOLEAN,s:STRING,o:STRING,v:BIGINT",
		"a:BIGINT,b:BOOLEAN,s:STRING,o:STRING,v:DOUBLE"}; !slices.Equal(kinds, want) {
		t.Fatalf("schemas %v, want %v", kinds, want)
	}
}
