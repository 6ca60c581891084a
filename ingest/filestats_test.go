package ingest

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/miniodb/miniodb/catalog"
)

func TestFileStats(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Millisecond}},
		{Name: "s", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{7, -3, 0, 42}, []bool{true, true, false, true})
	b.Field(1).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{5, 1, 9, 2}, nil)
	b.Field(2).(*array.StringBuilder).AppendValues([]string{"b", "a", "c", "d"}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	got := fmt.Sprint(fileStats(schema, catalog.TableConfig{}, []arrow.RecordBatch{rec}))
	want := "[{id int -3 42 true} {timestamp time 1000 9000 false}]"
	if got != want {
		t.Errorf("default columns: %s, want %s", got, want)
	}
	got = fmt.Sprint(fileStats(schema, catalog.TableConfig{ShardKey: "s", TimeColumn: "nope"}, []arrow.RecordBatch{rec}))
	if want := "[{s string a d false}]"; got != want {
		t.Errorf("shard key s: %s, want %s", got, want)
	}
}
