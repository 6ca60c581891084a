package api

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/protobuf/types/known/timestamppb"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
)

func TestJSONRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tsUTC := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tsNaive := &arrow.TimestampType{Unit: arrow.Second}
	dec := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "big", Type: arrow.PrimitiveTypes.Int64}, {Name: "f", Type: arrow.PrimitiveTypes.Float64},
		{Name: "s", Type: arrow.BinaryTypes.String}, {Name: "tz", Type: tsUTC}, {Name: "naive", Type: tsNaive},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32}, {Name: "dec", Type: dec},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)}, {Name: "f", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	when := time.Date(2024, 1, 2, 3, 4, 5, 600000000, time.UTC)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1 << 60, 0}, []bool{true, false})
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{0.1, math.NaN()}, nil)
	b.Field(2).(*array.StringBuilder).AppendValues([]string{"a\"<b>\n", "用户"}, nil)
	ts, _ := arrow.TimestampFromTime(when, arrow.Microsecond)
	b.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{ts, ts}, nil)
	b.Field(4).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(when.Unix()), 0}, nil)
	b.Field(5).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32FromTime(when), 0}, nil)
	b.Field(6).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(12345), decimal128.FromI64(-1)}, nil)
	lb := b.Field(7).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
	lb.AppendNull()
	b.Field(8).(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()

	var buf bytes.Buffer
	buf.WriteByte('[')
	w := newJSONRows(&buf, schema)
	if err := w.write(rec); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte(']')
	want := `[{"big":1152921504606846976,"f":0.1,"s":"a\"<b>\n","tz":"2024-01-02T03:04:05.6Z","naive":"2024-01-02T03:04:05","d":"2024-01-02","dec":123.45,"l":[1,2],"f_1":true},` +
		`{"big":null,"f":"NaN","s":"用户","tz":"2024-01-02T03:04:05.6Z","naive":"1970-01-01T00:00:00","d":"1970-01-01","dec":-0.01,"l":null,"f_1":false}]`
	if buf.String() != want {
		t.Errorf("got  %s\nwant %s", buf.String(), want)
	}
	if w.rows != 2 {
		t.Errorf("rows = %d, want 2", w.rows)
	}
	var parsed []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &parsed); err != nil {
		t.Errorf("not JSON: %v", err)
	}
}

func TestMarshalJSON(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	got := string(marshalJSON(&olapv1.DescribeTableResponse{TableInfo: &olapv1.TableInfo{
		Name: "t", CreatedAt: timestamppb.New(when),
		Config: &olapv1.TableConfig{BufferSize: 5, Properties: map[string]string{"b": "用户\u0001", "a": "x"}},
		Stats:  &olapv1.TableStats{RecordCount: 1 << 62},
	}}))
	want := `{"table_info":{"name":"t","config":{"buffer_size":5,"flush_interval_seconds":0,"retention_days":0,"backup_enabled":false,` +
		`"properties":{"a":"x","b":"用户\u0001"},"shard_key":"","time_column":""},"created_at":"2024-01-02T03:04:05Z","status":"",` +
		`"stats":{"record_count":4611686018427387904,"file_count":0,"size_bytes":0,"buffered_rows":0,"buffered_bytes":0},"columns":[]},"stats":null}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Error("not valid JSON")
	}
	// A oneof member that is not set is left out, as protojson does.
	if got := string(marshalJSON(&olapv1.RecoverDataRequest{Table: "t"})); got != `{"force_overwrite":false,"table":"t"}` {
		t.Errorf("oneof: %s", got)
	}
	if got := string(marshalJSON(&olapv1.ComponentHealth{LatencyMs: math.Inf(1)})); got != `{"name":"","status":"","message":"","latency_ms":"Infinity"}` {
		t.Errorf("infinity: %s", got)
	}
}

func TestSQLType(t *testing.T) {
	for sql, want := range map[string]string{
		"SELECT 1": "select", "  with x as (select 1) select * from x": "with", "(SELECT 1)": "select",
		"DROP TABLE t": "other", "": "other", "explain select 1": "explain", "SELECT(1)": "select",
	} {
		if got := sqlType(sql); got != want {
			t.Errorf("sqlType(%q) = %q, want %q", sql, got, want)
		}
	}
}
