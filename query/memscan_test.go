package query

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/hotcache"
	"github.com/miniodb/miniodb/ingest"
)

// flushedTable is a Source whose table t has Parquet files in a folder
// (which it also serves as the FileCache, counting pins) and buffered
// batches.
type flushedTable struct {
	dir      string
	schema   *arrow.Schema
	files    []catalog.File
	buffered []arrow.RecordBatch

	mu       sync.Mutex
	pins     map[string]int // key → Acquires not released yet
	acquired []string       // every key asked for, in order
}

func (f *flushedTable) Snapshot(_ context.Context, table string) (*ingest.Snapshot, error) {
	if table != "t" {
		return nil, ingest.ErrTableNotFound
	}
	return &ingest.Snapshot{Table: "t", Schema: f.schema, Files: slices.Clone(f.files), Batches: retained(f.buffered)}, nil
}

func (f *flushedTable) TableSchema(table string) (*arrow.Schema, error) {
	if table != "t" {
		return nil, ingest.ErrTableNotFound
	}
	return f.schema, nil
}

func (f *flushedTable) Acquire(_ context.Context, keys []string) ([]string, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	paths := make([]string, len(keys))
	for i, k := range keys {
		paths[i] = filepath.Join(f.dir, k)
		f.pins[k]++
	}
	f.acquired = append(f.acquired, keys...)
	var once sync.Once
	return paths, func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, k := range keys {
				f.pins[k]--
			}
		})
	}, nil
}

// takeAcquired returns the keys asked for since the last call.
func (f *flushedTable) takeAcquired() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := f.acquired
	f.acquired = nil
	return keys
}

// rowsBatch makes n rows starting at id from: id, s = "v<id>", f = id/2
// (NULL for every seventh row).
func rowsBatch(schema *arrow.Schema, from, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		switch sb := b.Field(1).(type) {
		case *array.StringBuilder:
			sb.Append(fmt.Sprintf("v%d", i))
		case *array.LargeStringBuilder:
			sb.Append(fmt.Sprintf("v%d", i))
		}
		if i%7 == 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Float64Builder).Append(float64(i) / 2)
		}
	}
	return b.NewRecordBatch()
}

// newFlushedTable writes three files of rows rows each, keeps the first
// inMemory of them in memory, and buffers 500 more rows.
func newFlushedTable(t *testing.T, str arrow.DataType, hot *hotcache.Cache, inMemory, rows int) *flushedTable {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: str, Nullable: true}, {Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	ft := emptyTable(t, schema)
	for i := range 3 {
		b := rowsBatch(schema, i*rows, rows)
		key := fmt.Sprintf("tables/t/%d.parquet", i)
		ft.addFile(t, key, b)
		if i < inMemory {
			hot.Put(key, []arrow.RecordBatch{b})
		}
		b.Release()
	}
	ft.buffered = []arrow.RecordBatch{rowsBatch(schema, 3*rows, 500)}
	t.Cleanup(func() { releaseBatches(ft.buffered) })
	return ft
}

// emptyTable is a flushedTable of schema with no files or rows yet; when
// the test ends (after its engines' Close) it checks that every scan
// unpinned what it pinned.
func emptyTable(t *testing.T, schema *arrow.Schema) *flushedTable {
	ft := &flushedTable{dir: t.TempDir(), schema: schema, pins: map[string]int{}}
	t.Cleanup(func() {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		for k, n := range ft.pins {
			if n != 0 {
				t.Errorf("%s is pinned %d times after the test", k, n)
			}
		}
	})
	return ft
}

// addFile writes b as the Parquet file of object key.
func (f *flushedTable) addFile(t *testing.T, key string, b arrow.RecordBatch) {
	t.Helper()
	path := filepath.Join(f.dir, key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := ingest.WriteParquet(w, f.schema, []arrow.RecordBatch{b}, nil); err != nil {
		t.Fatal(err)
	}
	f.files = append(f.files, catalog.File{Key: key, Table: "t", Rows: b.NumRows(), SchemaHash: ingest.SchemaHash(f.schema)})
}

// open opens an engine over f configured by cfg, with the test's folders
// and two threads; it is closed when the test ends.
func (f *flushedTable) open(t *testing.T, cfg Config) *Engine {
	t.Helper()
	cfg.CacheDir, cfg.TempDir, cfg.Threads = f.dir, t.TempDir(), 2
	e, err := Open(cfg, f, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// checkedCache is a memory cache whose allocations must all be released
// by the end of the test: every scan gave back what it took.
func checkedCache(t *testing.T) *hotcache.Cache {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	hot := hotcache.New(1<<30, mem)
	t.Cleanup(func() {
		for i := range 3 {
			hot.Forget(fmt.Sprintf("tables/t/%d.parquet", i))
		}
		mem.AssertSize(t, 0)
	})
	return hot
}

// rowStrings runs sql and returns its schema and its rows as sorted text.
func rowStrings(t *testing.T, e *Engine, sql string) (*arrow.Schema, []string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.Describe(ctx, sql, nil); err != nil { // what GetFlightInfo does first
		t.Fatalf("Describe(%q): %v", sql, err)
	}
	st, err := e.Query(ctx, sql, nil)
	if err != nil {
		t.Fatalf("Query(%q): %v", sql, err)
	}
	defer st.Close()
	var rows []string
	for st.Next() {
		rec := st.RecordBatch()
		if !rec.Schema().Equal(st.Schema()) {
			t.Fatalf("%q: batch schema %s, stream schema %s", sql, rec.Schema(), st.Schema())
		}
		for r := range int(rec.NumRows()) {
			var cells []string
			for _, c := range rec.Columns() {
				cells = append(cells, c.ValueStr(r))
			}
			// A string cell points into the batch's memory, which DuckDB's
			// C memory may be once the batch is released: keep a copy.
			rows = append(rows, strings.Clone(strings.Join(cells, "|")))
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("%q: %v", sql, err)
	}
	slices.Sort(rows)
	return st.Schema(), rows
}

// A verbatim scan answers the same rows and schema from memory as DuckDB
// does from the files, and uses memory only where the types allow.
func TestVerbatimScanFromMemory(t *testing.T) {
	cases := []struct {
		name     string
		str      arrow.DataType
		sql      string
		fromHeld bool // the files in memory were streamed from it
		inMemory int  // files in memory, of three (default 2)
	}{
		{"star", arrow.BinaryTypes.String, "SELECT * FROM t", true, 0},
		{"all_in_memory", arrow.BinaryTypes.String, "SELECT * FROM t", true, 3},
		{"columns", arrow.BinaryTypes.String, "SELECT s, id FROM t", true, 0},
		{"qualified_case", arrow.BinaryTypes.String, "SELECT T.F, ID FROM main.t AS T", true, 0},
		{"repeated_column", arrow.BinaryTypes.String, "SELECT id, id FROM t", true, 0},
		// DuckDB answers large_string as string: the types differ, so DuckDB reads everything.
		{"type_differs", arrow.BinaryTypes.LargeString, "SELECT * FROM t", false, 0},
		{"type_differs_other_column", arrow.BinaryTypes.LargeString, "SELECT id, f FROM t", true, 0},
		{"not_verbatim", arrow.BinaryTypes.String, "SELECT id FROM t WHERE id >= 0", false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hot := checkedCache(t)
			if tc.inMemory == 0 {
				tc.inMemory = 2
			}
			ft := newFlushedTable(t, tc.str, hot, tc.inMemory, 1000)
			plain, e := ft.open(t, Config{}), ft.open(t, Config{Memory: hot})
			wantSchema, want := rowStrings(t, plain, tc.sql)
			if len(want) != 3500 {
				t.Fatalf("DuckDB answered %d rows, want 3500", len(want))
			}
			before := hot.Stats().Hits
			gotSchema, got := rowStrings(t, e, tc.sql)
			if !gotSchema.Equal(wantSchema) {
				t.Fatalf("schema from memory %s, DuckDB's %s", gotSchema, wantSchema)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("rows differ: %d from memory, %d from DuckDB", len(got), len(want))
			}
			if used := hot.Stats().Hits - before; (used == int64(tc.inMemory)) != tc.fromHeld {
				t.Fatalf("%d files read from memory, want from memory: %v", used, tc.fromHeld)
			}
		})
	}
}

// The result caps hold for batches streamed from memory.
func TestVerbatimScanCapped(t *testing.T) {
	hot := checkedCache(t)
	ft := newFlushedTable(t, arrow.BinaryTypes.String, hot, 3, 1000)
	e := ft.open(t, Config{MaxResultRows: 1500, Memory: hot})
	ctx := context.Background()
	if _, err := e.Describe(ctx, "SELECT * FROM t", nil); err != nil {
		t.Fatal(err)
	}
	n, err := drain(ctx, t, e, "SELECT * FROM t")
	if !errors.Is(err, ErrResultTooLarge) || n > 1500 {
		t.Fatalf("streamed %d rows, err %v; want at most 1500 and ErrResultTooLarge", n, err)
	}
	if hot.Stats().Hits == 0 {
		t.Fatal("the scan did not read from memory")
	}
}

// A stream's first batch is cut to at most firstRows rows and about
// firstBytes, so that it passes a new stream's HTTP/2 window at once.
func TestFirstCut(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	wide := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil))
	defer wide.Release()
	for range 10 {
		wide.Field(0).(*array.StringBuilder).Append(strings.Repeat("x", 100<<10))
	}
	for _, tc := range []struct {
		name string
		b    arrow.RecordBatch
		max  int64 // the cut takes between 1 and max rows
		min  int64
	}{
		{name: "few narrow rows stay whole", b: rowsBatch(schema, 0, 100), min: 100, max: 100},
		{name: "many narrow rows: at most firstRows", b: rowsBatch(schema, 0, 5000), min: 1, max: firstRows},
		{name: "rows over 100 KiB: one", b: wide.NewRecordBatch(), min: 1, max: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.b.Release()
			n := firstCut(tc.b)
			if n < tc.min || n > tc.max {
				t.Fatalf("first cut of %d rows (%d bytes) = %d rows, want %d..%d", tc.b.NumRows(), ingest.BatchBytes(tc.b), n, tc.min, tc.max)
			}
			if n > 1 && ingest.BatchBytes(tc.b)*n/tc.b.NumRows() > firstBytes {
				t.Fatalf("first cut of %d rows holds about %d bytes, over %d", n, ingest.BatchBytes(tc.b)*n/tc.b.NumRows(), firstBytes)
			}
		})
	}
}
