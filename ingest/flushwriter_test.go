package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/duckwrite"
)

// The flush writes with Config.Parquet (DuckDB) the schemas it supports
// and with arrow-go the others; either file holds the rows, the table's
// Arrow types and the footer metadata a catalog rebuild reads.
func TestFlushParquetWriter(t *testing.T) {
	dw, err := duckwrite.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer dw.Close()
	supported := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "d", Type: &arrow.Decimal128Type{Precision: 15, Scale: 2}, Nullable: true}}, nil)
	unsupported := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "t", Type: arrow.FixedWidthTypes.Time64us, Nullable: true}}, nil)
	cases := []struct {
		name    string
		writer  ParquetWriter
		schema  *arrow.Schema
		creator string // the file's created_by starts with it
	}{
		{"duckdb", dw, supported, "DuckDB"},
		{"unsupported_schema", dw, unsupported, "miniodb"},
		{"no_writer", nil, supported, "miniodb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cat, svc := openService(t, dir, Config{Parquet: tc.writer})
			defer cat.Close()
			defer svc.Close(context.Background())
			ctx := context.Background()
			rec := sampleBatch(t, tc.schema, 1000)
			defer rec.Release()
			rdr, err := array.NewRecordReader(tc.schema, []arrow.RecordBatch{rec})
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Release()
			if _, err := svc.Ingest(ctx, Request{Table: "t", IfMissing: CreateIfMissing, IfExists: Append, Batches: rdr}); err != nil {
				t.Fatal(err)
			}
			if err := svc.FlushAll(ctx); err != nil {
				t.Fatal(err)
			}
			files, err := cat.Files(ctx, "t")
			if err != nil || len(files) == 0 {
				t.Fatalf("files: %v, %v", files, err)
			}
			var rows int64
			for _, f := range files {
				rows += checkFile(t, filepath.Join(dir, "objects", f.Key), tc.schema, tc.creator, f)
			}
			if rows != 1000 {
				t.Fatalf("files hold %d rows, want 1000", rows)
			}
		})
	}
}

// sampleBatch makes n rows of schema's columns, every fifth value NULL.
func sampleBatch(t *testing.T, schema *arrow.Schema, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		for j, f := range schema.Fields() {
			if i%5 == 4 && j > 0 {
				b.Field(j).AppendNull()
				continue
			}
			switch fb := b.Field(j).(type) {
			case *array.Int64Builder:
				fb.Append(int64(i))
			case *array.StringBuilder:
				fb.Append(strings.Repeat("x", i%7))
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromI64(int64(i) * 101))
			case *array.Time64Builder:
				fb.Append(arrow.Time64(i))
			default:
				t.Fatalf("no sample values for %s", f.Type)
			}
		}
	}
	return b.NewRecordBatch()
}

// checkFile reads a flushed file back and returns its rows.
func checkFile(t *testing.T, path string, schema *arrow.Schema, creator string, f catalog.File) int64 {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if by := pf.MetaData().GetCreatedBy(); !strings.HasPrefix(by, creator) {
		t.Fatalf("%s written by %q, want %s", f.Key, by, creator)
	}
	for _, k := range []string{"miniodb.table", "miniodb.partition", "miniodb.day", "miniodb.min_lsn", "miniodb.max_lsn", "miniodb.node"} {
		if pf.MetaData().KeyValueMetadata().FindValue(k) == nil {
			t.Fatalf("%s: footer has no %s", f.Key, k)
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), fh, nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	for i, want := range schema.Fields() {
		if got := tbl.Schema().Field(i); got.Name != want.Name || !arrow.TypeEqual(got.Type, want.Type) {
			t.Fatalf("%s: column %d is %s %s, want %s %s", f.Key, i, got.Name, got.Type, want.Name, want.Type)
		}
	}
	if tbl.NumRows() != f.Rows {
		t.Fatalf("%s holds %d rows, the catalog says %d", f.Key, tbl.NumRows(), f.Rows)
	}
	return tbl.NumRows()
}
