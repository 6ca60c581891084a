package shard

import (
	"fmt"
	"sort"
	"strings"

	"github.com/buraksezer/consistent"
	"github.com/cespare/xxhash/v2"

	"github.com/miniodb/miniodb/catalog"
)

// Ring maps partitions to the nodes that own them. It is immutable: a
// membership change builds a new Ring.
type Ring struct {
	partitions int
	nodes      []catalog.Node // the owners, sorted by ID
	owner      []int          // partition -> index into nodes
	byID       map[string][]int
}

type member string

func (m member) String() string { return string(m) }

type hasher struct{}

func (hasher) Sum64(b []byte) uint64 { return xxhash.Sum64(b) }

// NewRing places partitions over the nodes that are up. With no node up,
// every partition is unowned (Owner reports false).
func NewRing(partitions int, nodes []catalog.Node) (*Ring, error) {
	if partitions <= 0 {
		return nil, fmt.Errorf("shard: partition count %d is not positive", partitions)
	}
	var up []catalog.Node
	for _, n := range nodes {
		if n.State == catalog.NodeUp {
			up = append(up, n)
		}
	}
	sort.Slice(up, func(i, j int) bool { return up[i].ID < up[j].ID })
	if len(up) > partitions {
		up = up[:partitions]
	}
	r := &Ring{partitions: partitions, nodes: up, owner: make([]int, partitions), byID: map[string][]int{}}
	if len(up) == 0 {
		for p := range r.owner {
			r.owner[p] = -1
		}
		return r, nil
	}
	members := make([]consistent.Member, len(up))
	index := map[string]int{}
	for i, n := range up {
		members[i] = member(n.ID)
		index[n.ID] = i
	}
	c := consistent.New(members, consistent.Config{Hasher: hasher{}, PartitionCount: partitions, ReplicationFactor: 40, Load: 1.25})
	for p := range partitions {
		i := index[c.GetPartitionOwner(p).String()]
		r.owner[p] = i
		r.byID[up[i].ID] = append(r.byID[up[i].ID], p)
	}
	return r, nil
}

// Partitions is the partition count.
func (r *Ring) Partitions() int { return r.partitions }

// Owner returns the node that owns partition p; false if no node is up.
func (r *Ring) Owner(p int) (catalog.Node, bool) {
	if p < 0 || p >= r.partitions || r.owner[p] < 0 {
		return catalog.Node{}, false
	}
	return r.nodes[r.owner[p]], true
}

// Owned returns the partitions node id owns, ascending.
func (r *Ring) Owned(id string) []int { return r.byID[id] }

// Nodes returns the nodes that own partitions, sorted by ID.
func (r *Ring) Nodes() []catalog.Node { return r.nodes }

// Key identifies the ring's placement: two rings with equal keys place
// every partition on the same node at the same address.
func (r *Ring) Key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", r.partitions)
	for _, n := range r.nodes {
		b.WriteString(" " + n.ID + "@" + n.Addr)
	}
	return b.String()
}
