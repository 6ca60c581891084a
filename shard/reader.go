package shard

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/errgroup"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
)

// ErrNodeUnavailable is returned when a query needs the buffered rows of a
// node that cannot be reached: rather a clear failure naming the node than
// an answer missing acknowledged rows.
var ErrNodeUnavailable = errors.New("node unavailable")

// LocalSource is this node's own view of a table (ingest.Service).
type LocalSource interface {
	Snapshot(ctx context.Context, table string) (*ingest.Snapshot, error)
	TableSchema(table string) (*arrow.Schema, error)
}

// BufferPuller fetches another node's buffered rows of a table, cut at a
// WAL position (flight.Peers).
type BufferPuller interface {
	Buffer(ctx context.Context, node, addr, table string) (*ingest.Snapshot, error)
}

// FileLister reads a table and its current files from the shared catalog.
type FileLister interface {
	Table(ctx context.Context, name string) (catalog.Table, error)
	Files(ctx context.Context, table string) ([]catalog.File, error)
}

// NodeReader reads the registry as it is now (catalog.Membership).
type NodeReader interface {
	Nodes(ctx context.Context) ([]catalog.Node, error)
}

// Reader gives a query the whole of a table across the cluster: every
// file in the catalog plus the buffered rows of every node, cut
// consistently. Each node's buffer is pulled first, with the WAL position
// its files reach at that moment; the file list is read after the pulls,
// and a node's files beyond its cut are left out because their rows are in
// the pulled buffer. So a row acknowledged before the query started is in
// the answer exactly once, whichever node took it and whether or not it
// was flushed meanwhile.
//
// The registry is read for every snapshot, not taken from the cached
// membership: a node that joined a moment ago may already have
// acknowledged rows.
//
// A node that is down (its lease expired) may hold acknowledged rows in
// its WAL that no one can read until it returns: a query fails with
// ErrNodeUnavailable naming it, unless its Scope allows partial results. A
// node that left cleanly flushed first.
//
// A Scope in the context (WithScope) narrows all of this to one part of
// the table: only the listed nodes' buffers are read or pulled, only
// their files and those of the files-only writers are listed, and only a
// listed node that is down fails the query.
type Reader struct {
	Self     string // this node's ID
	Local    LocalSource
	Peers    BufferPuller
	Files    FileLister
	Registry NodeReader
}

// TableSchema implements query.Source.
func (r *Reader) TableSchema(table string) (*arrow.Schema, error) {
	return r.Local.TableSchema(table)
}

// Snapshot implements query.Source. It reads the part of the table the
// context's Scope names (WithScope; the whole table if none): the buffers
// of the nodes in Scope.Buffers, this node's locally and the others pulled,
// and the files of those nodes and of Scope.Files, each node's cut at its
// buffer's position.
func (r *Reader) Snapshot(ctx context.Context, table string) (*ingest.Snapshot, error) {
	sc := scopeFrom(ctx)
	local, err := r.Local.Snapshot(ctx, table)
	if err != nil {
		return nil, err
	}
	others, err := r.peersToPull(ctx, table, sc)
	if err != nil {
		local.Release()
		return nil, err
	}
	if len(others) == 0 && sc.Whole() {
		return local, nil // alone: this node's own view of the files will do
	}
	pulled, err := r.pull(ctx, table, others, sc.Partial)
	release := func() {
		local.Release()
		for _, sn := range pulled {
			if sn != nil {
				sn.Release()
			}
		}
	}
	if err != nil {
		release()
		return nil, err
	}
	cur, err := r.Files.Table(ctx, local.Table)
	if err != nil {
		release()
		return nil, fmt.Errorf("table %s: %w", table, err)
	}
	files, err := r.Files.Files(ctx, local.Table)
	if err != nil {
		release()
		return nil, fmt.Errorf("files of %s: %w", table, err)
	}
	return r.merge(sc, cur, local, pulled, files), nil
}

// peersToPull lists the other nodes whose buffers the scope reads. A node
// that is down may hold acknowledged rows in its write-ahead log: the query
// fails naming it, unless the scope allows partial results.
func (r *Reader) peersToPull(ctx context.Context, table string, sc Scope) ([]catalog.Node, error) {
	nodes, err := r.Registry.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the cluster's nodes: %w", err)
	}
	var others []catalog.Node
	for _, n := range nodes {
		if n.ID == r.Self || !sc.readsBuffer(n.ID) {
			continue
		}
		if n.State == catalog.NodeDown {
			if sc.Partial {
				continue
			}
			return nil, fmt.Errorf("%w: %s (%s) is down and may hold acknowledged rows of %s in its write-ahead log; query again when it is back",
				ErrNodeUnavailable, n.ID, n.Addr, table)
		}
		others = append(others, n)
	}
	return others, nil
}

// pull fetches the nodes' buffers in parallel. With partial, a node that
// does not answer is left out (a nil entry) instead of failing the query.
func (r *Reader) pull(ctx context.Context, table string, nodes []catalog.Node, partial bool) ([]*ingest.Snapshot, error) {
	pulled := make([]*ingest.Snapshot, len(nodes))
	g, gctx := errgroup.WithContext(ctx)
	for i, n := range nodes {
		g.Go(func() error {
			sn, err := r.Peers.Buffer(gctx, n.ID, n.Addr, table)
			if err != nil {
				if partial && ctx.Err() == nil {
					return nil
				}
				return fmt.Errorf("%w: buffered rows of %s on %s: %v", ErrNodeUnavailable, table, n.ID, err)
			}
			pulled[i] = sn
			return nil
		})
	}
	return pulled, g.Wait()
}

// merge builds the snapshot of the scope from the local and pulled buffers
// (nil entries stand for buffers left out) and the file list, taking over
// the buffers' references.
func (r *Reader) merge(sc Scope, cur catalog.Table, local *ingest.Snapshot, pulled []*ingest.Snapshot, files []catalog.File) *ingest.Snapshot {
	// A buffer of an earlier life of the table (a node that has not yet
	// seen another's replace or re-create) holds rows of a table that is
	// gone: it is left out.
	stale := func(sn *ingest.Snapshot) bool {
		return sn.Incarnation != "" && cur.Incarnation != "" && sn.Incarnation != cur.Incarnation
	}
	cut := map[string]uint64{}
	readLocal := sc.readsBuffer(local.Node)
	if readLocal {
		cut[local.Node] = local.FlushedLSN
	}
	for _, sn := range pulled {
		if sn != nil && sn.Node != "" {
			cut[sn.Node] = sn.FlushedLSN
		}
	}
	out := &ingest.Snapshot{Table: local.Table, Schema: local.Schema, Node: local.Node, FlushedLSN: local.FlushedLSN}
	for _, f := range files {
		if !sc.readsFiles(f.Node) {
			continue // another part's
		}
		if at, ok := cut[f.Node]; ok && f.MaxLSN > at {
			continue // flushed after the cut: its rows are in that node's buffer
		}
		out.Files = append(out.Files, f)
	}
	if !readLocal || stale(local) {
		local.Release()
	} else {
		out.Batches = local.Batches
	}
	for _, sn := range pulled {
		if sn == nil {
			continue
		}
		if !stale(sn) {
			for _, b := range sn.Batches {
				out.Batches = append(out.Batches, ingest.Conform(b, out.Schema))
			}
		}
		sn.Release()
	}
	return out
}
