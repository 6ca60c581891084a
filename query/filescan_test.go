package query

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"golang.org/x/sync/semaphore"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/hotcache"
	"github.com/miniodb/miniodb/ingest"
)

// countingAllocator counts allocations, to tell whether a scan decoded
// files itself, and checks that everything was released.
type countingAllocator struct {
	*memory.CheckedAllocator
	n    atomic.Int64
	peak atomic.Int64 // the most held at once
}

func (a *countingAllocator) Allocate(size int) []byte {
	a.n.Add(1)
	b := a.CheckedAllocator.Allocate(size)
	for held := int64(a.CurrentAlloc()); ; {
		p := a.peak.Load()
		if held <= p || a.peak.CompareAndSwap(p, held) {
			break
		}
	}
	return b
}

func newCounting(t *testing.T) *countingAllocator {
	a := &countingAllocator{CheckedAllocator: memory.NewCheckedAllocator(memory.NewGoAllocator())}
	t.Cleanup(func() { a.AssertSize(t, 0) })
	return a
}

// forgetAll drops the test table's files from hot, releasing what scans
// handed to it.
func forgetAll(hot *hotcache.Cache) {
	for i := range 3 {
		hot.Forget(fmt.Sprintf("tables/t/%d.parquet", i))
	}
}

// oneFileBytes is what one of newFlushedTable's files takes in memory.
func oneFileBytes(rows int) int64 {
	b := rowsBatch(arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil), 0, rows)
	defer b.Release()
	return ingest.BatchBytes(b)
}

// A verbatim scan of every column decodes the files not in memory itself,
// answers what DuckDB answers, and hands the decoded files to the memory
// cache while it has room, never evicting for them.
func TestVerbatimScanDecodesFiles(t *testing.T) {
	const rows = 40000 // three batches of fileBatchRows per file
	cases := []struct {
		name    string
		str     arrow.DataType
		sql     string
		room    int64 // memory cache bound
		decoded bool  // the scan decoded files itself
		kept    int   // files the cache holds after the scan
	}{
		{"star_warms_cache", arrow.BinaryTypes.String, "SELECT * FROM t", 1 << 30, true, 3},
		{"every_column_reordered", arrow.BinaryTypes.String, "SELECT f, s, id, id FROM t", 1 << 30, true, 3},
		{"room_for_one_file", arrow.BinaryTypes.String, "SELECT * FROM t", oneFileBytes(rows) * 3 / 2, true, 1},
		{"no_cache_room", arrow.BinaryTypes.String, "SELECT * FROM t", 0, true, 0},
		// DuckDB reads a subset faster than decoding every column.
		{"some_columns", arrow.BinaryTypes.String, "SELECT s, id FROM t", 1 << 30, false, 0},
		// DuckDB answers large_string as string: DuckDB reads everything.
		{"type_differs", arrow.BinaryTypes.LargeString, "SELECT * FROM t", 1 << 30, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alloc := newCounting(t)
			hot := hotcache.New(tc.room, nil)
			defer forgetAll(hot)
			ft := newFlushedTable(t, tc.str, hot, 0, rows)
			plain, e := ft.open(t, Config{}), ft.open(t, Config{Memory: hot, Allocator: alloc})
			wantSchema, want := rowStrings(t, plain, tc.sql)
			if len(want) != 3*rows+500 {
				t.Fatalf("DuckDB answered %d rows, want %d", len(want), 3*rows+500)
			}
			gotSchema, got := rowStrings(t, e, tc.sql)
			if !gotSchema.Equal(wantSchema) {
				t.Fatalf("schema %s, DuckDB's %s", gotSchema, wantSchema)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("rows differ: %d decoded, %d from DuckDB", len(got), len(want))
			}
			if decoded := alloc.n.Load() > 0; decoded != tc.decoded {
				t.Fatalf("decoded files: %v, want %v", decoded, tc.decoded)
			}
			if st := hot.Stats(); st.Entries != tc.kept || st.Bytes > st.MaxBytes {
				t.Fatalf("cache holds %d files (%d of %d bytes), want %d", st.Entries, st.Bytes, st.MaxBytes, tc.kept)
			}
			// The next scan streams the kept files from memory.
			before := hot.Stats().Hits
			if _, again := rowStrings(t, e, tc.sql); !slices.Equal(again, want) {
				t.Fatal("second scan answered other rows")
			}
			if hits := hot.Stats().Hits - before; hits != int64(tc.kept) {
				t.Fatalf("second scan read %d files from memory, want %d", hits, tc.kept)
			}
		})
	}
}

// A decoding scan copies each batch into the memory cache as it comes, so
// a decoder does not hold a whole file's batches until the file ends: the
// most its decoders hold at once is about the same whether the cache
// takes the files or has no room.
func TestVerbatimScanHoldsNoWholeFile(t *testing.T) {
	const rows = 600_000
	peak := map[int64]int64{}
	for _, room := range []int64{0, 1 << 30} {
		alloc := newCounting(t)
		hot := hotcache.New(room, nil)
		ft := newFlushedTable(t, arrow.BinaryTypes.String, hot, 0, rows)
		e := ft.open(t, Config{Memory: hot, Allocator: alloc})
		if _, got := rowStrings(t, e, "SELECT * FROM t"); len(got) != 3*rows+500 {
			t.Fatalf("%d rows, want %d", len(got), 3*rows+500)
		}
		if want := map[int64]int{0: 0, 1 << 30: 3}[room]; hot.Stats().Entries != want {
			t.Fatalf("a cache of %d bytes holds %d files, want %d", room, hot.Stats().Entries, want)
		}
		forgetAll(hot)
		peak[room] = alloc.peak.Load()
	}
	file := oneFileBytes(rows)
	// At most a run of small batches not joined yet (hotcache: 65536 rows,
	// about a ninth of a file here) may be held more.
	if more := peak[1<<30] - peak[0]; more > file/8 {
		t.Fatalf("filling the cache, the decoders held %d bytes more at once (%d against %d); a file is %d", more, peak[1<<30], peak[0], file)
	}
}

// A scan closed early stops its decoders and gives back every batch.
func TestVerbatimScanClosedEarly(t *testing.T) {
	alloc := newCounting(t)
	hot := hotcache.New(0, nil)
	ft := newFlushedTable(t, arrow.BinaryTypes.String, hot, 0, 100000)
	e := ft.open(t, Config{Memory: hot, Allocator: alloc})
	ctx := context.Background()
	if _, err := e.Describe(ctx, "SELECT * FROM t", nil); err != nil {
		t.Fatal(err)
	}
	st, err := e.Query(ctx, "SELECT * FROM t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Next() {
		t.Fatalf("no first batch: %v", st.Err())
	}
	st.Close()
	if alloc.n.Load() == 0 {
		t.Fatal("the scan did not decode the files")
	}
}

// A file that cannot be decoded ends the scan with an internal error
// naming it, after the rows before it, and is not kept in memory.
func TestVerbatimScanBrokenFile(t *testing.T) {
	alloc := newCounting(t)
	hot := hotcache.New(1<<30, nil)
	defer forgetAll(hot)
	ft := newFlushedTable(t, arrow.BinaryTypes.String, hot, 0, 1000)
	e := ft.open(t, Config{Memory: hot, Allocator: alloc})
	ctx := context.Background()
	if _, err := e.Describe(ctx, "SELECT * FROM t", nil); err != nil { // DuckDB reads the intact files
		t.Fatal(err)
	}
	broken := ft.files[1].Key
	if err := os.WriteFile(filepath.Join(ft.dir, broken), []byte("PAR1 not a parquet file PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := drain(ctx, t, e, "SELECT * FROM t")
	if !errors.Is(err, ErrInternal) || !strings.Contains(err.Error(), broken) {
		t.Fatalf("after %d rows: %v, want ErrInternal naming %s", n, err, broken)
	}
	if _, ok := hot.Get(broken); ok {
		t.Fatal("the broken file is kept in memory")
	}
}

// A first file without rows does not hold back the decoders of the
// others (they wait for the stream's first batch).
func TestVerbatimScanEmptyFirstFile(t *testing.T) {
	alloc := newCounting(t)
	hot := hotcache.New(0, nil)
	ft := newFlushedTable(t, arrow.BinaryTypes.String, hot, 0, 1000)
	empty := filepath.Join(ft.dir, ft.files[0].Key)
	w, err := os.Create(empty)
	if err != nil {
		t.Fatal(err)
	}
	if err := ingest.WriteParquet(w, ft.schema, nil, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	ft.files[0].Rows = 0
	e := ft.open(t, Config{Memory: hot, Allocator: alloc})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.Describe(ctx, "SELECT * FROM t", nil); err != nil {
		t.Fatal(err)
	}
	n, err := drain(ctx, t, e, "SELECT * FROM t")
	if err != nil || n != 2500 {
		t.Fatalf("streamed %d rows, err %v; want 2500", n, err)
	}
}

// A table whose files were written before LZ4_RAW became the flush's codec
// (snappy) reads the same through DuckDB and through the decoding scan,
// mixed with LZ4_RAW files: an upgraded node keeps reading what it wrote.
func TestFilesOfEitherCodec(t *testing.T) {
	const rows = 20000
	hot := hotcache.New(1<<30, nil)
	defer forgetAll(hot)
	ft := newFlushedTable(t, arrow.BinaryTypes.String, hot, 0, rows)
	old := filepath.Join(ft.dir, ft.files[1].Key)
	b := rowsBatch(ft.schema, rows, rows) // the rows newFlushedTable put there
	defer b.Release()
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(ft.schema, &buf, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	codecs := map[compress.Compression]bool{}
	for _, f := range ft.files {
		pr, err := file.OpenParquetFile(filepath.Join(ft.dir, f.Key), false)
		if err != nil {
			t.Fatal(err)
		}
		cc, err := pr.MetaData().RowGroup(0).ColumnChunk(0)
		if err != nil {
			t.Fatal(err)
		}
		codecs[cc.Compression()] = true
		pr.Close()
	}
	if !codecs[compress.Codecs.Snappy] || !codecs[compress.Codecs.Lz4Raw] {
		t.Fatalf("the table's files are compressed with %v, want snappy and LZ4_RAW", codecs)
	}
	alloc := newCounting(t)
	duck, decoding := ft.open(t, Config{}), ft.open(t, Config{Memory: hot, Allocator: alloc})
	for _, sql := range []string{"SELECT * FROM t", "SELECT s, id FROM t"} {
		_, want := rowStrings(t, duck, sql)
		if len(want) != 3*rows+500 {
			t.Fatalf("%s: DuckDB answered %d rows, want %d", sql, len(want), 3*rows+500)
		}
		if _, got := rowStrings(t, decoding, sql); !slices.Equal(got, want) {
			t.Fatalf("%s: the decoding engine answered %d rows, other than DuckDB's %d", sql, len(got), len(want))
		}
	}
	if alloc.n.Load() == 0 {
		t.Fatal("SELECT * did not decode the files itself")
	}
}

// A decoder holds at most its ahead bytes of batches the stream has not
// taken (a batch larger than that alone), and goes on as the stream takes
// them; the stream gets every file's batches in order.
func TestFileScanAheadBound(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	batch := func(first, rows int) arrow.RecordBatch {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		defer b.Release()
		for i := range rows {
			b.Append(int64(first + i))
		}
		col := b.NewArray()
		defer col.Release()
		return array.NewRecordBatch(schema, []arrow.Array{col}, int64(rows))
	}
	one := batch(0, 100)
	per := ingest.BatchBytes(one)
	one.Release()
	limit := 3 * per
	const files, perFile = 2, 5
	fs := &fileScan{files: make([]chan decoded, files), begun: make(chan struct{}),
		ahead: []*semaphore.Weighted{semaphore.NewWeighted(limit)}}
	fs.ctx, fs.cancel = context.WithCancel(context.Background())
	defer fs.close()
	for i := range fs.files {
		fs.files[i] = make(chan decoded, fileAheadBatches)
	}
	var sent atomic.Int64
	fs.wg.Add(1)
	go func() { // one decoder: every file, in order
		defer fs.wg.Done()
		for i, ch := range fs.files {
			sink := fileSink{ch: ch, ahead: fs.ahead[0], max: limit}
			for j := range perFile {
				rows := 100
				if i == 1 && j == 0 {
					rows = 1000 // larger than the bound: held alone
				}
				b := batch((i*perFile+j)*1000, rows)
				if err := sink.send(fs.ctx, b); err != nil {
					b.Release()
					break
				}
				sent.Add(1)
			}
			close(ch)
		}
	}()
	// settled waits for the decoder to stop at want batches sent.
	settled := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for sent.Load() < want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		if got := sent.Load(); got != want {
			t.Fatalf("decoder sent %d batches, want %d held", got, want)
		}
	}
	settled(3)
	var firsts []int64
	take := func() {
		t.Helper()
		b, err := fs.next()
		if err != nil || b == nil {
			t.Fatalf("next: %v, %v", b, err)
		}
		firsts = append(firsts, b.Column(0).(*array.Int64).Value(0))
		b.Release()
	}
	take()
	settled(4)
	take()
	take()
	take()
	take() // file 0 taken: file 1's large first batch goes alone
	settled(6)
	take()
	settled(9)
	for range 4 {
		take()
	}
	if b, err := fs.next(); b != nil || err != nil {
		t.Fatalf("after every batch: %v, %v", b, err)
	}
	want := []int64{0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000}
	if !slices.Equal(firsts, want) {
		t.Fatalf("batches in the order %v, want %v", firsts, want)
	}
}

// Describing a query (GetFlightInfo) fetches one file of each schema per
// table, not every file: the types are the same, and over a cold cache the
// rest would be downloaded before the client even asks for the rows.
func TestDescribeFetchesOneFilePerSchema(t *testing.T) {
	cases := []struct {
		name   string
		hashes []string // the files' schema hashes ("" keeps the real one)
		sql    string
		want   []string // the keys Describe fetches
	}{
		{"one_schema", nil, "SELECT * FROM t", []string{"tables/t/0.parquet"}},
		{"aggregate", nil, "SELECT count(*), sum(f) FROM t", []string{"tables/t/0.parquet"}},
		{"two_schemas", []string{"", "", "other"}, "SELECT * FROM t", []string{"tables/t/0.parquet", "tables/t/2.parquet"}},
		{"pruned_first", nil, "SELECT * FROM t WHERE id >= 2000", []string{"tables/t/2.parquet"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ft := newFlushedTable(t, arrow.BinaryTypes.String, hotcache.New(0, nil), 0, 1000)
			for i, h := range tc.hashes {
				if h != "" {
					ft.files[i].SchemaHash = h
				}
			}
			for i := range ft.files { // id ranges, for pruning
				ft.files[i].Stats = []catalog.ColumnStats{{Column: "id", Kind: catalog.StatsInt,
					Min: strconv.Itoa(i * 1000), Max: strconv.Itoa(i*1000 + 999)}}
			}
			e := ft.open(t, Config{})
			ctx := context.Background()
			st, err := e.Describe(ctx, tc.sql, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := ft.takeAcquired(); !slices.Equal(got, tc.want) {
				t.Fatalf("Describe fetched %v, want %v", got, tc.want)
			}
			// The rows come with the types described.
			rs, err := e.Query(ctx, tc.sql, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			for rs.Next() {
				if !rs.RecordBatch().Schema().Equal(st.Result) {
					t.Fatalf("batch schema %s, described %s", rs.RecordBatch().Schema(), st.Result)
				}
			}
			if err := rs.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A decoder fetches its next file while it decodes one, once the stream
// has its first batch, and unpins it (newFlushedTable checks) whether the
// scan ends or is closed early.
func TestVerbatimScanFetchesAhead(t *testing.T) {
	for _, early := range []bool{false, true} {
		t.Run(fmt.Sprintf("closed_early=%v", early), func(t *testing.T) {
			hot := hotcache.New(0, nil)
			ft := newFlushedTable(t, arrow.BinaryTypes.String, hot, 0, 40000)
			e := ft.open(t, Config{Memory: hot})
			ctx := context.Background()
			if _, err := e.Describe(ctx, "SELECT * FROM t", nil); err != nil {
				t.Fatal(err)
			}
			ft.takeAcquired()
			st, err := e.Query(ctx, "SELECT * FROM t", nil)
			if err != nil {
				t.Fatal(err)
			}
			var rows int64
			for st.Next() {
				rows += st.RecordBatch().NumRows()
				if early {
					break
				}
			}
			st.Close()
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
			if early {
				return
			}
			if rows != 3*40000+500 {
				t.Fatalf("%d rows, want %d", rows, 3*40000+500)
			}
			// Two decoders: the first decodes files 0 and 2, and fetches 2
			// while it decodes 0.
			got := ft.takeAcquired()
			slices.Sort(got)
			want := []string{"tables/t/0.parquet", "tables/t/1.parquet", "tables/t/2.parquet", "tables/t/2.parquet"}
			if !slices.Equal(got, want) {
				t.Fatalf("the scan fetched %v, want %v", got, want)
			}
		})
	}
}

// The disk cache keeps a file under its object key, whose folders look
// like Hive partitions (shard=0/date=...). DuckDB must not read them as
// columns: a table's own columns of those names keep their values.
func TestFilePathsAreNotPartitions(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "date", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "shard", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"yesterday", "today"}, nil)
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{7, 8}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	ft := emptyTable(t, schema)
	ft.addFile(t, "tables/t/shard=3/date=2026-11-26/0.parquet", rec)
	e := ft.open(t, Config{})
	for _, sql := range []string{
		"SELECT * FROM t",
		"SELECT id, date, shard FROM t WHERE id > 0",
		"SELECT count(*) FILTER (WHERE date = 'today' AND shard = 8) || ' ' || count(*) FROM t",
	} {
		_, rows := rowStrings(t, e, sql)
		want := []string{"1|yesterday|7", "2|today|8"}
		if strings.HasPrefix(sql, "SELECT count") {
			want = []string{"1 2"}
		}
		if !slices.Equal(rows, want) {
			t.Errorf("%s: %v, want %v", sql, rows, want)
		}
	}
}
