package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var fmtSchema = arrow.NewSchema([]arrow.Field{
	{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "d", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

// fmtReader returns two batches: two rows with values, one row of nulls.
func fmtReader(mem memory.Allocator) array.RecordReader {
	b := array.NewRecordBuilder(mem, fmtSchema)
	defer b.Release()
	ts := time.Date(2024, 3, 1, 12, 34, 56, 789000000, time.UTC).UnixMicro()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, -20}, nil)
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{1.5, 1e20}, nil)
	b.Field(2).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(1250), decimal128.FromI64(-5)}, nil)
	b.Field(3).(*array.StringBuilder).AppendValues([]string{`héllo, "w"`, "a\tb"}, nil)
	b.Field(4).(*array.Date32Builder).AppendValues([]arrow.Date32{19783, 0}, nil)
	b.Field(5).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(ts), 0}, nil)
	b.Field(6).(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil)
	first := b.NewRecordBatch()
	defer first.Release()
	for _, f := range b.Fields() {
		f.AppendNull()
	}
	second := b.NewRecordBatch()
	defer second.Release()
	rdr, err := array.NewRecordReader(fmtSchema, []arrow.RecordBatch{first, second})
	if err != nil {
		panic(err) // cannot happen: the batches have fmtSchema
	}
	return rdr
}

func TestRenderText(t *testing.T) {
	tests := []struct{ format, want string }{
		{"table", `   i |     f |     d | s          | day        | ts                      | b
-----+-------+-------+------------+------------+-------------------------+------
   1 |   1.5 | 12.50 | héllo, "w" | 2024-03-01 | 2024-03-01T12:34:56.789 | true
 -20 | 1e+20 | -0.05 | a\tb       | 1970-01-01 | 1970-01-01T00:00:00     | false
NULL |  NULL |  NULL | NULL       | NULL       | NULL                    | NULL
(3 rows)
`},
		{"csv", `i,f,d,s,day,ts,b
1,1.5,12.50,"héllo, ""w""",2024-03-01,2024-03-01 12:34:56.789,true
-20,1e+20,-0.05,a	b,1970-01-01,1970-01-01 00:00:00,false
,,,,,,
`},
		{"json", `{"i":1,"f":1.5,"d":"12.50","s":"héllo, \"w\"","day":"2024-03-01","ts":"2024-03-01T12:34:56.789","b":true}
{"i":-20,"f":1e+20,"d":"-0.05","s":"a\tb","day":"1970-01-01","ts":"1970-01-01T00:00:00","b":false}
{"i":null,"f":null,"d":null,"s":null,"day":null,"ts":null,"b":null}
`},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			rdr := fmtReader(mem)
			defer rdr.Release()
			var out bytes.Buffer
			if err := render(rdr, tt.format, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", out.String(), tt.want)
			}
		})
	}
}

func TestRenderArrow(t *testing.T) {
	rdr := fmtReader(memory.DefaultAllocator)
	defer rdr.Release()
	var out bytes.Buffer
	if err := render(rdr, "arrow", &out); err != nil {
		t.Fatal(err)
	}
	back, err := ipc.NewReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Release()
	want := fmtReader(memory.DefaultAllocator)
	defer want.Release()
	if !back.Schema().Equal(fmtSchema) {
		t.Errorf("schema = %v", back.Schema())
	}
	for want.Next() {
		if !back.Next() {
			t.Fatalf("stream ended early: %v", back.Err())
		}
		if !array.RecordEqual(back.RecordBatch(), want.RecordBatch()) {
			t.Errorf("got %v, want %v", back.RecordBatch(), want.RecordBatch())
		}
	}
	if back.Next() {
		t.Error("extra batch in the stream")
	}
}

func TestRenderEmptyResult(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int32}, {Name: "b", Type: arrow.BinaryTypes.String}}, nil)
	tests := map[string]string{
		"table": "a | b\n--+--\n(0 rows)\n",
		"csv":   "a,b\n",
		"json":  "",
	}
	for format, want := range tests {
		rdr, err := array.NewRecordReader(schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := render(rdr, format, &out); err != nil || out.String() != want {
			t.Errorf("%s: got %q, %v; want %q", format, out.String(), err, want)
		}
		rdr.Release()
	}
}

// Types arrow's CSV writer lacks go through the fallback instead of panicking.
func TestCSVFallbackTypes(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "t", Type: arrow.FixedWidthTypes.Time64us, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Time64Builder).AppendValues([]arrow.Time64{arrow.Time64(3723 * 1e6)}, nil)
	b.Field(0).AppendNull()
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	defer rdr.Release()
	var out bytes.Buffer
	if err := render(rdr, "csv", &out); err != nil || out.String() != "t\n01:02:03.000000\n\n" {
		t.Errorf("got %q, %v", out.String(), err)
	}
}

func TestJSONFloatSpecials(t *testing.T) {
	for _, tt := range []struct {
		f    float64
		want string
	}{{0.1, "0.1"}, {-3, "-3"}, {math.NaN(), `"NaN"`}, {math.Inf(1), `"+Inf"`}, {math.Inf(-1), `"-Inf"`}} {
		if got := string(appendFloat(nil, tt.f)); got != tt.want {
			t.Errorf("appendFloat(%v) = %s, want %s", tt.f, got, tt.want)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if validFormat("xml") {
		t.Error("xml accepted")
	}
	if _, err := newSink("xml", nil, fmtSchema); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("err = %v", err)
	}
}
