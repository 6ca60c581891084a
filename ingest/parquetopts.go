package ingest

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// writerOptions are the Parquet writer settings of a flush: snappy and
// row groups of 16384 rows. NOTE: a departure from DESIGN.md, which says
// zstd. Measured on TPC-H SF0.1, before/after binaries side by side
// (bench, three rounds each): zstd level 1 with 122880-row groups gave
// 14.5-15.6 ms to a full scan's first batch and TPC-H at 1.35-1.41x
// in-process DuckDB; snappy with 16384-row groups 7.6 ms and 1.22x, the
// flush as fast, files 39% larger (23 -> 32 MiB). DuckDB decodes a whole
// row group's pages before its first chunk, and decodes snappy faster than
// zstd; zstd with small row groups had the first batch (8.8 ms) but made
// TPC-H slower (1.48x).
//
// Decimals of up to 18 digits are stored as INT32/INT64, not fixed-size
// binary: DuckDB
// decodes them much faster (TPC-H Q1 over the flushed lineitem files,
// SF0.1: 24.7 ms -> 19.5 ms in DuckDB alone). Dictionary encoding is turned
// off for decimals and fixed-size binary columns (UUIDs): their values
// rarely repeat, and hashing them for the dictionary was a quarter of the
// flush's CPU on lineitem.
//
// String and binary columns keep Parquet's dictionary when their values
// repeat (flags, codes, names) and lose it when a sample of the file's
// first rows is mostly distinct (comments, ids as text): hashing every
// value into a dictionary that overflows and falls back to plain
// encoding anyway was 16% of the flush's CPU on lineitem (pprof).
func writerOptions(schema *arrow.Schema, batches []arrow.RecordBatch) []parquet.WriterProperty {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(16384),
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

// mostlyDistinct reports whether column i is a string or binary column
// whose first dictionarySample values are more than half distinct.
func mostlyDistinct(batches []arrow.RecordBatch, i int) bool {
	seen := map[string]struct{}{}
	n := 0
	for _, b := range batches {
		col, ok := b.Column(i).(interface {
			Len() int
			IsNull(int) bool
			ValueStr(int) string
		})
		if !ok {
			return false
		}
		switch b.Column(i).DataType().ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		default:
			return false
		}
		for j := 0; j < col.Len() && n < dictionarySample; j++ {
			if col.IsNull(j) {
				continue
			}
			seen[col.ValueStr(j)] = struct{}{}
			n++
		}
		if n >= dictionarySample {
			break
		}
	}
	return n > 0 && len(seen)*2 > n
}
