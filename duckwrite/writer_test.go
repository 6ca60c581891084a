package duckwrite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Every type Supports accepts comes back from arrow-go's reader with its
// type, values and nulls, in more than one row group of LZ4_RAW column
// chunks, with the footer's key-value metadata; the types it refuses are
// refused.
func TestRoundTrip(t *testing.T) {
	cases := []struct {
		typ    arrow.DataType
		values string // JSON, as array.FromJSON reads it
		ok     bool   // Supports
	}{
		{arrow.FixedWidthTypes.Boolean, `[true, null, false]`, true},
		{arrow.PrimitiveTypes.Int8, `[-128, null, 127]`, true},
		{arrow.PrimitiveTypes.Int16, `[-32768, null, 32767]`, true},
		{arrow.PrimitiveTypes.Int32, `[-2147483648, null, 2147483647]`, true},
		{arrow.PrimitiveTypes.Int64, `[-9223372036854775808, null, 9223372036854775807]`, true},
		{arrow.PrimitiveTypes.Uint8, `[0, null, 255]`, true},
		{arrow.PrimitiveTypes.Uint16, `[0, null, 65535]`, true},
		{arrow.PrimitiveTypes.Uint32, `[0, null, 4294967295]`, true},
		{arrow.PrimitiveTypes.Uint64, `[0, null, 18446744073709551615]`, true},
		{arrow.PrimitiveTypes.Float32, `[-1.5, null, 3.25]`, true},
		{arrow.PrimitiveTypes.Float64, `[-1.5e300, null, 2.5]`, true},
		{arrow.BinaryTypes.String, `["a", null, "ü ' \" x"]`, true},
		{arrow.BinaryTypes.LargeString, `["a", null, ""]`, true},
		{arrow.BinaryTypes.Binary, `["AAE=", null, ""]`, true},
		{arrow.BinaryTypes.LargeBinary, `["AAE=", null, "/w=="]`, true},
		{arrow.FixedWidthTypes.Date32, `["1970-01-01", null, "2026-11-26"]`, true},
		{&arrow.Decimal128Type{Precision: 15, Scale: 2}, `["-12345678901.23", null, "0.01"]`, true},
		{&arrow.Decimal128Type{Precision: 38, Scale: 10}, `["-1234567890123456789012345678.0123456789", null, "1"]`, true},
		{&arrow.TimestampType{Unit: arrow.Second}, `["2026-11-26T01:02:03", null, "1900-01-01T00:00:00"]`, false},
		{&arrow.TimestampType{Unit: arrow.Millisecond}, `["2026-11-26T01:02:03.004", null, "1970-01-01T00:00:00"]`, true},
		{&arrow.TimestampType{Unit: arrow.Microsecond}, `["2026-11-26T01:02:03.000004", null, "1970-01-01T00:00:00"]`, true},
		{&arrow.TimestampType{Unit: arrow.Nanosecond}, `["2026-11-26T01:02:03.000000005", null, "1970-01-01T00:00:00"]`, true},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, `["2026-11-26T01:02:03.000004Z", null, "1970-01-01T00:00:00Z"]`, true},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "America/New_York"}, `["2026-11-26T01:02:03.000005Z", null, "1969-12-31T23:59:59.999Z"]`, true},
		{&arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, `["2026-11-26T01:02:03.000000005Z", null, "1970-01-01T00:00:00Z"]`, false},
		{&arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, `["2026-11-26T01:02:03.004Z", null, "1969-12-31T23:59:59.999Z"]`, false},
		{arrow.FixedWidthTypes.Time64us, `[1, null, 2]`, false},
		{&arrow.Decimal256Type{Precision: 40, Scale: 2}, `["1.00", null, "2.00"]`, false},
		{arrow.ListOf(arrow.PrimitiveTypes.Int64), `[[1], null, []]`, false},
	}
	w := openWriter(t)
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.typ.String(), "/", "_"), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
				{Name: "v", Type: tc.typ, Nullable: true}}, nil)
			if got := Supports(schema); got != tc.ok {
				t.Fatalf("Supports = %v, want %v", got, tc.ok)
			}
			if !tc.ok {
				return
			}
			var batches []arrow.RecordBatch
			for i := range 4 { // 4 batches of 3 rows, row groups of 5 rows
				col, _, err := array.FromJSON(mem, tc.typ, strings.NewReader(tc.values))
				if err != nil {
					t.Fatal(err)
				}
				kb := array.NewInt64Builder(mem)
				kb.AppendValues([]int64{int64(3 * i), int64(3*i + 1), int64(3*i + 2)}, nil)
				k := kb.NewArray()
				kb.Release()
				batches = append(batches, array.NewRecordBatch(schema, []arrow.Array{k, col}, 3))
				k.Release()
				col.Release()
			}
			defer func() {
				for _, b := range batches {
					b.Release()
				}
			}()
			path := filepath.Join(t.TempDir(), "f.parquet")
			if err := w.Write(context.Background(), path, schema, batches, 5, map[string]string{"miniodb.table": "t'x"}); err != nil {
				t.Fatal(err)
			}
			got, meta, groups := readBack(t, path)
			defer got.Release()
			if meta != "t'x" || groups < 2 {
				t.Fatalf("footer: miniodb.table %q, %d row groups; want t'x and several", meta, groups)
			}
			for i, f := range schema.Fields() { // the reader adds field ids as metadata
				if g := got.Schema().Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
					t.Fatalf("column %d read back as %s %s, written as %s %s", i, g.Name, g.Type, f.Name, f.Type)
				}
			}
			want := array.NewTableFromRecords(schema, batches)
			defer want.Release()
			for i := range schema.NumFields() {
				if !array.ChunkedEqual(got.Column(i).Data(), want.Column(i).Data()) {
					t.Fatalf("column %d differs:\ngot  %v\nwant %v", i, got.Column(i).Data().Chunks(), want.Column(i).Data().Chunks())
				}
			}
		})
	}
}

// A cancelled write stops with the context's error.
func TestWriteCancelled(t *testing.T) {
	w := openWriter(t)
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	for i := range 1 << 20 {
		b.Append(int64(i))
	}
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len()))
	col.Release()
	defer rec.Release()
	batches := make([]arrow.RecordBatch, 64) // 64 M rows: long enough to be interrupted
	for i := range batches {
		batches[i] = rec
	}
	for _, after := range []time.Duration{0, 20 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		if after == 0 {
			cancel()
		} else {
			time.AfterFunc(after, cancel)
		}
		err := w.Write(ctx, filepath.Join(t.TempDir(), "f.parquet"), schema, batches, 0, nil)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled after %v: %v, want context.Canceled", after, err)
		}
	}
}

// Columns whose names differ only in case are left to arrow-go.
func TestSupportsNames(t *testing.T) {
	i64 := arrow.PrimitiveTypes.Int64
	for _, tc := range []struct {
		names []string
		ok    bool
	}{{[]string{"a", "b"}, true}, {[]string{"a", "A"}, false}, {[]string{"Id", "ID", "x"}, false}} {
		fields := make([]arrow.Field, len(tc.names))
		for i, n := range tc.names {
			fields[i] = arrow.Field{Name: n, Type: i64, Nullable: true}
		}
		if got := Supports(arrow.NewSchema(fields, nil)); got != tc.ok {
			t.Errorf("Supports(%v) = %v, want %v", tc.names, got, tc.ok)
		}
	}
}

func readBack(t *testing.T, path string) (arrow.Table, string, int) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	pr, err := file.NewParquetReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	meta := ""
	if v := pr.MetaData().KeyValueMetadata().FindValue("miniodb.table"); v != nil {
		meta = *v
	}
	for g := range pr.NumRowGroups() {
		for c := range pr.MetaData().NumColumns() {
			cc, err := pr.MetaData().RowGroup(g).ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != compress.Codecs.Lz4Raw {
				t.Fatalf("row group %d column %d compressed with %v, want LZ4_RAW", g, c, cc.Compression())
			}
		}
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tbl, meta, pr.NumRowGroups()
}

// Writes from several goroutines at once (a flush writes its files in
// parallel) each get their own rows.
func TestConcurrentWrites(t *testing.T) {
	w := openWriter(t)
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := array.NewInt64Builder(memory.DefaultAllocator)
			defer b.Release()
			for j := range 10000 {
				b.Append(int64(i*10000 + j))
			}
			col := b.NewArray()
			defer col.Release()
			rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len()))
			defer rec.Release()
			errs[i] = w.Write(context.Background(), filepath.Join(dir, fmt.Sprintf("%d.parquet", i)), schema, []arrow.RecordBatch{rec}, 0, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		tbl, _, _ := readBack(t, filepath.Join(dir, fmt.Sprintf("%d.parquet", i)))
		col := tbl.Column(0).Data().Chunk(0).(*array.Int64)
		if tbl.NumRows() != 10000 || col.Value(0) != int64(i*10000) {
			t.Fatalf("file %d: %d rows starting at %d", i, tbl.NumRows(), col.Value(0))
		}
		tbl.Release()
	}
}

// openWriter opens a Writer closed when the test ends.
func openWriter(t *testing.T) *Writer {
	t.Helper()
	w, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}
