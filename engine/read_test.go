package engine

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestPositionAtAndBackwardReads(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	opts.Clock = func() time.Time { return now }
	s := openTestStore(t, t.TempDir(), opts)
	// 300 events one second apart: more than the sparse time index step.
	for i := 0; i < 300; i++ {
		now = t0.Add(time.Duration(i) * time.Second)
		typ := "Even"
		if i%2 == 1 {
			typ = "Odd"
		}
		if _, err := s.Append(ctx, fmt.Sprintf("c%d-%d", i%3, i%5), ExpectAny, jsonEvent(typ, `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		at   time.Time
		want uint64
	}{
		{t0.Add(-time.Hour), 1},
		{t0, 1},
		{t0.Add(500 * time.Millisecond), 2},
		{t0.Add(200 * time.Second), 201},
		{t0.Add(299 * time.Second), 300},
		{t0.Add(time.Hour), 301},
	}
	for _, tt := range tests {
		got, err := s.PositionAt(ctx, tt.at)
		if err != nil || got != tt.want {
			t.Errorf("PositionAt(%s) = %d, %v; want %d", tt.at.Sub(t0), got, err, tt.want)
		}
	}
	odd := positions(collect(t)(s.ReadType(ctx, "Odd", 10, ReadOptions{Direction: Backward, Limit: 3})))
	if fmt.Sprint(odd) != "[10 8 6]" {
		t.Errorf("Odd backward from 10 = %v", odd)
	}
	cat := positions(collect(t)(s.ReadCategory(ctx, "c1", 0, ReadOptions{Direction: Backward, Limit: 2})))
	if fmt.Sprint(cat) != "[299 296]" {
		t.Errorf("c1 backward from the end = %v", cat)
	}
	fwd := positions(collect(t)(s.ReadType(ctx, "Even", 295, ReadOptions{})))
	if fmt.Sprint(fwd) != "[295 297 299]" {
		t.Errorf("Even forward from 295 = %v", fwd)
	}
	all := positions(collect(t)(s.ReadAll(ctx, 250, ReadOptions{Limit: 3})))
	if fmt.Sprint(all) != "[250 251 252]" {
		t.Errorf("$all from 250 = %v", all)
	}
	// Paging through streams.
	var pages []string
	after := ""
	for {
		it, err := s.ListStreams(ctx, ListStreamsOptions{Prefix: "c1-", After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for it.Next() {
			after = it.Stream().Name
			pages = append(pages, after)
			n++
		}
		it.Close()
		if n < 2 {
			break
		}
	}
	if fmt.Sprint(pages) != "[c1-0 c1-1 c1-2 c1-3 c1-4]" {
		t.Errorf("paged streams = %v", pages)
	}
	// From is inclusive; the later of From and After wins; Prefix bounds both.
	for _, tt := range []struct {
		opts ListStreamsOptions
		want string
	}{
		{ListStreamsOptions{From: "c1-3"}, "[c1-3 c1-4 c2-0 c2-1 c2-2]"},
		{ListStreamsOptions{From: "c1-3", After: "c1-3"}, "[c1-4 c2-0 c2-1 c2-2 c2-3]"},
		{ListStreamsOptions{From: "c1-3", After: "c1-1"}, "[c1-3 c1-4 c2-0 c2-1 c2-2]"},
		{ListStreamsOptions{Prefix: "c1-", From: "c0"}, "[c1-0 c1-1 c1-2 c1-3 c1-4]"},
		{ListStreamsOptions{Prefix: "c1-", From: "c1-4x"}, "[]"},
	} {
		it, err := s.ListStreams(ctx, ListStreamsOptions{Prefix: tt.opts.Prefix, From: tt.opts.From, After: tt.opts.After, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for it.Next() {
			names = append(names, it.Stream().Name)
		}
		it.Close()
		if got := fmt.Sprint(names); got != tt.want {
			t.Errorf("ListStreams(%+v) = %s, want %s", tt.opts, got, tt.want)
		}
	}
}
