package ingest

import (
	"context"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
)

// twoNodes is two services sharing one catalog and one bucket, as two
// nodes of a cluster do; node "a" ships its WAL.
type twoNodes struct {
	t      *testing.T
	dir    string
	cat    *catalog.Bolt
	bucket objstore.Bucket
	a, b   *Service
}

func openTwoNodes(t *testing.T) *twoNodes {
	dir := t.TempDir()
	cat, err := catalog.OpenBolt(filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := objstore.NewFileBucket(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	n := &twoNodes{t: t, dir: dir, cat: cat, bucket: bucket}
	n.a = n.open("a", true)
	n.b = n.open("b", false)
	t.Cleanup(func() {
		for _, s := range []*Service{n.a, n.b} {
			if s != nil {
				s.Close(context.Background())
			}
		}
		cat.Close()
	})
	return n
}

func (n *twoNodes) open(node string, ship bool) *Service {
	n.t.Helper()
	cache, err := objstore.NewCache(objstore.CacheConfig{Dir: filepath.Join(n.dir, "cache-"+node)}, n.bucket)
	if err != nil {
		n.t.Fatal(err)
	}
	svc, err := Open(context.Background(), Config{WALDir: filepath.Join(n.dir, "wal-"+node), NodeID: node, NoSync: true,
		FlushInterval: 1 << 40, ShipWAL: ship, Decisions: n.cat}, n.cat, n.bucket, cache, zap.NewNop())
	if err != nil {
		n.t.Fatal(err)
	}
	return svc
}

// fileRows is the rows of table's files in the catalog.
func (n *twoNodes) fileRows(table string) int64 {
	n.t.Helper()
	files, err := n.cat.Files(context.Background(), table)
	if err != nil {
		n.t.Fatal(err)
	}
	var rows int64
	for _, f := range files {
		rows += f.Rows
	}
	return rows
}

func ingestIDs(t *testing.T, s *Service, table string, ids ...int64) {
	t.Helper()
	rdr, err := idReader(ids...)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	if _, err := s.Ingest(context.Background(), Request{Table: table, IfMissing: FailIfMissing, IfExists: Append, Batches: rdr}); err != nil {
		t.Fatal(err)
	}
}

func prepareIDs(t *testing.T, s *Service, table, gid string, ids ...int64) {
	t.Helper()
	rdr, err := idReader(ids...)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	ctx := context.Background()
	st, err := s.Stage(ctx, Request{Table: table, IfMissing: FailIfMissing, IfExists: Append, Batches: rdr})
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.Prepare(ctx, gid))
}

// A node that ships its WAL and dies is adopted by another: its
// acknowledged unflushed rows, and a prepared part whose outcome is commit,
// land in files once; the node skips them when it returns, and when it was
// only cut off it drops them from its buffer and never flushes them again.
func TestShipAndAdopt(t *testing.T) {
	ctx := context.Background()
	n := openTwoNodes(t)
	if _, err := n.a.CreateTable(ctx, "t", ddlSchema, catalog.TableConfig{}, false); err != nil {
		t.Fatal(err)
	}
	ingestIDs(t, n.a, "t", 1, 2, 3, 4, 5)
	must(t, n.a.FlushAll(ctx))
	ingestIDs(t, n.a, "t", 6, 7, 8, 9)
	prepareIDs(t, n.a, "t", "g-commit", 20, 21)
	prepareIDs(t, n.a, "t", "g-open", 30)
	decide(t, n.cat, "g-commit", true)
	crashService(n.a)
	n.a = nil

	res, err := n.b.Adopt(ctx, "a")
	must(t, err)
	if res.Rows != 6 || n.fileRows("t") != 11 {
		t.Fatalf("adopted %+v; files hold %d rows, want 6 adopted and 11 in all", res, n.fileRows("t"))
	}
	if objs, err := listShipped(ctx, n.bucket, "a"); err != nil || len(objs) != 0 {
		t.Fatalf("shipped objects left after the adoption: %v, %v", objs, err)
	}
	if again, err := n.b.Adopt(ctx, "a"); err != nil || again.Rows != 0 {
		t.Fatalf("a second adoption: %+v, %v", again, err)
	}
	if got, err := n.cat.Decide(ctx, "g-open", true, 0); err != nil || got {
		t.Fatalf("the open part's outcome = %v, %v; want abort", got, err)
	}

	// node a returns: its replay skips what was adopted.
	n.a = n.open("a", true)
	sn, err := n.a.Snapshot(ctx, "t")
	must(t, err)
	if sn.Rows() != 0 {
		t.Fatalf("node a buffers %d rows after its return, want 0", sn.Rows())
	}
	sn.Release()

	// node a is cut off but alive: b adopts its new rows anyway. a drops
	// them at its refresh, and its flush adds nothing.
	ingestIDs(t, n.a, "t", 40, 41, 42)
	res, err = n.b.Adopt(ctx, "a")
	must(t, err)
	must(t, n.a.Refresh(ctx))
	must(t, n.a.FlushAll(ctx))
	if res.Rows != 3 || n.fileRows("t") != 14 {
		t.Fatalf("second adoption %+v; files hold %d rows, want 3 and 14", res, n.fileRows("t"))
	}
	// A flush that raced the adoption is refused whole.
	ingestIDs(t, n.a, "t", 50)
	must(t, n.a.FlushAll(ctx))
	if n.fileRows("t") != 15 {
		t.Fatalf("files hold %d rows, want 15", n.fileRows("t"))
	}
}
