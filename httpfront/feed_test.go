package httpfront

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/eventsql/eventsql/engine"
)

// appendEvents appends one JSON event per type to stream, directly to the store.
func appendEvents(t *testing.T, st *engine.Store, stream string, types ...string) {
	t.Helper()
	events := make([]engine.EventData, len(types))
	for i, typ := range types {
		events[i] = engine.EventData{Type: typ, Data: []byte(`{"n":1}`), DataIsJSON: true}
	}
	if _, err := st.Append(context.Background(), stream, engine.ExpectAny, events...); err != nil {
		t.Fatal(err)
	}
}

// positions returns the positions of a page's events.
func positions(t *testing.T, r reply) []int {
	t.Helper()
	evs, ok := r.body["events"].([]any)
	if !ok {
		t.Fatalf("page without events: %s", r.raw)
	}
	out := []int{}
	for _, e := range evs {
		out = append(out, int(e.(map[string]any)["position"].(float64)))
	}
	return out
}

func TestReadTypesAndCategories(t *testing.T) {
	base, st := testServer(t)
	appendEvents(t, st, "cart-1", "ItemAdded", "ItemAdded", "ItemAdded") // 1 2 3
	appendEvents(t, st, "cart-2", "ItemAdded", "CheckedOut")             // 4 5
	appendEvents(t, st, "order-1", "OrderPlaced")                        // 6
	appendEvents(t, st, "cart-1", "CheckedOut")                          // 7
	appendEvents(t, st, "odd-1", "Item Added/v2")                        // 8

	tests := []struct {
		path      string
		key, name string
		want      []int
		next      any // string or nil
	}{
		{"/types/ItemAdded?count=2", "eventType", "ItemAdded", []int{1, 2}, "/types/ItemAdded?count=2&from=3"},
		{"/types/ItemAdded?count=2&from=3", "eventType", "ItemAdded", []int{3, 4}, "/types/ItemAdded?count=2&from=5"},
		{"/types/ItemAdded?count=2&from=5", "eventType", "ItemAdded", []int{}, nil},
		{"/types/ItemAdded", "eventType", "ItemAdded", []int{1, 2, 3, 4}, nil},
		{"/types/ItemAdded?count=3&direction=backward", "eventType", "ItemAdded", []int{4, 3, 2}, "/types/ItemAdded?count=3&direction=backward&from=1"},
		{"/types/ItemAdded?count=3&direction=backward&from=1", "eventType", "ItemAdded", []int{1}, nil},
		{"/types/ItemAdded?count=2&direction=backward&from=2", "eventType", "ItemAdded", []int{2, 1}, nil},
		{"/types/ItemAdded?count=2&direction=backward&from=-1", "eventType", "ItemAdded", []int{4, 3}, "/types/ItemAdded?count=2&direction=backward&from=2"},
		{"/types/Item%20Added%2Fv2?count=1", "eventType", "Item Added/v2", []int{8}, "/types/Item%20Added%2Fv2?count=1&from=9"},
		{"/categories/cart?count=4", "category", "cart", []int{1, 2, 3, 4}, "/categories/cart?count=4&from=5"},
		{"/categories/cart?count=4&from=5", "category", "cart", []int{5, 7}, nil},
		{"/categories/cart?direction=backward", "category", "cart", []int{7, 5, 4, 3, 2, 1}, nil},
		{"/categories/order", "category", "order", []int{6}, nil},
		{"/types/Nope", "eventType", "Nope", []int{}, nil},
		{"/categories/nope", "category", "nope", []int{}, nil},
		{"/streams/$all?count=3&from=6", "stream", "$all", []int{6, 7, 8}, "/streams/$all?count=3&from=9"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := do(t, "GET", base+tt.path, "reader", "r-pw", nil, "")
			if r.status != 200 || r.body[tt.key] != tt.name {
				t.Fatalf("= %d %s", r.status, r.raw)
			}
			if got := positions(t, r); !slices.Equal(got, tt.want) {
				t.Errorf("positions = %v, want %v", got, tt.want)
			}
			if r.body["next"] != tt.next {
				t.Errorf("next = %v, want %v", r.body["next"], tt.next)
			}
		})
	}
}

// TestFollowNextLinks pages through every kind of feed, in both
// directions where supported, by following next links only.
func TestFollowNextLinks(t *testing.T) {
	base, st := testServer(t)
	var cart, typ []int
	for i := range 23 {
		stream := fmt.Sprintf("cart-%d", i%3)
		if i%4 == 0 {
			stream = "other-1"
		}
		eventType := "A"
		if i%2 == 1 {
			eventType = "B"
		}
		appendEvents(t, st, stream, eventType)
		if engine.Category(stream) == "cart" {
			cart = append(cart, i+1)
		}
		if eventType == "B" {
			typ = append(typ, i+1)
		}
	}
	rev := func(s []int) []int { s = slices.Clone(s); slices.Reverse(s); return s }
	all := make([]int, 23)
	for i := range all {
		all[i] = i + 1
	}
	for _, tt := range []struct {
		start string
		want  []int
	}{
		{"/streams/$all?count=5", all},
		{"/types/B?count=4", typ},
		{"/types/B?count=4&direction=backward", rev(typ)},
		{"/categories/cart?count=3", cart},
		{"/categories/cart?count=3&direction=backward", rev(cart)},
	} {
		t.Run(tt.start, func(t *testing.T) {
			var got []int
			next := any(tt.start)
			for pages := 0; next != nil; pages++ {
				if pages > 30 {
					t.Fatal("next links do not end")
				}
				r := do(t, "GET", base+next.(string), "reader", "r-pw", nil, "")
				if r.status != 200 {
					t.Fatalf("%s = %d %s", next, r.status, r.raw)
				}
				got = append(got, positions(t, r)...)
				next = r.body["next"]
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("followed = %v, want %v", got, tt.want)
			}
		})
	}
}
