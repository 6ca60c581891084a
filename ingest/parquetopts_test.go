package ingest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// String and integer columns whose leading values are mostly distinct lose
// the dictionary; repetitive ones, nulls aside, and other types keep it.
func TestMostlyDistinct(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "comment", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "flag", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "sparse", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "key", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "line", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range 10000 {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("comment %d", i))
		b.Field(1).(*array.StringBuilder).Append([]string{"A", "N", "R"}[i%3])
		b.Field(2).(*array.Int64Builder).Append(int64(i))
		if i%10 == 0 {
			b.Field(3).(*array.StringBuilder).Append(fmt.Sprint(i % 30))
		} else {
			b.Field(3).AppendNull()
		}
		b.Field(4).(*array.Int64Builder).Append(int64(i / 4)) // repeats four times, like l_orderkey
		b.Field(5).(*array.Int32Builder).Append(int32(i % 7))
		b.Field(6).(*array.Float64Builder).Append(float64(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	for i, want := range []bool{true, false, true, false, false, false, false} {
		if got := mostlyDistinct([]arrow.RecordBatch{rec}, i); got != want {
			t.Errorf("column %s: mostlyDistinct = %v, want %v", schema.Field(i).Name, got, want)
		}
	}
}

// arrow-go's writer compresses every column chunk with LZ4_RAW, as
// DuckDB's does for the flush (duckwrite).
func TestWriteParquetCodec(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range 1000 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("name %d", i%10))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	if err := WriteParquet(&buf, schema, []arrow.RecordBatch{rec}, nil); err != nil {
		t.Fatal(err)
	}
	pr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	for c := range pr.MetaData().NumColumns() {
		cc, err := pr.MetaData().RowGroup(0).ColumnChunk(c)
		if err != nil {
			t.Fatal(err)
		}
		if cc.Compression() != compress.Codecs.Lz4Raw {
			t.Errorf("column %d compressed with %v, want LZ4_RAW", c, cc.Compression())
		}
	}
}
