package ingest

import (
	"io"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/miniodb/miniodb/catalog"
)

// What package backup reuses of the flush, so that the files compaction
// writes and the catalog entries a rebuild recomputes are the flush's own.

// FileStats returns the stats a flush records for a file of a table with
// schema and cfg holding batches.
func FileStats(schema *arrow.Schema, cfg catalog.TableConfig, batches []arrow.RecordBatch) []catalog.ColumnStats {
	return fileStats(schema, cfg, batches)
}

// WriteParquet writes batches to w as one Parquet file, as a flush does:
// its writer settings, the Arrow schema stored, and meta as key-value
// metadata in key order.
func WriteParquet(w io.Writer, schema *arrow.Schema, batches []arrow.RecordBatch, meta map[string]string) error {
	fw, err := pqarrow.NewFileWriter(schema, w, parquet.NewWriterProperties(writerOptions(schema, batches)...),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return err
	}
	for _, rec := range batches {
		if err := fw.WriteBuffered(rec); err != nil {
			fw.Close()
			return err
		}
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fw.AppendKeyValueMetadata(k, meta[k]); err != nil {
			return err
		}
	}
	return fw.Close()
}
