package query

import (
	"strings"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/query/sandbox"
)

// pruneFiles keeps the files of table whose catalog min/max statistics can
// hold a row satisfying every bound (sandbox.Bound: the literal comparisons
// of a single-table WHERE). A file without stats for a bound's column, or
// whose stats are of another kind than the literal, is kept: pruning only
// ever removes files that cannot contribute a row.
func pruneFiles(table string, files []catalog.File, bounds []sandbox.Bound) []catalog.File {
	var mine []sandbox.Bound
	for _, b := range bounds {
		if strings.EqualFold(b.Table, table) {
			mine = append(mine, b)
		}
	}
	if len(mine) == 0 {
		return files
	}
	out := make([]catalog.File, 0, len(files))
	for _, f := range files {
		if mayMatch(f, mine) {
			out = append(out, f)
		}
	}
	return out
}

func mayMatch(f catalog.File, bounds []sandbox.Bound) bool {
	for _, b := range bounds {
		st, ok := statsFold(f, b.Column)
		if !ok || st.Kind != b.Kind {
			continue
		}
		lo, ok1 := catalog.CompareStatsValue(st.Kind, st.Min, b.Value) // sign of min - v
		hi, ok2 := catalog.CompareStatsValue(st.Kind, st.Max, b.Value) // sign of max - v
		if !ok1 || !ok2 {
			continue
		}
		var can bool
		switch b.Op {
		case "=":
			can = lo <= 0 && hi >= 0
		case "<":
			can = lo < 0
		case "<=":
			can = lo <= 0
		case ">":
			can = hi > 0
		case ">=":
			can = hi >= 0
		default:
			can = true
		}
		if !can {
			return false
		}
	}
	return true
}

// statsFold finds a column's stats by DuckDB's case-insensitive name match.
func statsFold(f catalog.File, column string) (catalog.ColumnStats, bool) {
	for _, s := range f.Stats {
		if strings.EqualFold(s.Column, column) {
			return s, true
		}
	}
	return catalog.ColumnStats{}, false
}
