package tpch

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
)

// Tolerances for values that are floats on either side; see the package documentation.
const (
	RelTol = 1e-9
	AbsTol = 1e-12
)

// Compare reports the first difference between want and got, or nil when they
// match: same column count, same row count, same multiset of rows, and when
// ordered also the same row order.
func Compare(want, got *Result, ordered bool) error {
	if want == nil || got == nil {
		return errors.New("tpch: compare: nil result")
	}
	if len(want.Columns) != len(got.Columns) {
		return fmt.Errorf("tpch: column count: want %d %v, got %d %v",
			len(want.Columns), want.Columns, len(got.Columns), got.Columns)
	}
	if err := compareMultiset(want, got); err != nil {
		return err
	}
	if ordered {
		return compareOrder(want.Rows, got.Rows)
	}
	return nil
}

// compareMultiset sorts copies of both row sets with one key and walks them together.
func compareMultiset(want, got *Result) error {
	key := sortKey(len(want.Columns), want.Rows, got.Rows)
	w, g := sortedRows(want.Rows, key), sortedRows(got.Rows, key)
	i, j := 0, 0
	for i < len(w) && j < len(g) {
		switch {
		case rowsEqual(w[i], g[j]):
			i, j = i+1, j+1
		case compareRows(w[i], g[j], key) < 0:
			return rowDiff(len(w), len(g), "missing row "+rowString(w[i])+" (nearest got row "+rowString(g[j])+")")
		default:
			return rowDiff(len(w), len(g), "unexpected row "+rowString(g[j])+" (nearest want row "+rowString(w[i])+")")
		}
	}
	switch {
	case i < len(w):
		return rowDiff(len(w), len(g), "missing row "+rowString(w[i]))
	case j < len(g):
		return rowDiff(len(w), len(g), "unexpected row "+rowString(g[j]))
	}
	return nil
}

// rowDiff reports the first unmatched row, with the row counts.
func rowDiff(nw, ng int, msg string) error {
	if nw != ng {
		return fmt.Errorf("tpch: row count: want %d, got %d: %s", nw, ng, msg)
	}
	return fmt.Errorf("tpch: rows differ (%d rows): %s", nw, msg)
}

func compareOrder(want, got [][]Value) error {
	for i := range want {
		if !rowsEqual(want[i], got[i]) {
			return fmt.Errorf("tpch: row order differs at row %d: want %s, got %s",
				i, rowString(want[i]), rowString(got[i]))
		}
	}
	return nil
}

// sortKey lists the column indexes to sort by: columns without floats on
// either side first, then those with floats, so that tolerance only matters
// among rows that agree on every exact column.
func sortKey(ncols int, sets ...[][]Value) []int {
	inexact := make([]bool, ncols)
	for _, rows := range sets {
		for _, row := range rows {
			for c, v := range row {
				inexact[c] = inexact[c] || v.Kind == KindFloat
			}
		}
	}
	var exact, floats []int
	for c, f := range inexact {
		if f {
			floats = append(floats, c)
		} else {
			exact = append(exact, c)
		}
	}
	return append(exact, floats...)
}

func sortedRows(rows [][]Value, key []int) [][]Value {
	s := slices.Clone(rows)
	slices.SortStableFunc(s, func(a, b []Value) int { return compareRows(a, b, key) })
	return s
}

func compareRows(a, b []Value, key []int) int {
	for _, c := range key {
		if r := compareValues(a[c], b[c]); r != 0 {
			return r
		}
	}
	return 0
}

// class orders kinds for sorting; integers and floats sort together by value.
func class(k Kind) Kind {
	if k == KindFloat {
		return KindInt
	}
	return k
}

// compareValues is a total order consistent across both sides of a comparison.
func compareValues(a, b Value) int {
	if r := cmp.Compare(class(a.Kind), class(b.Kind)); r != 0 {
		return r
	}
	switch a.Kind {
	case KindNull:
		return 0
	case KindBool:
		return cmp.Compare(boolInt(a.Bool), boolInt(b.Bool))
	case KindInt, KindFloat:
		if a.Kind == KindInt && b.Kind == KindInt {
			return a.Int.Cmp(b.Int)
		}
		return cmp.Compare(toFloat(a), toFloat(b))
	default:
		return cmp.Compare(a.Str, b.Str)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func toFloat(v Value) float64 {
	if v.Kind == KindInt {
		f, _ := new(big.Float).SetInt(v.Int).Float64()
		return f
	}
	return v.Float
}

func rowsEqual(a, b []Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !valuesEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// valuesEqual: exact except when either side is a float, then within tolerance.
func valuesEqual(a, b Value) bool {
	if class(a.Kind) != class(b.Kind) {
		return false
	}
	switch a.Kind {
	case KindNull:
		return true
	case KindBool:
		return a.Bool == b.Bool
	case KindInt, KindFloat:
		if a.Kind == KindInt && b.Kind == KindInt {
			return a.Int.Cmp(b.Int) == 0
		}
		return floatsClose(toFloat(a), toFloat(b))
	default:
		return a.Kind == b.Kind && a.Str == b.Str
	}
}

// floatsClose compares within RelTol/AbsTol; NaNs equal each other, infinities
// only themselves.
func floatsClose(x, y float64) bool {
	if x == y || (math.IsNaN(x) && math.IsNaN(y)) {
		return true
	}
	if math.IsInf(x, 0) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsNaN(y) {
		return false
	}
	d := math.Abs(x - y)
	return d <= AbsTol || d <= RelTol*math.Max(math.Abs(x), math.Abs(y))
}
