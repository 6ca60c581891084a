package ingest

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"

	"github.com/miniodb/miniodb/catalog"
)

// What package backup reuses of the flush, so that the files compaction
// writes and the catalog entries a rebuild recomputes are the flush's own.

// FileStats returns the stats a flush records for a file of a table with
// schema and cfg holding batches.
func FileStats(schema *arrow.Schema, cfg catalog.TableConfig, batches []arrow.RecordBatch) []catalog.ColumnStats {
	return fileStats(schema, cfg, batches)
}

// ParquetWriterOptions are the Parquet writer settings of a flush.
func ParquetWriterOptions(schema *arrow.Schema) []parquet.WriterProperty {
	return writerOptions(schema)
}
