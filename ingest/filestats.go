package ingest

import (
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/miniodb/miniodb/catalog"
)

// maxStatString bounds string stats: a longer min or max is not recorded
// (a truncated max would wrongly exclude values).
const maxStatString = 256

// fileStats returns min/max of the shard key and the time column over the
// batches of one file, for the catalog (catalog.ColumnStats). A column of a
// type without stats, or without a non-null value, gets none.
func fileStats(schema *arrow.Schema, cfg catalog.TableConfig, batches []arrow.RecordBatch) []catalog.ColumnStats {
	var out []catalog.ColumnStats
	cols := []int{columnIndex(schema, cfg.ShardKey, "id"), timeColumnIndex(schema, cfg.TimeColumn)}
	for k, i := range cols {
		if i < 0 || (k == 1 && i == cols[0]) {
			continue
		}
		if st, ok := columnStats(schema.Field(i), i, batches); ok {
			out = append(out, st)
		}
	}
	return out
}

// statAcc folds values of one kind into a min and a max.
type statAcc struct {
	ints       bool
	lo, hi     int64
	slo, shi   string
	seen, null bool
}

func (a *statAcc) int(v int64) {
	if !a.seen || v < a.lo {
		a.lo = v
	}
	if !a.seen || v > a.hi {
		a.hi = v
	}
	a.seen = true
}

func (a *statAcc) str(v string) {
	if !a.seen || v < a.slo {
		a.slo = v
	}
	if !a.seen || v > a.shi {
		a.shi = v
	}
	a.seen = true
}

func columnStats(f arrow.Field, i int, batches []arrow.RecordBatch) (catalog.ColumnStats, bool) {
	kind := catalog.StatsInt
	acc := &statAcc{}
	for _, b := range batches {
		col := b.Column(i)
		acc.null = acc.null || col.NullN() > 0
		k, ok := foldColumn(col, acc)
		if !ok {
			return catalog.ColumnStats{}, false
		}
		kind = k
	}
	if !acc.seen {
		return catalog.ColumnStats{}, false
	}
	st := catalog.ColumnStats{Column: f.Name, Kind: kind, Nulls: acc.null}
	if kind == catalog.StatsString {
		if len(acc.slo) > maxStatString || len(acc.shi) > maxStatString {
			return catalog.ColumnStats{}, false
		}
		st.Min, st.Max = acc.slo, acc.shi
	} else {
		st.Min, st.Max = strconv.FormatInt(acc.lo, 10), strconv.FormatInt(acc.hi, 10)
	}
	return st, true
}

// foldColumn adds a column's non-null values to acc and returns their kind.
func foldColumn(col arrow.Array, acc *statAcc) (string, bool) {
	switch c := col.(type) {
	case *array.Int64:
		foldInts(c, acc, func(j int) int64 { return c.Value(j) })
	case *array.Int32:
		foldInts(c, acc, func(j int) int64 { return int64(c.Value(j)) })
	case *array.Int16:
		foldInts(c, acc, func(j int) int64 { return int64(c.Value(j)) })
	case *array.Int8:
		foldInts(c, acc, func(j int) int64 { return int64(c.Value(j)) })
	case *array.Uint32:
		foldInts(c, acc, func(j int) int64 { return int64(c.Value(j)) })
	case *array.Uint16:
		foldInts(c, acc, func(j int) int64 { return int64(c.Value(j)) })
	case *array.Uint8:
		foldInts(c, acc, func(j int) int64 { return int64(c.Value(j)) })
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		foldInts(c, acc, func(j int) int64 { return toMicros(int64(c.Value(j)), unit) })
		return catalog.StatsTime, true
	case *array.Date32:
		foldInts(c, acc, func(j int) int64 { return int64(c.Value(j)) * 86_400_000_000 })
		return catalog.StatsTime, true
	case *array.String:
		for j := range c.Len() {
			if c.IsValid(j) {
				acc.str(c.Value(j))
			}
		}
		return catalog.StatsString, true
	case *array.LargeString:
		for j := range c.Len() {
			if c.IsValid(j) {
				acc.str(c.Value(j))
			}
		}
		return catalog.StatsString, true
	default:
		return "", false
	}
	return catalog.StatsInt, true
}

func foldInts(col arrow.Array, acc *statAcc, v func(int) int64) {
	n := col.Len()
	if col.NullN() == 0 {
		for j := range n {
			acc.int(v(j))
		}
		return
	}
	for j := range n {
		if col.IsValid(j) {
			acc.int(v(j))
		}
	}
}

// toMicros converts a timestamp value to microseconds (sub-microsecond
// precision truncated toward negative infinity, so a range stays a cover).
func toMicros(v int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return v * 1_000_000
	case arrow.Millisecond:
		return v * 1_000
	case arrow.Nanosecond:
		q := v / 1_000
		if v%1_000 < 0 {
			q--
		}
		return q
	}
	return v
}

// SchemaHash is the catalog.File.SchemaHash a file written with schema s
// has: files whose hash equals the table's current schema's hash hold every
// column of the table.
func SchemaHash(s *arrow.Schema) string { return schemaHash(s) }
