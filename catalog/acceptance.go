package catalog

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// AcceptanceTest checks that a backend keeps the Catalog contract. newCatalog
// must return an empty catalog; it is called once per subtest.
func AcceptanceTest(t *testing.T, newCatalog func(t *testing.T) Catalog) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	wider := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	tbl := Table{Name: "t1", Schema: schema, Incarnation: "inc-1", Config: TableConfig{BufferSize: 10, Properties: map[string]string{"owner": "me"}}, CreatedAt: time.Unix(1700000000, 0).UTC()}
	ctx := context.Background()
	file := func(key string, lsn uint64) File {
		return File{Key: key, Table: "t1", Partition: 1, Day: "2024-01-02", Rows: 3, Bytes: 100, MinLSN: lsn, MaxLSN: lsn}
	}

	t.Run("create_get_list", func(t *testing.T) {
		c := newCatalog(t)
		mustOK(t, c.CreateTable(ctx, tbl))
		mustOK(t, c.CreateTable(ctx, Table{Name: "a0", Schema: schema}))
		got, err := c.Table(ctx, "t1")
		mustOK(t, err)
		if got.Name != "t1" || !got.Schema.Equal(schema) || got.Config.BufferSize != 10 || got.Config.Properties["owner"] != "me" || !got.CreatedAt.Equal(tbl.CreatedAt) || got.Incarnation != "inc-1" {
			t.Fatalf("Table = %+v", got)
		}
		all, err := c.Tables(ctx)
		mustOK(t, err)
		if len(all) != 2 || all[0].Name != "a0" || all[1].Name != "t1" {
			t.Fatalf("Tables = %v, want [a0 t1]", names(all))
		}
	})
	t.Run("create_existing_fails", func(t *testing.T) {
		c := newCatalog(t)
		mustOK(t, c.CreateTable(ctx, tbl))
		wantErr(t, c.CreateTable(ctx, tbl), ErrTableExists)
	})
	t.Run("missing_table", func(t *testing.T) {
		c := newCatalog(t)
		_, err := c.Table(ctx, "nope")
		wantErr(t, err, ErrTableNotFound)
		_, err = c.Files(ctx, "nope")
		wantErr(t, err, ErrTableNotFound)
		_, err = c.DropTable(ctx, "nope")
		wantErr(t, err, ErrTableNotFound)
		wantErr(t, c.CommitFlush(ctx, "nope", "n1", nil, 1), ErrTableNotFound)
		wantErr(t, c.UpdateTable(ctx, "nope", schema, TableConfig{}), ErrTableNotFound)
		_, err = c.ReplaceTable(ctx, "nope", "n1", "inc-2", schema, 1)
		wantErr(t, err, ErrTableNotFound)
	})
	t.Run("commit_flush_is_atomic_and_monotonic", func(t *testing.T) {
		c := newCatalog(t)
		mustOK(t, c.CreateTable(ctx, tbl))
		mustOK(t, c.CommitFlush(ctx, "t1", "n1", []File{file("k2", 5), file("k1", 4)}, 5))
		wantErr(t, c.CommitFlush(ctx, "t1", "n1", []File{file("k3", 5)}, 5), ErrStaleFlush)
		files, err := c.Files(ctx, "t1")
		mustOK(t, err)
		if len(files) != 2 || files[0].Key != "k1" || files[1].Key != "k2" || files[0].Rows != 3 {
			t.Fatalf("Files = %+v", files)
		}
		got, _ := c.Table(ctx, "t1")
		if got.FlushedLSN("n1") != 5 {
			t.Fatalf("FlushedLSN = %d, want 5", got.FlushedLSN("n1"))
		}
	})
	t.Run("flushed_is_per_node", func(t *testing.T) {
		c := newCatalog(t)
		mustOK(t, c.CreateTable(ctx, Table{Name: "t1", Schema: schema, Flushed: map[string]uint64{"n1": 7}}))
		// Each node's WAL has its own LSNs: n2's flush at LSN 3 is not stale
		// because n1 is at 7.
		mustOK(t, c.CommitFlush(ctx, "t1", "n2", []File{file("k1", 3)}, 3))
		wantErr(t, c.CommitFlush(ctx, "t1", "n1", []File{file("k2", 7)}, 7), ErrStaleFlush)
		mustOK(t, c.CommitFlush(ctx, "t1", "n1", []File{file("k3", 8)}, 8))
		// A flush of n1 whose rows start at or below what the table covers
		// (another node replayed n1's shipped WAL) is refused whole.
		overlap := File{Key: "k4", Table: "t1", Node: "n1", MinLSN: 8, MaxLSN: 12}
		wantErr(t, c.CommitFlush(ctx, "t1", "n1", []File{file("k5", 12), overlap}, 12), ErrStaleFlush)
		got, _ := c.Table(ctx, "t1")
		if got.FlushedLSN("n1") != 8 || got.FlushedLSN("n2") != 3 || got.FlushedLSN("n3") != 0 || len(got.Flushed) != 2 {
			t.Fatalf("Flushed = %v", got.Flushed)
		}
		// A replace by n2 moves n2's entry and keeps n1's.
		_, err := c.ReplaceTable(ctx, "t1", "n2", "inc-2", schema, 10)
		mustOK(t, err)
		got, _ = c.Table(ctx, "t1")
		if got.FlushedLSN("n1") != 8 || got.FlushedLSN("n2") != 10 {
			t.Fatalf("after replace by n2: Flushed = %v", got.Flushed)
		}
	})
	t.Run("update_keeps_files", func(t *testing.T) {
		c := newCatalog(t)
		mustOK(t, c.CreateTable(ctx, tbl))
		mustOK(t, c.CommitFlush(ctx, "t1", "n1", []File{file("k1", 2)}, 2))
		mustOK(t, c.UpdateTable(ctx, "t1", wider, TableConfig{BufferSize: 99}))
		got, _ := c.Table(ctx, "t1")
		files, _ := c.Files(ctx, "t1")
		if !got.Schema.Equal(wider) || got.Config.BufferSize != 99 || got.FlushedLSN("n1") != 2 || len(files) != 1 {
			t.Fatalf("after update: %+v files=%d", got, len(files))
		}
	})
	t.Run("replace_clears_files", func(t *testing.T) {
		c := newCatalog(t)
		mustOK(t, c.CreateTable(ctx, tbl))
		mustOK(t, c.CommitFlush(ctx, "t1", "n1", []File{file("k1", 2)}, 2))
		removed, err := c.ReplaceTable(ctx, "t1", "n1", "inc-2", wider, 9)
		mustOK(t, err)
		files, _ := c.Files(ctx, "t1")
		got, _ := c.Table(ctx, "t1")
		if len(removed) != 1 || len(files) != 0 || got.FlushedLSN("n1") != 9 || !got.Schema.Equal(wider) {
			t.Fatalf("after replace: removed=%d files=%d table=%+v", len(removed), len(files), got)
		}
		wantErr(t, c.CommitFlush(ctx, "t1", "n1", []File{file("old", 3)}, 3), ErrStaleFlush)
		// A file of the table's previous life is refused at any LSN.
		if got.Incarnation != "inc-2" {
			t.Fatalf("incarnation after replace = %q, want inc-2", got.Incarnation)
		}
		old := file("old", 20)
		old.Incarnation = "inc-1"
		wantErr(t, c.CommitFlush(ctx, "t1", "n1", []File{old}, 20), ErrStaleFlush)
		cur := file("cur", 21)
		cur.Incarnation = "inc-2"
		mustOK(t, c.CommitFlush(ctx, "t1", "n1", []File{cur}, 21))
	})
	t.Run("drop_returns_files", func(t *testing.T) {
		c := newCatalog(t)
		mustOK(t, c.CreateTable(ctx, tbl))
		mustOK(t, c.CommitFlush(ctx, "t1", "n1", []File{file("k1", 2)}, 2))
		removed, err := c.DropTable(ctx, "t1")
		mustOK(t, err)
		if len(removed) != 1 {
			t.Fatalf("DropTable removed %d files, want 1", len(removed))
		}
		_, err = c.Table(ctx, "t1")
		wantErr(t, err, ErrTableNotFound)
		mustOK(t, c.CreateTable(ctx, tbl)) // the name is free again, with no files
		files, _ := c.Files(ctx, "t1")
		if len(files) != 0 {
			t.Fatalf("recreated table has %d files", len(files))
		}
	})
	t.Run("version_increases", func(t *testing.T) {
		c := newCatalog(t)
		v0, err := c.Version(ctx)
		mustOK(t, err)
		mustOK(t, c.CreateTable(ctx, tbl))
		v1, _ := c.Version(ctx)
		mustOK(t, c.CommitFlush(ctx, "t1", "n1", []File{file("k1", 2)}, 2))
		v2, _ := c.Version(ctx)
		if !(v0 < v1 && v1 < v2) {
			t.Fatalf("versions %d %d %d do not increase", v0, v1, v2)
		}
	})
	t.Run("replace_files_swaps_atomically", func(t *testing.T) {
		c := newCatalog(t)
		mustOK(t, c.CreateTable(ctx, tbl))
		mustOK(t, c.CommitFlush(ctx, "t1", "n1", []File{file("k1", 2), file("k2", 3), file("k3", 4)}, 4))
		v0, _ := c.Version(ctx)
		merged := file("m12", 3)
		merged.Rows, merged.MinLSN = 6, 2
		removed, err := c.ReplaceFiles(ctx, "t1", []string{"k1", "k2"}, []File{merged})
		mustOK(t, err)
		files, _ := c.Files(ctx, "t1")
		got, _ := c.Table(ctx, "t1")
		v1, _ := c.Version(ctx)
		if len(removed) != 2 || removed[0].Key != "k1" || len(files) != 2 || files[0].Key != "k3" || files[1].Key != "m12" ||
			files[1].Rows != 6 || got.FlushedLSN("n1") != 4 || v1 <= v0 {
			t.Fatalf("after swap: removed=%+v files=%+v flushed=%d versions %d %d", removed, files, got.FlushedLSN("n1"), v0, v1)
		}
		// A source already gone: nothing changes.
		_, err = c.ReplaceFiles(ctx, "t1", []string{"k3", "k1"}, []File{file("m13", 4)})
		wantErr(t, err, ErrFilesChanged)
		files, _ = c.Files(ctx, "t1")
		if len(files) != 2 || files[0].Key != "k3" {
			t.Fatalf("a refused swap changed the files: %+v", files)
		}
		// Retention: remove only.
		removed, err = c.ReplaceFiles(ctx, "t1", []string{"k3"}, nil)
		mustOK(t, err)
		files, _ = c.Files(ctx, "t1")
		if len(removed) != 1 || len(files) != 1 || files[0].Key != "m12" {
			t.Fatalf("after removal: removed=%+v files=%+v", removed, files)
		}
		_, err = c.ReplaceFiles(ctx, "nope", nil, nil)
		wantErr(t, err, ErrTableNotFound)
	})
	t.Run("membership_leases", func(t *testing.T) {
		c := newCatalog(t)
		m, ok := c.(Membership)
		if !ok {
			t.Fatalf("%T does not implement Membership", c)
		}
		v0, err := c.Version(ctx)
		mustOK(t, err)
		started := time.Unix(1700000000, 0).UTC()
		b := Node{ID: "node-b", Addr: "10.0.0.2:8080", RESTAddr: "10.0.0.2:8081", Version: "v1", StartedAt: started}
		a := Node{ID: "node-a", Addr: "10.0.0.1:8080", StartedAt: started}
		mustOK(t, m.Heartbeat(ctx, b, time.Minute))
		mustOK(t, m.Heartbeat(ctx, a, 700*time.Millisecond))
		nodes, err := m.Nodes(ctx)
		mustOK(t, err)
		if len(nodes) != 2 || nodes[0].ID != "node-a" || nodes[1].ID != "node-b" ||
			nodes[0].State != NodeUp || nodes[1].State != NodeUp ||
			nodes[1].Addr != b.Addr || nodes[1].RESTAddr != b.RESTAddr || nodes[1].Version != "v1" || !nodes[1].StartedAt.Equal(started) {
			t.Fatalf("Nodes = %+v", nodes)
		}
		b.Draining = true
		mustOK(t, m.Heartbeat(ctx, b, time.Minute))
		time.Sleep(900 * time.Millisecond) // node-a's lease runs out
		nodes, err = m.Nodes(ctx)
		mustOK(t, err)
		if len(nodes) != 2 || nodes[0].State != NodeDown || nodes[1].State != NodeDraining {
			t.Fatalf("after node-a's lease expired and node-b drains: %+v", nodes)
		}
		if rd, ok := c.(interface {
			RemoveDown(context.Context, string) (bool, error)
		}); !ok {
			t.Fatalf("%T has no RemoveDown", c)
		} else if gone, err := rd.RemoveDown(ctx, "node-b"); err != nil || gone {
			t.Fatalf("RemoveDown of a live node = %v, %v", gone, err)
		}
		mustOK(t, m.Heartbeat(ctx, a, time.Minute)) // back
		mustOK(t, m.Leave(ctx, "node-b"))
		mustOK(t, m.Leave(ctx, "never-was"))
		nodes, err = m.Nodes(ctx)
		mustOK(t, err)
		if len(nodes) != 1 || nodes[0].ID != "node-a" || nodes[0].State != NodeUp {
			t.Fatalf("after node-a renewed and node-b left: %+v", nodes)
		}
		mustOK(t, m.Heartbeat(ctx, Node{ID: "node-x", Addr: "x:1", WALShipped: true}, 300*time.Millisecond))
		time.Sleep(500 * time.Millisecond)
		nodes, err = m.Nodes(ctx)
		mustOK(t, err)
		if len(nodes) != 2 || nodes[1].ID != "node-x" || !nodes[1].WALShipped || nodes[1].State != NodeDown {
			t.Fatalf("node-x after its lease: %+v", nodes)
		}
		rd := c.(interface {
			RemoveDown(context.Context, string) (bool, error)
		})
		if gone, err := rd.RemoveDown(ctx, "node-x"); err != nil || !gone {
			t.Fatalf("RemoveDown of a down node = %v, %v", gone, err)
		}
		wantErr(t, m.Heartbeat(ctx, Node{ID: "bad id", Addr: "x:1"}, time.Minute), ErrBadNode)
		wantErr(t, m.Heartbeat(ctx, Node{ID: "no-addr"}, time.Minute), ErrBadNode)
		wantErr(t, m.Heartbeat(ctx, a, 0), ErrBadNode)
		if v, _ := c.Version(ctx); v != v0 {
			t.Fatalf("membership changed the catalog version from %d to %d", v0, v)
		}
	})
	t.Run("decisions_first_outcome_wins", func(t *testing.T) {
		c := newCatalog(t)
		d, ok := c.(Decisions)
		if !ok {
			t.Fatalf("%T does not implement Decisions", c)
		}
		for _, tc := range []struct {
			id           string
			first, later bool
		}{{"t-commit", true, false}, {"t-abort", false, true}} {
			got, err := d.Decide(ctx, tc.id, tc.first, time.Minute)
			mustOK(t, err)
			if got != tc.first {
				t.Fatalf("%s: first Decide(%v) = %v", tc.id, tc.first, got)
			}
			if got, err = d.Decide(ctx, tc.id, tc.later, time.Minute); err != nil || got != tc.first {
				t.Fatalf("%s: later Decide(%v) = %v, %v; want the first outcome %v", tc.id, tc.later, got, err, tc.first)
			}
			mustOK(t, d.Forget(ctx, tc.id))
			if got, err = d.Decide(ctx, tc.id, tc.later, time.Minute); err != nil || got != tc.later {
				t.Fatalf("%s: Decide after Forget = %v, %v; want %v", tc.id, got, err, tc.later)
			}
		}
		if _, err := d.Decide(ctx, "", true, time.Minute); err == nil {
			t.Fatal("Decide accepted an empty id")
		}
	})
}

func names(ts []Table) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, fmt.Sprint(want))
	}
}
