package ingest

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// rowGroupRows is the row group size of the files a flush writes, with
// either writer.
const rowGroupRows = 122880

// writerOptions are arrow-go's Parquet writer settings, for the flush's
// files that DuckDB does not write (Config.Parquet) and for compaction:
// LZ4_RAW and row groups of rowGroupRows rows, as DuckDB writes them.
// NOTE: a departure from DESIGN.md, which says zstd. Measured on TPC-H
// SF0.1, before/after binaries side by side (bench, three rounds each):
// zstd level 1 gave TPC-H at 1.35-1.41x in-process DuckDB over the
// generator's files, snappy 1.20-1.22x, the flush as fast, files 30-39%
// larger; DuckDB decodes snappy faster. LZ4_RAW then replaced snappy:
// DuckDB decodes it faster still (the 22 TPC-H queries at SF1 through a
// node, two A/B runs: 2.67/2.65 s with snappy, 2.20/2.17 s with LZ4_RAW;
// DuckDB alone over the same files 2.45/2.43 -> 2.02/2.06 s), arrow-go
// too (one 758k-row lineitem file: 161-163 against 177-210 ms; its first
// 2048 rows 6.7-7.9 against 8.9-9.4 ms), both writers spend the same CPU
// (arrow-go 850-1056 against 894-963 ms), and files are 1-3% larger.
//
// The row groups were 16384 rows while full scans were DuckDB's (it
// decodes a whole row group before its first chunk: first batch 7.6 ms
// against 10.9). Scans of every column now stream from memory or decode
// files themselves (query, filescan.go), so the larger groups DuckDB
// prefers came back: at SF1, TPC-H 3.23 -> 3.00 s (DuckDB alone over the
// same files 3.16 -> 2.82 s), the flush 5% less CPU.
//
// Decimals of up to 18 digits are stored as INT32/INT64, not fixed-size
// binary: DuckDB decodes them much faster (TPC-H Q1 over the flushed lineitem files,
// SF0.1: 24.7 ms -> 19.5 ms in DuckDB alone). Dictionary encoding is turned
// off for decimals and fixed-size binary columns (UUIDs): their values
// rarely repeat, and hashing them for the dictionary was a quarter of the
// flush's CPU on lineitem.
//
// String, binary and integer columns keep Parquet's dictionary when their
// values repeat (flags, codes, names, keys that repeat a few times) and
// lose it when a sample of the file's first rows is mostly distinct
// (comments, ids): hashing every value into a dictionary that overflows
// and falls back to plain encoding anyway was 16% of the flush's CPU on
// lineitem (pprof), and for mostly distinct integers (l_partkey,
// l_suppkey) the dictionary cost 9% of the writer's time and made the
// file larger (SF1 lineitem, 1.3 M rows: 1.19 -> 1.08 s, 54.7 -> 52.6 MB;
// DuckDB reads of l_partkey 10% faster, of l_orderkey, which keeps its
// dictionary, unchanged).
func writerOptions(schema *arrow.Schema, batches []arrow.RecordBatch) []parquet.WriterProperty {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Lz4Raw),
		parquet.WithMaxRowGroupLength(rowGroupRows),
		parquet.WithCreatedBy("miniodb"),
		parquet.WithStoreDecimalAsInteger(true),
	}
	for _, f := range schema.Fields() {
		switch f.Type.ID() {
		case arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256, arrow.FIXED_SIZE_BINARY:
			opts = append(opts, parquet.WithDictionaryFor(f.Name, false))
		}
	}
	for i, f := range schema.Fields() {
		if mostlyDistinct(batches, i) {
			opts = append(opts, parquet.WithDictionaryFor(f.Name, false))
		}
	}
	return opts
}

// dictionarySample is how many leading values of a string column decide
// whether it gets a dictionary.
const dictionarySample = 4096

// mostlyDistinct reports whether column i is a string, binary or integer
// column whose first dictionarySample non-null values are more than half
// distinct.
func mostlyDistinct(batches []arrow.RecordBatch, i int) bool {
	strs := map[string]struct{}{}
	ints := map[int64]struct{}{}
	n := 0
	for _, b := range batches {
		var add func(j int)
		switch c := b.Column(i).(type) {
		case *array.String:
			add = func(j int) { strs[c.Value(j)] = struct{}{} }
		case *array.LargeString:
			add = func(j int) { strs[c.Value(j)] = struct{}{} }
		case *array.Binary:
			add = func(j int) { strs[string(c.Value(j))] = struct{}{} }
		case *array.LargeBinary:
			add = func(j int) { strs[string(c.Value(j))] = struct{}{} }
		case *array.Int64:
			add = func(j int) { ints[c.Value(j)] = struct{}{} }
		case *array.Int32:
			add = func(j int) { ints[int64(c.Value(j))] = struct{}{} }
		case *array.Uint64:
			add = func(j int) { ints[int64(c.Value(j))] = struct{}{} }
		case *array.Uint32:
			add = func(j int) { ints[int64(c.Value(j))] = struct{}{} }
		default:
			return false
		}
		col := b.Column(i)
		for j := 0; j < col.Len() && n < dictionarySample; j++ {
			if col.IsNull(j) {
				continue
			}
			add(j)
			n++
		}
		if n >= dictionarySample {
			break
		}
	}
	return n > 0 && (len(strs)+len(ints))*2 > n
}
