package server

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/go-mysql-server/sql/values"
)

// TestFastWireMatchesGMS converts values of every kind the fast path
// handles, and values it must leave to GMS, both ways, and compares the
// wire type and bytes.
func TestFastWireMatchesGMS(t *testing.T) {
	ctx := sql.NewEmptyContext()
	varchar := types.MustCreateStringWithDefaults(sqltypes.VarChar, 255)
	char36 := types.MustCreateStringWithDefaults(sqltypes.Char, 36)
	dt6 := types.MustCreateDatetimeType(sqltypes.Datetime, 6)
	dt0 := types.MustCreateDatetimeType(sqltypes.Datetime, 0)
	r := rand.New(rand.NewPCG(1, 2))

	type tc struct {
		typ  sql.Type
		vals []any
		fast bool // the fast path must take the first value
	}
	cases := []tc{
		{types.Int64, []any{int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), int64(42), int32(7), "12", uint64(3)}, true},
		{types.Uint64, []any{uint64(0), uint64(1), uint64(math.MaxUint64), uint64(1 << 40), int64(5), "9"}, true},
		{types.Float64, []any{1.5, 0.0, math.Copysign(0, -1), -2.25, 1e21, 1e-7, 123456789.123, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), float32(1.5), int64(3)}, true},
		{varchar, []any{"s-1", "", "héllo wörld", "日本語", "emoji 😀", []byte("bytes"), int64(12)}, true},
		{char36, []any{"0190f5a8-8d1e-7c3a-9b2e-1f0a2b3c4d5e"}, true},
		{types.LongText, []any{"long text"}, true},
		{dt6, []any{time.Date(2026, 11, 23, 15, 4, 5, 123456000, time.UTC)}, true},
		{dt6, []any{
			time.Date(2026, 11, 23, 15, 4, 5, 123456789, time.UTC), // GMS rounds
			time.Date(999, 12, 31, 23, 59, 59, 0, time.UTC),        // 3-digit year
			time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
			time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
			time.Date(1600, 2, 29, 12, 0, 0, 1000, time.UTC),
			time.Date(2026, 3, 1, 1, 0, 0, 0, time.FixedZone("x", 5*3600)), // another zone: written in UTC
			"2026-01-02 03:04:05",
			types.ZeroTime,
		}, false},
		{dt0, []any{time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC)}, false},
		{types.Boolean, []any{int8(1), int8(0)}, false},
		{types.Blob, []any{"blob", []byte{0, 1, 2}}, false},
		{types.JSON, []any{`{"a":1}`}, false},
	}
	// Random times across the whole DATETIME range, before and after 1970.
	var times []any
	for range 20000 {
		us := minDatetime6 + r.Int64N(maxDatetime6-minDatetime6+1)
		times = append(times, time.UnixMicro(us).UTC())
	}
	cases = append(cases, tc{dt6, times, true})
	// Times in order, as a scan writes them (the writer keeps the last
	// second's text): steps of 1 µs to 2 s across seconds, days, years.
	var seq []any
	us := time.Date(1999, 12, 31, 23, 59, 50, 0, time.UTC).UnixMicro()
	for range 20000 {
		us += []int64{1, 999_999, 1_000_000, 1_999_999, 37}[r.IntN(5)]
		seq = append(seq, time.UnixMicro(us).UTC())
	}
	cases = append(cases, tc{dt6, seq, true})

	fastHits := 0
	for _, c := range cases {
		kind := wireKindOf(c.typ, ctx.GetCharacterSetResults())
		b := newWireBatch(ctx, sql.Schema{{Name: "c", Type: c.typ}}, nil, sql.NewByteBuffer(64))
		for i, v := range c.vals {
			got, ok := b.fast(wireCol{kind: kind, typ: c.typ.Type()}, v)
			if i == 0 && ok != c.fast {
				t.Errorf("%s %v (%T): fast path taken %v, want %v", c.typ, v, v, ok, c.fast)
			}
			if !ok {
				continue
			}
			fastHits++
			// DOUBLE is written as MySQL writes it, not as GMS does:
			// compare with the server's general path (toSqlHelper).
			want, err := toSqlHelper(ctx, c.typ, nil, v)
			if err != nil {
				t.Errorf("%s %v (%T): fast path wrote %q where GMS fails: %v", c.typ, v, v, got.Raw(), err)
				continue
			}
			if got.Type() != want.Type() || !bytes.Equal(got.Raw(), want.Raw()) {
				t.Errorf("%s %v (%T): fast %v %q, GMS %v %q", c.typ, v, v, got.Type(), got.Raw(), want.Type(), want.Raw())
			}
		}
	}
	if fastHits < 20000 {
		t.Fatalf("the fast path took only %d values", fastHits)
	}
}

// TestWireBatchReuse converts more rows than a batch holds, resetting it
// as the server does once a batch is written, and checks every row
// against GMS's RowToSQL: the reused buffer and slabs must not bleed
// into rows still in the batch.
func TestWireBatchReuse(t *testing.T) {
	ctx := sql.NewEmptyContext()
	schema := sql.Schema{
		{Name: "position", Type: types.Uint64},
		{Name: "stream", Type: types.MustCreateStringWithDefaults(sqltypes.VarChar, 255)},
		{Name: "created_at", Type: types.MustCreateDatetimeType(sqltypes.Datetime, 6)},
		{Name: "data", Type: types.JSON},
		{Name: "n", Type: types.Int64},
	}
	b := newWireBatch(ctx, schema, nil, sql.NewByteBuffer(16))
	base := time.Date(2026, 11, 23, 23, 59, 0, 0, time.UTC)
	var rows []sql.Row
	check := func() {
		t.Helper()
		for i, row := range rows {
			want, err := RowToSQL(ctx, schema, row, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for j := range want {
				if got := b.res.Rows[i][j]; got.Type() != want[j].Type() || !bytes.Equal(got.Raw(), want[j].Raw()) {
					t.Fatalf("row %d column %s: %q, want %q", i, schema[j].Name, got.Raw(), want[j].Raw())
				}
			}
		}
	}
	for i := range 3*rowsBatch + 5 {
		var data any
		if i%3 != 0 {
			data = types.MustJSON(`{"i":` + strconv.Itoa(i) + `}`)
		}
		row := sql.Row{uint64(i + 1), "stream-" + strconv.Itoa(i), base.Add(time.Duration(i) * 997 * time.Millisecond), data, int64(-i)}
		rows = append(rows, row)
		if err := b.add(ctx, schema, row, nil); err != nil {
			t.Fatal(err)
		}
		if len(b.res.Rows) == rowsBatch {
			check()
			b.reset()
			rows = rows[:0]
		}
	}
	check()
}

// TestDoubleTextMatchesMariaDB: DOUBLE values are written as MariaDB
// 10.11 wrote them for "SELECT <literal>e0" and from a DOUBLE column
// (MySQL 8 agrees), in every path results take: the fast one, GMS's row
// conversion and its value rows. GMS wrote "4.99995e+09" for a SUM the
// mysql CLI then showed as such.
func TestDoubleTextMatchesMariaDB(t *testing.T) {
	ctx := sql.NewEmptyContext()
	for x, want := range map[float64]string{
		1e5: "100000", 1234567: "1234567", 4999950000: "4999950000", 1e14: "100000000000000",
		1e15: "1e15", 1e16: "1e16", 123456789012345678: "1.2345678901234568e17",
		0.0001: "0.0001", 0.00001: "0.00001", 1e-7: "0.0000001", 0.30000000000000004: "0.30000000000000004",
		1.5e300: "1.5e300", -2.5e-300: "-2.5e-300", 100.0 / 3: "33.333333333333336",
		1e-15: "0.000000000000001", 1e-16: "1e-16", 1.5e-10: "0.00000000015",
		123456789012345: "123456789012345", 1234567890123456: "1.234567890123456e15",
		0.000000123456789: "0.000000123456789", 12345678901234.5: "12345678901234.5", 1.25e-5: "0.0000125",
		1.2345678901234567e-5: "0.000012345678901234568", 999999999999999: "999999999999999",
		1e100: "1e100", 5e-324: "5e-324", 0: "0", math.Copysign(0, -1): "0",
		1.7976931348623157e308: "1.7976931348623157e308", -1234567.5: "-1234567.5", 201024.5: "201024.5",
		1.2456913969119691e17: "1.2456913969119691e17",
	} {
		if got := string(appendDouble([]byte("x"), x)); got != "x"+want {
			t.Errorf("%v: %q, want %q", x, got[1:], want)
		}
		b := newWireBatch(ctx, sql.Schema{{Name: "d", Type: types.Float64}}, nil, sql.NewByteBuffer(64))
		v, ok := b.fast(wireCol{kind: wireKindOf(types.Float64, ctx.GetCharacterSetResults()), typ: sqltypes.Float64}, x)
		if !ok || string(v.Raw()) != want || v.Type() != sqltypes.Float64 {
			t.Errorf("%v: fast path %v %q, want %q", x, ok, v.Raw(), want)
		}
		row, err := RowToSQL(ctx, sql.Schema{{Name: "d", Type: types.Float64}}, sql.Row{x}, nil, sql.NewByteBuffer(64))
		if err != nil || string(row[0].Raw()) != want {
			t.Errorf("%v: RowToSQL %q %v, want %q", x, row[0].Raw(), err, want)
		}
		vr := sql.ValueRow{{Typ: sqltypes.Float64, Val: values.WriteFloat64(make([]byte, 8), x)}}
		vals, err := RowValueToSQLValues(ctx, sql.Schema{{Name: "d", Type: types.Float64}}, vr, sql.NewByteBuffer(64))
		if err != nil || string(vals[0].Raw()) != want {
			t.Errorf("%v: RowValueToSQLValues %q %v, want %q", x, vals[0].Raw(), err, want)
		}
	}
}

// TestBinaryDatetimeMatchesTime writes DATETIME(6) values in the binary
// protocol's form with one writer (its date cache kept from value to
// value, across days and before 1970) and compares each with the fields
// of time.UnixMicro in UTC.
func TestBinaryDatetimeMatchesTime(t *testing.T) {
	var w datetimeWriter
	rng := rand.New(rand.NewPCG(3, 4))
	us := []int64{0, -1, 86_400_000_000 - 1, 86_400_000_000, minDatetime6, maxDatetime6, minDatetime6 - 1, maxDatetime6 + 1}
	for x := int64(-10_000_000_000); x < 10_000_000_000; x += 999_999_937 {
		us = append(us, x, x+1)
	}
	for range 2000 {
		us = append(us, minDatetime6+rng.Int64N(maxDatetime6-minDatetime6))
	}
	for _, u := range us {
		got, ok := w.appendBinary(nil, u)
		if wantOK := u >= minDatetime6 && u <= maxDatetime6; ok != wantOK {
			t.Fatalf("%d: ok = %v, want %v", u, ok, wantOK)
		}
		if !ok {
			continue
		}
		tm := time.UnixMicro(u).UTC()
		want := []byte{11, byte(tm.Year()), byte(tm.Year() >> 8), byte(tm.Month()), byte(tm.Day()),
			byte(tm.Hour()), byte(tm.Minute()), byte(tm.Second())}
		want = binary.LittleEndian.AppendUint32(want, uint32(tm.Nanosecond()/1000))
		if !bytes.Equal(got, want) {
			t.Fatalf("%d (%s): % x, want % x", u, tm, got, want)
		}
	}
}
