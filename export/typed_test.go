package export

import (
	"fmt"
	"testing"
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
