package shard

import (
	"context"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
)

// NodeLister is the registry as last read (Members).
type NodeLister interface {
	Nodes() []catalog.Node
}

// DownRemover removes a node whose lease has expired (catalog.Redis).
type DownRemover interface {
	RemoveDown(ctx context.Context, id string) (bool, error)
}

// Adopter takes over nodes that are down and ship their WAL to the object
// store (wal.replicate: objstore): the live node with the smallest ID
// replays each one's unflushed rows into files (Adopt, ingest.Service.Adopt)
// and then removes it from the registry, so queries no longer wait for
// it. If two nodes disagree on who is smallest for a moment, both adopt:
// the catalog refuses the second commit of every table, so no row is
// written twice.
type Adopter struct {
	Self     string
	Nodes    NodeLister
	Registry DownRemover
	Adopt    func(ctx context.Context, node string) error
	Log      *zap.Logger
}

// Run adopts every interval until ctx ends.
func (a *Adopter) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.Once(ctx)
	}
}

// Once adopts the nodes that are down now, if this node is the adopter;
// it returns the IDs it removed from the registry.
func (a *Adopter) Once(ctx context.Context) []string {
	nodes := a.Nodes.Nodes()
	var up, down []string
	for _, n := range nodes {
		switch {
		case n.State == catalog.NodeUp:
			up = append(up, n.ID)
		case n.State == catalog.NodeDown && n.WALShipped:
			down = append(down, n.ID)
		}
	}
	sort.Strings(up)
	if len(down) == 0 || len(up) == 0 || up[0] != a.Self {
		return nil
	}
	var removed []string
	for _, id := range down {
		if err := a.Adopt(ctx, id); err != nil {
			a.Log.Warn("adopt the shipped WAL of a node that is down; will retry", zap.String("node", id), zap.Error(err))
			continue
		}
		gone, err := a.Registry.RemoveDown(ctx, id)
		switch {
		case err != nil:
			a.Log.Warn("remove an adopted node from the registry", zap.String("node", id), zap.Error(err))
		case gone:
			a.Log.Info("node adopted and removed from the registry", zap.String("node", id))
			removed = append(removed, id)
		default:
			a.Log.Info("an adopted node came back before its removal", zap.String("node", id))
		}
	}
	return removed
}
