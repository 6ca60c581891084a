package ingest

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// zstdLevel is the flush's zstd level. NOTE: level 1 (zstd's fastest)
// instead of the default 3: on TPC-H lineitem it writes ~15% faster for
// files a few percent larger (bench/results/report.md).
const zstdLevel = 1

// writerOptions are the Parquet writer settings of a flush. Decimals of up
// to 18 digits are stored as INT32/INT64, not fixed-size binary: DuckDB
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
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(zstdLevel),
		parquet.WithMaxRowGroupLength(122880),
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
