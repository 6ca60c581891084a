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
func writerOptions(schema *arrow.Schema) []parquet.WriterProperty {
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
	return opts
}
