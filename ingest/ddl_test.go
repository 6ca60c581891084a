package ingest

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
)

// ddlEnv is a service over a bbolt catalog and a file bucket in one
// folder, reopenable to test replay.
type ddlEnv struct {
	t   *testing.T
	dir string
	cat *catalog.Bolt
	svc *Service
}

func openDDLEnv(t *testing.T, dir string) *ddlEnv {
	t.Helper()
	cat, svc := openService(t, dir, Config{})
	e := &ddlEnv{t: t, dir: dir, cat: cat, svc: svc}
	t.Cleanup(e.close)
	return e
}

// openService opens a service over a bbolt catalog, a file bucket and a
// cache in dir, with cfg's hooks, no fsync and no timed flushes.
func openService(t *testing.T, dir string, cfg Config) (*catalog.Bolt, *Service) {
	t.Helper()
	cat, err := catalog.OpenBolt(filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := objstore.NewFileBucket(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := objstore.NewCache(objstore.CacheConfig{Dir: filepath.Join(dir, "cache")}, bucket)
	if err != nil {
		t.Fatal(err)
	}
	cfg.WALDir, cfg.NoSync, cfg.FlushInterval = filepath.Join(dir, "wal"), true, 1<<40
	if cfg.Decisions == nil {
		cfg.Decisions = cat
	}
	svc, err := Open(context.Background(), cfg, cat, bucket, cache, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return cat, svc
}

// flushedTable creates table name with rows 1, 2, 3 flushed to Parquet and
// returns its files.
func (e *ddlEnv) flushedTable(name string) []catalog.File {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.svc.CreateTable(ctx, name, ddlSchema, catalog.TableConfig{}, false); err != nil {
		e.t.Fatal(err)
	}
	if err := e.append(name, 1, 2, 3); err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.FlushAll(ctx); err != nil {
		e.t.Fatal(err)
	}
	files, err := e.cat.Files(ctx, name)
	if err != nil || len(files) == 0 {
		e.t.Fatalf("files after flush: %v %v", files, err)
	}
	return files
}

// crash drops the service without flushing (its WAL stays as written).
func (e *ddlEnv) crash() {
	crashService(e.svc)
	e.cat.Close()
	e.svc = nil
}

// crashService stops s as SIGKILL would: nothing is flushed and its WAL
// stays as written.
func crashService(s *Service) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	<-s.refreshDone
	s.wal.Close()
}

func (e *ddlEnv) close() {
	if e.svc != nil {
		e.svc.Close(context.Background())
		e.cat.Close()
		e.svc = nil
	}
}

var ddlSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_us},
}, nil)

func (e *ddlEnv) append(table string, ids ...int64) error {
	rdr, err := idReader(ids...)
	if err != nil {
		return err
	}
	defer rdr.Release()
	_, err = e.svc.Ingest(context.Background(), Request{Table: table, IfMissing: FailIfMissing, IfExists: Append, Batches: rdr})
	return err
}

// idReader is one batch of ddlSchema rows with the given ids.
func idReader(ids ...int64) (array.RecordReader, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, ddlSchema)
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).AppendNull()
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewRecordReader(ddlSchema, []arrow.RecordBatch{rec})
}

// ids returns the ids buffered or flushed for table, in LSN order.
func (e *ddlEnv) ids(table string) []int64 {
	e.t.Helper()
	sn, err := e.svc.Snapshot(context.Background(), table)
	if err != nil {
		e.t.Fatal(err)
	}
	defer sn.Release()
	if len(sn.Files) > 0 {
		e.t.Fatalf("table %s has %d flushed files; these tests read buffers only", table, len(sn.Files))
	}
	var out []int64
	for _, b := range sn.Batches {
		col := b.Column(0).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			out = append(out, col.Value(i))
		}
	}
	return out
}

func TestCreateTable(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		table       string
		cfg         catalog.TableConfig
		ifNotExists bool
		want        error
	}{
		{name: "created", table: "t1", cfg: catalog.TableConfig{BufferSize: 10, ShardKey: "id", TimeColumn: "ts"}},
		{name: "exists", table: "t0", want: ErrTableExists},
		{name: "exists_if_not_exists", table: "t0", ifNotExists: true},
		{name: "bad_name", table: "1t", want: ErrInvalid},
		{name: "reserved_prefix", table: "duckdb_x", want: ErrInvalid},
		{name: "shard_key_not_a_column", table: "t2", cfg: catalog.TableConfig{ShardKey: "nope"}, want: ErrInvalid},
		{name: "time_column_not_a_time", table: "t3", cfg: catalog.TableConfig{TimeColumn: "id"}, want: ErrInvalid},
		{name: "negative_buffer", table: "t4", cfg: catalog.TableConfig{BufferSize: -1}, want: ErrInvalid},
	}
	e := openDDLEnv(t, t.TempDir())
	if _, err := e.svc.CreateTable(ctx, "t0", ddlSchema, catalog.TableConfig{}, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			created, err := e.svc.CreateTable(ctx, tc.table, ddlSchema, tc.cfg, tc.ifNotExists)
			if !errors.Is(err, tc.want) || (tc.want != nil) == (err == nil) {
				t.Fatalf("CreateTable(%s) = %v, want %v", tc.table, err, tc.want)
			}
			if err != nil {
				return
			}
			got, err := e.cat.Table(ctx, tc.table)
			if err != nil {
				t.Fatal(err)
			}
			if created != (tc.table != "t0") || got.Config.BufferSize != tc.cfg.BufferSize || got.Config.ShardKey != tc.cfg.ShardKey {
				t.Fatalf("created=%v catalog entry %+v", created, got)
			}
			if !got.Schema.Field(0).Nullable {
				t.Fatalf("column id is not nullable: %v", got.Schema)
			}
		})
	}
}

func TestDropTable(t *testing.T) {
	ctx := context.Background()
	e := openDDLEnv(t, t.TempDir())
	e.flushedTable("t")
	if err := e.append("t", 4); err != nil {
		t.Fatal(err)
	}
	if dropped, err := e.svc.DropTable(ctx, "t", false); err != nil || !dropped {
		t.Fatalf("DropTable = %v, %v", dropped, err)
	}
	if _, err := e.cat.Table(ctx, "t"); !errors.Is(err, catalog.ErrTableNotFound) {
		t.Fatalf("catalog still has t: %v", err)
	}
	if _, err := e.svc.Snapshot(ctx, "t"); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("Snapshot after drop: %v", err)
	}
	if n := e.svc.buffered.Load(); n != 0 {
		t.Fatalf("%d bytes still buffered after the drop", n)
	}
	if err := e.append("t", 5); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("ingest into dropped table: %v", err)
	}
	if dropped, err := e.svc.DropTable(ctx, "t", true); err != nil || dropped {
		t.Fatalf("DropTable IF EXISTS of a missing table = %v, %v", dropped, err)
	}
	if _, err := e.svc.DropTable(ctx, "t", false); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("DropTable of a missing table: %v", err)
	}
}

// TestDropRecreateReplaysOnlyNewRows is the exactly-once case of DDL: the
// WAL still holds the dropped table's records when a table of the same
// name is created, and a crash replays only the new table's rows.
func TestDropRecreateReplaysOnlyNewRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openDDLEnv(t, dir)
	if _, err := e.svc.CreateTable(ctx, "t", ddlSchema, catalog.TableConfig{}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.append("t", 1, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DropTable(ctx, "t", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateTable(ctx, "t", ddlSchema, catalog.TableConfig{}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.append("t", 10); err != nil {
		t.Fatal(err)
	}
	if err := e.append("gone", 7); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("append to a missing table: %v", err)
	}
	e.crash()
	e = openDDLEnv(t, dir)
	if got := e.ids("t"); len(got) != 1 || got[0] != 10 {
		t.Fatalf("after replay t has ids %v, want [10]", got)
	}
}

// TestDropDuringIngest drops a table while an ingest into it is between
// its DATA records and its COMMIT: the ingest must fail and leave nothing
// that replay could apply to a new table of the same name.
func TestDropDuringIngest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openDDLEnv(t, dir)
	if _, err := e.svc.CreateTable(ctx, "t", ddlSchema, catalog.TableConfig{}, false); err != nil {
		t.Fatal(err)
	}
	rdr := &dropOnEOF{env: e, ids: []int64{1, 2, 3}}
	_, err := e.svc.Ingest(ctx, Request{Table: "t", IfMissing: FailIfMissing, IfExists: Append, Batches: rdr})
	if !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("ingest across a drop: %v, want ErrTableNotFound", err)
	}
	if got := e.ids("t"); len(got) != 0 {
		t.Fatalf("re-created table has ids %v", got)
	}
	e.crash()
	e = openDDLEnv(t, dir)
	if got := e.ids("t"); len(got) != 0 {
		t.Fatalf("after replay the re-created table has ids %v", got)
	}
}

// dropOnEOF yields one batch, then drops and re-creates the table before
// reporting the end of the stream (so before the ingest's COMMIT).
type dropOnEOF struct {
	env  *ddlEnv
	ids  []int64
	rec  arrow.RecordBatch
	done bool
}

func (d *dropOnEOF) Schema() *arrow.Schema { return ddlSchema }

func (d *dropOnEOF) Next() bool {
	if d.rec != nil {
		d.rec.Release()
		d.rec = nil
	}
	if d.done {
		ctx := context.Background()
		if _, err := d.env.svc.DropTable(ctx, "t", false); err != nil {
			d.env.t.Error(err)
		}
		if _, err := d.env.svc.CreateTable(ctx, "t", ddlSchema, catalog.TableConfig{}, false); err != nil {
			d.env.t.Error(err)
		}
		return false
	}
	d.done = true
	b := array.NewRecordBuilder(memory.DefaultAllocator, ddlSchema)
	defer b.Release()
	for _, id := range d.ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).AppendNull()
	}
	d.rec = b.NewRecordBatch()
	return true
}

func (d *dropOnEOF) RecordBatch() arrow.RecordBatch { return d.rec }
func (d *dropOnEOF) Err() error                     { return nil }
