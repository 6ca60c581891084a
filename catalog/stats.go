package catalog

import (
	"cmp"
	"strconv"
)

// Stats kinds: how ColumnStats.Min and Max are written and compared.
const (
	StatsInt    = "int"    // signed integer, decimal text
	StatsString = "string" // raw string, compared bytewise (as DuckDB compares VARCHAR)
	StatsTime   = "time"   // microseconds since the Unix epoch (UTC), decimal text
)

// ColumnStats is the smallest and largest non-null value of one column in a
// file. The flush records it for the shard key and the time column; the
// query engine skips files whose range cannot hold a row a simple WHERE
// predicate wants. A file without stats for a column is never skipped on it.
//
// NOTE: entries are JSON in both backends; Min and Max are text so that
// 64-bit integers survive JSON's float64 numbers.
type ColumnStats struct {
	Column string `json:"column"`
	Kind   string `json:"kind"`
	Min    string `json:"min"`
	Max    string `json:"max"`
	Nulls  bool   `json:"nulls,omitempty"` // the column has NULLs in this file
}

// StatsFor returns the stats of column (matched exactly), if recorded.
func (f File) StatsFor(column string) (ColumnStats, bool) {
	for _, s := range f.Stats {
		if s.Column == column {
			return s, true
		}
	}
	return ColumnStats{}, false
}

// CompareStatsValue compares two values of one stats kind; ok is false when
// either does not parse.
func CompareStatsValue(kind, a, b string) (c int, ok bool) {
	switch kind {
	case StatsString:
		return cmp.Compare(a, b), true
	case StatsInt, StatsTime:
		x, err1 := strconv.ParseInt(a, 10, 64)
		y, err2 := strconv.ParseInt(b, 10, 64)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		return cmp.Compare(x, y), true
	}
	return 0, false
}
