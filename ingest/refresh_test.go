package ingest

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
	"github.com/miniodb/miniodb/testenv"
)

// sharedNode is one node's ingest service over a catalog and bucket that
// other nodes share; its WAL and cache are its own.
type sharedNode struct {
	svc *Service
	cat *catalog.Redis
	dir string // its WAL and cache
}

// openSharedNode opens node n of a cluster sharing ns and objects, with a
// WAL and cache of its own in dir (a new folder if ""; an old one to
// restart the node). The first node gives the catalog its identity.
func openSharedNode(t *testing.T, redisAddr, ns, objects, node, dir string) *sharedNode {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.OpenRedis(ctx, catalog.RedisConfig{Addr: redisAddr, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	id, err := cat.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id == "" {
		id = catalog.NewID()
	}
	if err := cat.InitID(ctx, id); err != nil {
		t.Fatal(err)
	}
	bucket, err := objstore.NewFileBucket(objects)
	if err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	cache, err := objstore.NewCache(objstore.CacheConfig{Dir: filepath.Join(dir, "cache")}, bucket)
	if err != nil {
		t.Fatal(err)
	}
	// A refresh interval marks the catalog as shared (ingest re-checks the
	// table after each append); an hour keeps the background refresher
	// out of the test, which refreshes by hand.
	svc, err := Open(ctx, Config{WALDir: filepath.Join(dir, "wal"), NodeID: node, NoSync: true, FlushInterval: 1 << 40,
		RefreshInterval: time.Hour}, cat, bucket, cache, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close(context.Background())
		cat.Close()
	})
	return &sharedNode{svc: svc, cat: cat, dir: dir}
}

func (n *sharedNode) rows(t *testing.T, table string) (files, buffered int64) {
	t.Helper()
	sn, err := n.svc.Snapshot(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	for _, f := range sn.Files {
		files += f.Rows
	}
	return files, sn.Rows()
}

// Two nodes write one table in one Redis catalog and one bucket: each
// flushes at its own WAL positions (no stale-flush clash), each sees the
// other's files, columns and drop after a refresh, and a node's restart
// replays nothing twice.
func TestRefreshSharedCatalog(t *testing.T) {
	srv := testenv.Redis(t)
	ns := testenv.Name("ns")
	objects := t.TempDir()
	ctx := context.Background()
	a := openSharedNode(t, srv.Addr, ns, objects, "n1", "")
	b := openSharedNode(t, srv.Addr, ns, objects, "n2", "")
	if _, err := a.svc.CreateTable(ctx, "t", ddlSchema, catalog.TableConfig{}, false); err != nil {
		t.Fatal(err)
	}
	ea := &ddlEnv{t: t, svc: a.svc}
	eb := &ddlEnv{t: t, svc: b.svc}
	for i := range 5 {
		if err := ea.append("t", int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.svc.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.TableSchema("t"); err == nil {
		t.Fatal("node n2 knows the table before any refresh")
	}
	if err := b.svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if f, _ := b.rows(t, "t"); f != 5 {
		t.Fatalf("n2 sees %d flushed rows after a refresh, want 5", f)
	}
	// n2's WAL is at LSN ~2 while the table covers n1's LSN ~10: its flush
	// must not be refused as stale.
	if err := eb.append("t", 100, 101); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	tbl, err := a.cat.Table(ctx, "t")
	if err != nil || tbl.FlushedLSN("n1") == 0 || tbl.FlushedLSN("n2") == 0 {
		t.Fatalf("flushed positions %v, %v: want one per node", tbl.Flushed, err)
	}
	if err := a.svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if f, _ := a.rows(t, "t"); f != 7 {
		t.Fatalf("n1 sees %d flushed rows, want 7", f)
	}
	files, _ := a.cat.Files(ctx, "t")
	nodes := map[string]int{}
	for _, f := range files {
		nodes[f.Node]++
	}
	if nodes["n1"] == 0 || nodes["n2"] == 0 || len(nodes) != 2 {
		t.Fatalf("files by node %v", nodes)
	}

	// A restart of n2 replays its WAL: everything is flushed, nothing comes back.
	if err := eb.append("t", 102); err != nil { // one row left in n2's buffer
		t.Fatal(err)
	}
	b.crash()
	b2 := openSharedNode(t, srv.Addr, ns, objects, "n2", b.dir)
	if f, buf := b2.rows(t, "t"); f != 7 || buf != 1 {
		t.Fatalf("after n2's restart: %d rows in files, %d buffered; want 7 and 1", f, buf)
	}

	// A column another node added (its ingest widened the schema) and a
	// config it changed reach n2 with its next refresh.
	wider := arrow.NewSchema(append(ddlSchema.Fields(), arrow.Field{Name: "extra", Type: arrow.BinaryTypes.String, Nullable: true}), nil)
	if err := a.cat.UpdateTable(ctx, "t", wider, catalog.TableConfig{RetentionDays: 9}); err != nil {
		t.Fatal(err)
	}
	if err := b2.svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if sc, _ := b2.svc.TableSchema("t"); !sc.Equal(wider) {
		t.Fatalf("n2's schema after refresh: %v", sc)
	}

	// A drop on n1 reaches n2 with its next refresh.
	if _, err := a.svc.DropTable(ctx, "t", false); err != nil {
		t.Fatal(err)
	}
	if err := b2.svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b2.svc.TableSchema("t"); err == nil {
		t.Fatal("n2 still knows the table n1 dropped")
	}
}

// crash drops a node's service without flushing, as SIGKILL would.
func (n *sharedNode) crash() { crashService(n.svc) }

// A replace on one node reaches the rows another node holds of the old
// table: the other node's append that raced it is refused, its flush of old
// rows is refused, its refresh drops them, and its replay skips them.
func TestRefreshReplacedElsewhere(t *testing.T) {
	srv := testenv.Redis(t)
	ns := testenv.Name("ns")
	objects := t.TempDir()
	ctx := context.Background()
	a := openSharedNode(t, srv.Addr, ns, objects, "n1", "")
	b := openSharedNode(t, srv.Addr, ns, objects, "n2", "")
	if _, err := a.svc.CreateTable(ctx, "t", ddlSchema, catalog.TableConfig{}, false); err != nil {
		t.Fatal(err)
	}
	ea, eb := &ddlEnv{t: t, svc: a.svc}, &ddlEnv{t: t, svc: b.svc}
	if err := ea.append("t", 1, 2, 3); err != nil {
		t.Fatal(err)
	}
	if err := eb.append("t", 10, 11); err != nil { // n2 learns of the table and buffers two rows
		t.Fatal(err)
	}
	old, _ := a.cat.Table(ctx, "t")

	// n1 replaces the table.
	rec := ddlBatch(t, 100, 101)
	rdr, _ := array.NewRecordReader(ddlSchema, []arrow.RecordBatch{rec})
	if _, err := a.svc.Ingest(ctx, Request{Table: "t", IfMissing: FailIfMissing, IfExists: Replace, Batches: rdr}); err != nil {
		t.Fatal(err)
	}
	rdr.Release()
	rec.Release()
	now, _ := a.cat.Table(ctx, "t")
	if now.Incarnation == "" || now.Incarnation == old.Incarnation {
		t.Fatalf("incarnation %q after replace, was %q", now.Incarnation, old.Incarnation)
	}

	// n2 has not refreshed: its next append is durable but not acknowledged.
	if err := eb.append("t", 12); !errors.Is(err, ErrConflict) {
		t.Fatalf("append on n2 after n1's replace: %v, want ErrConflict", err)
	}
	// Its flush of the old rows is refused by the catalog.
	if err := b.svc.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	files, _ := a.cat.Files(ctx, "t")
	if len(files) != 0 {
		t.Fatalf("the replaced table got files %+v", files)
	}
	// Its refresh drops them.
	if err := b.svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if f, buf := b.rows(t, "t"); f != 0 || buf != 0 {
		t.Fatalf("n2 after refresh: %d rows in files, %d buffered; want none of the old table", f, buf)
	}
	if got := ea.ids("t"); len(got) != 2 || got[0] != 100 || got[1] != 101 {
		t.Fatalf("n1 holds %v, want [100 101]", got)
	}
	// New appends on n2 belong to the new table; a restart of n2 replays
	// those and none of the old ones.
	if err := eb.append("t", 200); err != nil {
		t.Fatal(err)
	}
	b.crash()
	b2 := openSharedNode(t, srv.Addr, ns, objects, "n2", b.dir)
	if got := (&ddlEnv{t: t, svc: b2.svc}).ids("t"); len(got) != 1 || got[0] != 200 {
		t.Fatalf("n2 replayed %v, want [200]", got)
	}
}

func ddlBatch(t *testing.T, ids ...int64) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, ddlSchema)
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).AppendNull()
	}
	return b.NewRecordBatch()
}
