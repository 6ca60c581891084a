package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

func writeLoadFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll drains a source and returns its batch sizes and the text of
// every row ("v1|v2|...").
func readSource(t *testing.T, src *source) (sizes []int64, rows []string) {
	t.Helper()
	for src.rdr.Next() {
		rec := src.rdr.RecordBatch()
		sizes = append(sizes, rec.NumRows())
		for i := range int(rec.NumRows()) {
			cells := make([]string, rec.NumCols())
			for j, col := range rec.Columns() {
				cells[j] = cellText(col, i)
			}
			rows = append(rows, strings.Join(cells, "|"))
		}
	}
	if err := src.rdr.Err(); err != nil {
		t.Fatal(err)
	}
	return sizes, rows
}

func TestCSVSource(t *testing.T) {
	var b strings.Builder
	b.WriteString("\xef\xbb\xbfid,price,ok,day,at,at_tz,name\n") // with a BOM
	for i := range 10 {
		price := fmt.Sprint(i) // integers first: the column must still become DOUBLE
		if i == 7 {
			price = "7.25"
		}
		name := fmt.Sprintf("n%d", i)
		if i == 3 {
			name = ""
		}
		fmt.Fprintf(&b, "%d,%s,%t,2024-01-%02d,2024-01-02 03:04:%02d,2024-01-02T03:04:05+01:00,%s\n", i, price, i%2 == 0, i+1, i, name)
	}
	src, err := openSource(context.Background(), writeLoadFile(t, "t.csv", b.String()), 4, "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	wantTypes := []arrow.DataType{
		arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Boolean, arrow.FixedWidthTypes.Date32,
		&arrow.TimestampType{Unit: arrow.Microsecond}, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, arrow.BinaryTypes.String,
	}
	for i, f := range src.rdr.Schema().Fields() {
		if !arrow.TypeEqual(f.Type, wantTypes[i]) {
			t.Errorf("column %s: type %s, want %s", f.Name, f.Type, wantTypes[i])
		}
	}
	if name := src.rdr.Schema().Field(0).Name; name != "id" {
		t.Errorf("first column = %q (BOM not skipped?)", name)
	}
	sizes, rows := readSource(t, src)
	if !slices.Equal(sizes, []int64{4, 4, 2}) || src.total != -1 {
		t.Errorf("batch sizes %v, total %d; want [4 4 2], -1", sizes, src.total)
	}
	if want := "3|3|false|2024-01-04|2024-01-02T03:04:03|2024-01-02T02:04:05Z|NULL"; rows[3] != want {
		t.Errorf("row 3 = %q, want %q", rows[3], want)
	}
	if want := "7|7.25|false|2024-01-08|2024-01-02T03:04:07|2024-01-02T02:04:05Z|n7"; rows[7] != want {
		t.Errorf("row 7 = %q, want %q", rows[7], want)
	}
}

func TestCSVDelimiterAndTSV(t *testing.T) {
	for _, tt := range []struct{ name, content, delim string }{
		{"semi.csv", "a;b\n1;x y\n2;z\n", ";"},
		{"tabs.tsv", "a\tb\n1\tx y\n2\tz\n", ""},
		{"tabs.csv", "a\tb\n1\tx y\n2\tz\n", `\t`},
	} {
		src, err := openSource(context.Background(), writeLoadFile(t, tt.name, tt.content), 100, tt.delim)
		if err != nil {
			t.Fatal(err)
		}
		_, rows := readSource(t, src)
		src.Close()
		if !slices.Equal(rows, []string{"1|x y", "2|z"}) {
			t.Errorf("%s: rows %q", tt.name, rows)
		}
	}
}

func TestCSVTypeBeyondSample(t *testing.T) {
	var b strings.Builder
	b.WriteString("n\n")
	for i := range csvSampleRows + 5 {
		fmt.Fprintln(&b, i)
	}
	b.WriteString("not a number\n")
	src, err := openSource(context.Background(), writeLoadFile(t, "late.csv", b.String()), 4096, "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for src.rdr.Next() {
	}
	if err := src.rdr.Err(); err == nil || !strings.Contains(err.Error(), "inferred from the first 1000 rows") {
		t.Errorf("err = %v", err)
	}
}

func TestInferCSVType(t *testing.T) {
	tests := []struct {
		values []string
		want   arrow.DataType
	}{
		{nil, arrow.BinaryTypes.String},
		{[]string{"1", "-2"}, arrow.PrimitiveTypes.Int64},
		{[]string{"1", "2.5", "1e3"}, arrow.PrimitiveTypes.Float64},
		{[]string{"true", "F"}, arrow.FixedWidthTypes.Boolean},
		{[]string{"2024-02-29"}, arrow.FixedWidthTypes.Date32},
		{[]string{"2024-02-29", "2024-02-29 10:00:00"}, &arrow.TimestampType{Unit: arrow.Microsecond}},
		{[]string{"2024-02-29T10:00:00Z"}, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{[]string{"2024-02-29T10:00:00Z", "2024-02-29 10:00:00"}, arrow.BinaryTypes.String},
		{[]string{"1", "x"}, arrow.BinaryTypes.String},
	}
	for _, tt := range tests {
		if got := inferCSVType(tt.values); !arrow.TypeEqual(got, tt.want) {
			t.Errorf("inferCSVType(%q) = %s, want %s", tt.values, got, tt.want)
		}
	}
}

func TestParseDelimiter(t *testing.T) {
	for in, want := range map[string]rune{"": ',', ";": ';', `\t`: '\t', "tab": '\t', "|": '|', "§": '§'} {
		if got, err := parseDelimiter(in); err != nil || got != want {
			t.Errorf("parseDelimiter(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{";;", `"`, "\n"} {
		if _, err := parseDelimiter(bad); err == nil {
			t.Errorf("parseDelimiter(%q) succeeded", bad)
		}
	}
}

func writeParquet(t *testing.T, nrows, rowGroupLen int) string {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range nrows {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row%d", i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "t.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(rowGroupLen)))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParquetSource(t *testing.T) {
	path := writeParquet(t, 10, 6) // row groups of 6 and 4 rows
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := pf.NumRowGroups(); n != 2 {
		t.Fatalf("test file has %d row groups, want 2", n)
	}
	pf.Close()

	src, err := openSource(context.Background(), path, 4, "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sizes, rows := readSource(t, src)
	if !slices.Equal(sizes, []int64{4, 4, 2}) || src.total != 10 {
		t.Errorf("batch sizes %v, total %d; want [4 4 2], 10", sizes, src.total)
	}
	if len(rows) != 10 || rows[0] != "0|row0" || rows[9] != "9|row9" {
		t.Errorf("rows = %q", rows)
	}
}

func TestUnsupportedSource(t *testing.T) {
	if _, err := openSource(context.Background(), writeLoadFile(t, "x.json", "{}"), 10, ""); err == nil {
		t.Error("opened a .json file")
	}
}
