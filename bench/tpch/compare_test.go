package tpch

import (
	"context"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

// q01 returns the reference answer of TPC-H q01 (4 ordered rows of strings,
// decimal sums, double averages and a count).
func q01(t *testing.T) *Result {
	t.Helper()
	dir := testData(t)
	qs, err := Queries(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Reference(context.Background(), dir, qs[0].SQL)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 4 || len(res.Columns) != 10 {
		t.Fatalf("q01: %d rows x %d cols", len(res.Rows), len(res.Columns))
	}
	return res
}

// mutate returns a deep-enough copy of r (fresh row slices) after f changes it.
func mutate(r *Result, f func(rows [][]Value) [][]Value) *Result {
	rows := make([][]Value, len(r.Rows))
	for i, row := range r.Rows {
		rows[i] = slices.Clone(row)
	}
	return &Result{Columns: slices.Clone(r.Columns), Rows: f(rows)}
}

func wantDiff(t *testing.T, name string, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: Compare found no difference", name)
		return
	}
	if !strings.Contains(err.Error(), substr) {
		t.Errorf("%s: error %q does not mention %q", name, err, substr)
	}
	t.Logf("%s: %v", name, err)
}

func TestCompareDetects(t *testing.T) {
	want := q01(t)
	const avgCol, countCol = 6, 9 // avg_qty (double), count_order (bigint)
	if want.Rows[0][avgCol].Kind != KindFloat || want.Rows[0][countCol].Kind != KindInt {
		t.Fatalf("unexpected q01 kinds: %v", want.Rows[0])
	}
	if err := Compare(want, mutate(want, same), true); err != nil {
		t.Fatalf("identical copy: %v", err)
	}
	changedFloat := mutate(want, func(rows [][]Value) [][]Value {
		rows[2][avgCol] = floatValue(rows[2][avgCol].Float * (1 + 1e-6))
		return rows
	})
	wantDiff(t, "changed float", Compare(want, changedFloat, false), "rows differ")
	changedInt := mutate(want, func(rows [][]Value) [][]Value {
		rows[1][countCol] = bigValue(new(big.Int).Add(rows[1][countCol].Int, big.NewInt(1)))
		return rows
	})
	wantDiff(t, "changed int", Compare(want, changedInt, false), "rows differ")
	changedStr := mutate(want, func(rows [][]Value) [][]Value {
		rows[0][0] = stringValue("Z")
		return rows
	})
	wantDiff(t, "changed string", Compare(want, changedStr, false), "missing row")
}

func same(rows [][]Value) [][]Value { return rows }

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCompareRows(t *testing.T) {
	want := q01(t)
	missing := mutate(want, func(rows [][]Value) [][]Value { return rows[:3] })
	wantDiff(t, "missing row", Compare(want, missing, false), "row count: want 4, got 3")
	dup := mutate(want, func(rows [][]Value) [][]Value { return append(rows, rows[0]) })
	wantDiff(t, "duplicated row", Compare(want, dup, false), "unexpected row")
	dupSameCount := mutate(want, func(rows [][]Value) [][]Value {
		rows[3] = rows[0]
		return rows
	})
	wantDiff(t, "duplicated row replacing another", Compare(want, dupSameCount, false), "rows differ")
	swapped := mutate(want, func(rows [][]Value) [][]Value {
		rows[0], rows[1] = rows[1], rows[0]
		return rows
	})
	wantDiff(t, "reordered rows", Compare(want, swapped, true), "row order differs at row 0")
	if err := Compare(want, swapped, false); err != nil {
		t.Errorf("reordered rows, unordered compare: %v", err)
	}
	fewerCols := mutate(want, func(rows [][]Value) [][]Value { return rows })
	fewerCols.Columns = fewerCols.Columns[:9]
	wantDiff(t, "column count", Compare(want, fewerCols, false), "column count")
}

func TestCompareTolerance(t *testing.T) {
	want := q01(t)
	tiny := mutate(want, func(rows [][]Value) [][]Value {
		for _, row := range rows {
			for c, v := range row {
				if v.Kind == KindFloat {
					row[c] = floatValue(v.Float * (1 + 1e-12))
				}
			}
		}
		return rows
	})
	if err := Compare(want, tiny, true); err != nil {
		t.Errorf("relative change 1e-12 must be within tolerance: %v", err)
	}
}

func TestCompareValues(t *testing.T) {
	one := func(v Value) *Result { return &Result{Columns: []string{"c"}, Rows: [][]Value{{v}}} }
	differ := []struct {
		name string
		a, b Value
	}{
		{"NULL vs empty string", nullValue(), stringValue("")},
		{"NULL vs zero", nullValue(), int64Value(0)},
		{"date vs its text", dateValue(mustDate(t, "1995-03-15")), stringValue("1995-03-15")},
		{"int off by one", int64Value(41), int64Value(42)},
		{"decimal cent", decimalValue(big.NewInt(12345), 2), decimalValue(big.NewInt(12346), 2)},
		{"bool", boolValue(true), boolValue(false)},
	}
	for _, c := range differ {
		if Compare(one(c.a), one(c.b), false) == nil {
			t.Errorf("%s: compared equal", c.name)
		}
	}
	equal := []struct {
		name string
		a, b Value
	}{
		{"decimal scale 0 is an int", decimalValue(big.NewInt(42), 0), int64Value(42)},
		{"decimal vs double", decimalValue(big.NewInt(12345), 2), floatValue(123.45)},
		{"int vs double", int64Value(3), floatValue(3.0000000000001)},
		{"near zero", floatValue(0), floatValue(1e-15)},
	}
	for _, c := range equal {
		if err := Compare(one(c.a), one(c.b), false); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
