package main

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// result is a query's rows as the client received them, one string per
// cell; SQL NULL is nullCell.
type result [][]string

const nullCell = "\x00NULL"

// compareResults reports how got (eventsql) differs from want (MariaDB),
// or nil when they are the same answer. Cells are the same when their
// text is, when both are JSON documents that decode equal (the systems
// print JSON differently), or when both are numbers within a relative
// 1e-9 (floating-point sums depend on the order of addition). Unordered
// results are compared as sorted sets of rows.
func compareResults(got, want result, ordered bool) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d rows, MariaDB %d", len(got), len(want))
	}
	if !ordered {
		got, want = sortedRows(got), sortedRows(want)
	}
	for i := range got {
		if len(got[i]) != len(want[i]) {
			return fmt.Errorf("row %d: %d columns, MariaDB %d", i, len(got[i]), len(want[i]))
		}
		for j := range got[i] {
			if !equalCell(got[i][j], want[i][j]) {
				return fmt.Errorf("row %d column %d: %q, MariaDB %q", i, j, got[i][j], want[i][j])
			}
		}
	}
	return nil
}

func sortedRows(rows result) result {
	s := slices.Clone(rows)
	slices.SortFunc(s, func(a, b []string) int { return slices.Compare(a, b) })
	return s
}

func equalCell(a, b string) bool {
	if a == b {
		return true
	}
	if a == nullCell || b == nullCell {
		return false
	}
	if isJSONDoc(a) && isJSONDoc(b) {
		var x, y any
		return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
	}
	x, errx := strconv.ParseFloat(a, 64)
	y, erry := strconv.ParseFloat(b, 64)
	if errx != nil || erry != nil {
		return false
	}
	return math.Abs(x-y) <= 1e-9*max(math.Abs(x), math.Abs(y), 1)
}

func isJSONDoc(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && (s[0] == '{' || s[0] == '[')
}
