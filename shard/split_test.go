package shard

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
)

// cluster is a table's state across three nodes as plain data: the
// registry, the file list and each node's buffer (one row per node, its
// id's length) with the WAL position its files reach.
type cluster struct {
	nodes []catalog.Node
	files []catalog.File
	cut   map[string]uint64
	down  map[string]bool // pulls fail
}

var testSchema = arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)

func (c *cluster) Nodes(context.Context) ([]catalog.Node, error) { return c.nodes, nil }
func (c *cluster) Table(context.Context, string) (catalog.Table, error) {
	return catalog.Table{Name: "t"}, nil
}
func (c *cluster) Files(context.Context, string) ([]catalog.File, error) { return c.files, nil }

func (c *cluster) buffer(node string) *ingest.Snapshot {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Append(int64(len(node)))
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(testSchema, []arrow.Array{col}, 1)
	return &ingest.Snapshot{Table: "t", Schema: testSchema, Node: node, FlushedLSN: c.cut[node], Batches: []arrow.RecordBatch{rec}}
}

func (c *cluster) Buffer(_ context.Context, node, _, _ string) (*ingest.Snapshot, error) {
	if c.down[node] {
		return nil, errors.New("connection refused")
	}
	return c.buffer(node), nil
}

// local is node "a"'s own ingest service.
type local struct{ c *cluster }

func (l local) Snapshot(context.Context, string) (*ingest.Snapshot, error) {
	return l.c.buffer("a"), nil
}
func (l local) TableSchema(string) (*arrow.Schema, error) { return testSchema, nil }

// newCluster: a (this node) and b up, c down; gone left long ago. Files:
// a@3, a@9 (beyond a's cut 5), b@2, c@4, gone@1.
func newCluster() *cluster {
	return &cluster{
		nodes: []catalog.Node{{ID: "a", Addr: "ha:1", State: catalog.NodeUp}, {ID: "b", Addr: "hb:1", State: catalog.NodeDraining},
			{ID: "c", Addr: "hc:1", State: catalog.NodeDown}},
		files: []catalog.File{{Key: "a3", Node: "a", MaxLSN: 3}, {Key: "a9", Node: "a", MaxLSN: 9}, {Key: "b2", Node: "b", MaxLSN: 2},
			{Key: "c4", Node: "c", MaxLSN: 4}, {Key: "gone1", Node: "gone", MaxLSN: 1}},
		cut:  map[string]uint64{"a": 5, "b": 2},
		down: map[string]bool{"c": true},
	}
}

// summary names a snapshot's files and buffered nodes (by their one row).
func summary(sn *ingest.Snapshot) string {
	var keys []string
	for _, f := range sn.Files {
		keys = append(keys, f.Key)
	}
	var rows []string
	for _, b := range sn.Batches {
		rows = append(rows, fmt.Sprint(b.Column(0).(*array.Int64).Value(0)))
	}
	return strings.Join(keys, ",") + " | " + strings.Join(rows, ",")
}

// The Reader reads exactly the part a scope names: the listed nodes'
// buffers with their files up to each cut, and all files of the
// files-only writers; a down node fails the query unless Partial.
func TestReaderScope(t *testing.T) {
	tests := []struct {
		name  string
		scope *Scope
		want  string // files | one row per buffer read (1 = any of a, b, c)
		err   string
	}{
		{"whole_fails_on_down_node", nil, "", "c (hc:1) is down"},
		{"whole_partial", &Scope{Partial: true}, "a3,b2,c4,gone1 | 1,1", ""},
		{"own_part", &Scope{Buffers: []string{"a"}, Files: []string{"gone"}}, "a3,gone1 | 1", ""},
		{"other_node_part", &Scope{Buffers: []string{"b"}}, "b2 | 1", ""},
		{"down_node_part", &Scope{Buffers: []string{"c"}}, "", "c (hc:1) is down"},
		{"down_node_part_partial", &Scope{Buffers: []string{"c"}, Partial: true}, "c4 | ", ""},
		{"files_only", &Scope{Files: []string{"c", "gone"}}, "c4,gone1 | ", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster()
			r := &Reader{Self: "a", Local: local{c}, Peers: c, Files: c, Registry: c}
			ctx := context.Background()
			if tc.scope != nil {
				ctx = WithScope(ctx, *tc.scope)
			}
			sn, err := r.Snapshot(ctx, "t")
			if tc.err != "" {
				if !errors.Is(err, ErrNodeUnavailable) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Snapshot = %v, want ErrNodeUnavailable naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer sn.Release()
			if got := summary(sn); got != tc.want {
				t.Fatalf("Snapshot = %q, want %q", got, tc.want)
			}
		})
	}
}

// An unreachable node that is still listed up fails the query, or with
// Partial is read from its files only.
func TestReaderScopeUnreachable(t *testing.T) {
	c := newCluster()
	c.down["b"] = true
	r := &Reader{Self: "a", Local: local{c}, Peers: c, Files: c, Registry: c}
	_, err := r.Snapshot(WithScope(context.Background(), Scope{Buffers: []string{"b"}}), "t")
	if !errors.Is(err, ErrNodeUnavailable) || !strings.Contains(err.Error(), "on b") {
		t.Fatalf("Snapshot = %v, want ErrNodeUnavailable naming b", err)
	}
	sn, err := r.Snapshot(WithScope(context.Background(), Scope{Buffers: []string{"b"}, Partial: true}), "t")
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	if got := summary(sn); got != "b2 | " {
		t.Fatalf("Snapshot = %q, want b's files only", got)
	}
}

// Split gives every up or draining node a part, puts the files of writers
// that are not live in this node's part, and refuses a down node unless
// partial results are allowed.
func TestSplit(t *testing.T) {
	c := newCluster()
	s := &Splitter{Self: "a", Scheme: "grpc+tls", Files: c, Registry: c}
	_, err := s.Split(context.Background(), "t", false)
	if !errors.Is(err, ErrNodeUnavailable) || !strings.Contains(err.Error(), "c (hc:1) is down") {
		t.Fatalf("Split with node c down = %v, want ErrNodeUnavailable naming c", err)
	}
	parts, err := s.Split(context.Background(), "t", true)
	if err != nil {
		t.Fatal(err)
	}
	want := []Part{
		{Node: "a", Location: "grpc+tls://ha:1", Local: true, Scope: Scope{Buffers: []string{"a"}, Files: []string{"c", "gone"}, Partial: true}},
		{Node: "b", Location: "grpc+tls://hb:1", Scope: Scope{Buffers: []string{"b"}, Partial: true}},
	}
	if !reflect.DeepEqual(parts, want) {
		t.Fatalf("Split =\n  %+v\nwant\n  %+v", parts, want)
	}

	// The parts read every file once, and each buffer once.
	c.down = map[string]bool{}
	r := &Reader{Self: "a", Local: local{c}, Peers: c, Files: c, Registry: c}
	var files []string
	for _, p := range parts {
		sn, err := r.Snapshot(WithScope(context.Background(), p.Scope), "t")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range sn.Files {
			files = append(files, f.Key)
		}
		if sn.Rows() != 1 {
			t.Errorf("part of %s reads %d buffered rows, want its node's 1", p.Node, sn.Rows())
		}
		sn.Release()
	}
	slices.Sort(files)
	if strings.Join(files, ",") != "a3,b2,c4,gone1" {
		t.Fatalf("the parts read files %v, want a3,b2,c4,gone1 once each", files)
	}
}
