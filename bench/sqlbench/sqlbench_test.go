package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestCompareResults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want result
		ordered   bool
		ok        bool
	}{
		{"same", result{{"a", "1"}}, result{{"a", "1"}}, true, true},
		{"JSON printed differently", result{{`{"a": 1, "b": [1, 2]}`}}, result{{`{"b":[1,2],"a":1}`}}, true, true},
		{"JSON different", result{{`{"a": 1}`}}, result{{`{"a":2}`}}, true, false},
		{"float sums in another order", result{{"1234567.8900000001"}}, result{{"1234567.89"}}, true, true},
		{"numbers apart", result{{"10.5"}}, result{{"10.6"}}, true, false},
		{"NULL is not empty", result{{nullCell}}, result{{""}}, true, false},
		{"NULL is not a number", result{{nullCell}}, result{{"0"}}, true, false},
		{"text", result{{"abc"}}, result{{"abd"}}, true, false},
		{"row count", result{{"a"}}, result{{"a"}, {"b"}}, false, false},
		{"column count", result{{"a", "b"}}, result{{"a"}}, true, false},
		{"unordered", result{{"b", "2"}, {"a", "1"}}, result{{"a", "1"}, {"b", "2"}}, false, true},
		{"order matters when ordered", result{{"b", "2"}, {"a", "1"}}, result{{"a", "1"}, {"b", "2"}}, true, false},
		{"empty", nil, result{}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := compareResults(tc.got, tc.want, tc.ordered)
			if (err == nil) != tc.ok {
				t.Fatalf("compareResults = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestGenerator checks the generated file: valid import lines, the
// requested count, every stream's versions in order with its types in
// their place, unique ids, and the same bytes for the same seed.
func TestGenerator(t *testing.T) {
	const n = 30_000
	g := newGenerator(7, n)
	var a, b bytes.Buffer
	st, err := g.write(&a, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newGenerator(7, n).write(&b, n); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two generators of one seed wrote different files")
	}
	if st.Events != n || st.Bytes != int64(a.Len()) {
		t.Fatalf("stats %+v for %d bytes, want %d events", st, a.Len(), n)
	}
	type line struct {
		Stream    string         `json:"stream"`
		EventID   string         `json:"eventId"`
		EventType string         `json:"eventType"`
		Data      map[string]any `json:"data"`
		Metadata  map[string]any `json:"metadata"`
	}
	next := map[string]int{} // stream -> events seen
	ids := map[string]bool{}
	types := map[string]int{}
	sc := bufio.NewScanner(&a)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if _, err := uuid.Parse(l.EventID); err != nil || ids[l.EventID] {
			t.Fatalf("event id %q invalid or repeated (%v)", l.EventID, err)
		}
		ids[l.EventID] = true
		v := next[l.Stream]
		next[l.Stream]++
		types[l.EventType]++
		order := strings.HasPrefix(l.Stream, "order-")
		if first := l.EventType == "OrderPlaced" || l.EventType == "CartCreated"; first != (v == 0) {
			t.Fatalf("%s event %d is %s", l.Stream, v, l.EventType)
		}
		switch l.EventType {
		case "OrderPlaced":
			for _, f := range []string{"orderId", "customer", "amount", "currency", "items", "placedAt"} {
				if _, ok := l.Data[f]; !ok {
					t.Fatalf("OrderPlaced without %s: %v", f, l.Data)
				}
			}
			if _, ok := l.Data["amount"].(float64); !ok {
				t.Fatalf("amount %v is not a number", l.Data["amount"])
			}
		case "PaymentReceived", "OrderShipped":
			if !order {
				t.Fatalf("%s in %s", l.EventType, l.Stream)
			}
		case "CartCreated", "CheckedOut":
			if order {
				t.Fatalf("%s in %s", l.EventType, l.Stream)
			}
		}
	}
	if int64(len(next)) != st.Streams {
		t.Fatalf("%d streams seen, stats say %d", len(next), st.Streams)
	}
	for s, seen := range next {
		num, err := strconv.ParseInt(s[strings.IndexByte(s, '-')+1:], 10, 64)
		if err != nil || g.streamName(num) != s {
			t.Fatalf("stream %q is not the generator's (%v)", s, err)
		}
		if l := g.streamLen(num); seen > l || l < minLen || l > maxLen {
			t.Fatalf("%s: %d events, length %d", s, seen, l)
		}
	}
	for _, typ := range []string{"OrderPlaced", "PaymentReceived", "OrderShipped", "CartCreated", "CheckedOut", "ItemAdded", "ItemRemoved"} {
		if types[typ] == 0 {
			t.Errorf("no %s events", typ)
		}
	}
}
