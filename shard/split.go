package shard

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/miniodb/miniodb/catalog"
)

// Part is one endpoint of a split scan: the node that serves it best and
// the scope its ticket reads. Any node answers a scoped ticket correctly
// (it pulls the part's buffers like any query), so a client that ignores
// the location still gets the right rows; served by its own node, a part
// reads only local buffers.
type Part struct {
	Node     string // the node whose part this is
	Location string // its Flight URI (Splitter.Scheme://advertised address)
	Local    bool   // the part of the node that planned the query
	Scope    Scope
}

// Splitter splits a plain scan of one table by writer node: one part per
// node that is up or draining (its buffer and its files), and the files of
// writers that are no longer live (left, or down) go to the planning
// node's part. The union of the parts is every acknowledged row exactly
// once, the same rows a whole-table Reader snapshot has.
type Splitter struct {
	Self     string // this node's ID
	Scheme   string // URI scheme of the locations; default "grpc+tcp" ("grpc+tls" when nodes serve TLS)
	Files    FileLister
	Registry NodeReader
}

// Split returns the parts of a scan of table, the planning node's first.
// A node listed down may hold acknowledged rows in its write-ahead log: the
// split fails with ErrNodeUnavailable naming it unless partial is set, in
// which case only its files are read (by the planning node's part).
func (s *Splitter) Split(ctx context.Context, table string, partial bool) ([]Part, error) {
	nodes, err := s.Registry.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the cluster's nodes: %w", err)
	}
	files, err := s.Files.Files(ctx, table)
	if err != nil {
		return nil, fmt.Errorf("files of %s: %w", table, err)
	}
	scheme := s.Scheme
	if scheme == "" {
		scheme = "grpc+tcp"
	}
	self := Part{Node: s.Self, Local: true, Scope: Scope{Buffers: []string{s.Self}, Partial: partial}}
	var parts []Part
	live := map[string]bool{s.Self: true}
	for _, n := range nodes {
		switch {
		case n.ID == s.Self:
			self.Location = scheme + "://" + n.Addr
		case n.State == catalog.NodeDown:
			if !partial {
				return nil, fmt.Errorf("%w: %s (%s) is down and may hold acknowledged rows of %s in its write-ahead log; query again when it is back",
					ErrNodeUnavailable, n.ID, n.Addr, table)
			}
		default:
			live[n.ID] = true
			parts = append(parts, Part{Node: n.ID, Location: scheme + "://" + n.Addr,
				Scope: Scope{Buffers: []string{n.ID}, Partial: partial}})
		}
	}
	for _, f := range files {
		if !live[f.Node] && !slices.Contains(self.Scope.Files, f.Node) {
			self.Scope.Files = append(self.Scope.Files, f.Node)
		}
	}
	slices.SortFunc(parts, func(a, b Part) int { return strings.Compare(a.Node, b.Node) })
	return append([]Part{self}, parts...), nil
}
