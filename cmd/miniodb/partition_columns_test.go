package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestColumnsNamedLikeFileFolders: a flushed file's object key has
// shard=N/date=D folders; a table's own columns named date and shard read
// back as ingested, by DuckDB and by the decoding scan, not as the
// folders' values.
func TestColumnsNamedLikeFileFolders(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, cfg, "buffer:\n  buffer_size: 1000\n  flush_interval: 200ms\n")
	s := startAPIServer(t, t.TempDir(), "--config", cfg)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "date", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "shard", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"yesterday", "today"}, nil)
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{70, 80}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	_, err := ingestRecs(context.Background(), s.flight, "p", modeCreateAppend, rec)
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "flush", func() bool {
		return strings.Contains(metricsText(t, s.rest), `miniodb_table_buffered_rows{table="p"} 0`)
	})
	want := []string{"1|yesterday|70", "2|today|80"}
	for _, sql := range []string{"SELECT * FROM p WHERE true", "SELECT id, date, shard FROM p", "SELECT * FROM p"} {
		if _, got := sortedRows(t, s, sql); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", sql, got, want)
		}
	}
}
