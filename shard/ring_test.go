package shard

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/miniodb/miniodb/catalog"
)

func upNodes(n int) []catalog.Node {
	out := make([]catalog.Node, n)
	for i := range out {
		out[i] = catalog.Node{ID: fmt.Sprintf("node-%02d", i), Addr: fmt.Sprintf("10.0.0.%d:8080", i), State: catalog.NodeUp}
	}
	return out
}

func TestRingPlacement(t *testing.T) {
	tests := []struct {
		partitions, nodes int
	}{
		{1, 1}, {8, 1}, {8, 3}, {8, 8}, {64, 3}, {64, 7}, {271, 10}, {4096, 100},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dp_%dn", tt.partitions, tt.nodes), func(t *testing.T) {
			nodes := upNodes(tt.nodes)
			r, err := NewRing(tt.partitions, nodes)
			if err != nil {
				t.Fatal(err)
			}
			load := map[string]int{}
			for p := range tt.partitions {
				n, ok := r.Owner(p)
				if !ok {
					t.Fatalf("partition %d has no owner", p)
				}
				load[n.ID]++
			}
			bound := int(math.Ceil(float64(tt.partitions/tt.nodes) * 1.25))
			total := 0
			for _, n := range nodes {
				if load[n.ID] > bound {
					t.Errorf("%s owns %d partitions, bound %d", n.ID, load[n.ID], bound)
				}
				if got := len(r.Owned(n.ID)); got != load[n.ID] {
					t.Errorf("Owned(%s) has %d partitions, Owner says %d", n.ID, got, load[n.ID])
				}
				total += load[n.ID]
			}
			if total != tt.partitions {
				t.Fatalf("%d partitions placed, want %d", total, tt.partitions)
			}
			// Every node computes the same ring whatever order it read the
			// registry in.
			shuffled := append([]catalog.Node(nil), nodes...)
			rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			again, _ := NewRing(tt.partitions, shuffled)
			for p := range tt.partitions {
				a, _ := r.Owner(p)
				b, _ := again.Owner(p)
				if a.ID != b.ID {
					t.Fatalf("partition %d: owner %s, with the nodes in another order %s", p, a.ID, b.ID)
				}
			}
			if r.Key() != again.Key() {
				t.Fatalf("keys differ: %q vs %q", r.Key(), again.Key())
			}
		})
	}
}

// A join moves few partitions: only towards the new node, and about 1/N.
func TestRingJoinMovesLittle(t *testing.T) {
	const partitions = 271
	before, _ := NewRing(partitions, upNodes(4))
	after, _ := NewRing(partitions, upNodes(5))
	moved := 0
	for p := range partitions {
		a, _ := before.Owner(p)
		b, _ := after.Owner(p)
		if a.ID != b.ID {
			moved++
		}
	}
	// An ideal move is 1/5 of the partitions; bounded loads add some churn.
	if moved == 0 || moved > partitions/2 {
		t.Fatalf("a fifth node moved %d of %d partitions", moved, partitions)
	}
	t.Logf("a fifth node moved %d of %d partitions (ideal %d)", moved, partitions, partitions/5)
}

func TestRingSkipsNodesNotUp(t *testing.T) {
	nodes := upNodes(3)
	nodes[0].State = catalog.NodeDown
	nodes[1].State = catalog.NodeDraining
	r, _ := NewRing(16, nodes)
	for p := range 16 {
		if n, _ := r.Owner(p); n.ID != "node-02" {
			t.Fatalf("partition %d owned by %s, want the only node up", p, n.ID)
		}
	}
	empty, _ := NewRing(16, nodes[:2])
	if _, ok := empty.Owner(3); ok {
		t.Fatal("a ring without nodes up has an owner")
	}
	if len(empty.Nodes()) != 0 || len(empty.Owned("node-00")) != 0 {
		t.Fatal("a ring without nodes up lists owners")
	}
}

// More nodes than partitions: the first nodes by ID own one each, the rest
// none, and nothing panics.
func TestRingMoreNodesThanPartitions(t *testing.T) {
	r, err := NewRing(4, upNodes(6))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Nodes()) != 4 {
		t.Fatalf("%d owners, want 4", len(r.Nodes()))
	}
	for _, id := range []string{"node-04", "node-05"} {
		if len(r.Owned(id)) != 0 {
			t.Fatalf("%s owns %v", id, r.Owned(id))
		}
	}
	if _, err := NewRing(0, upNodes(1)); err == nil {
		t.Fatal("a ring of 0 partitions was built")
	}
}
