package shard

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/testenv"
)

// sharedRedis opens n handles on one fresh Redis catalog, as n nodes do.
func sharedRedis(t *testing.T, n int) []*catalog.Redis {
	t.Helper()
	srv := testenv.Redis(t)
	ctx := context.Background()
	id := catalog.NewID()
	out := make([]*catalog.Redis, n)
	for i := range out {
		c, err := catalog.OpenRedis(ctx, catalog.RedisConfig{Addr: srv.Addr, Namespace: "members"})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.InitID(ctx, id); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		out[i] = c
	}
	return out
}

func join(t *testing.T, reg Registry, id string, lease time.Duration) *Members {
	t.Helper()
	m, err := Join(context.Background(), reg, Config{
		Self:       catalog.Node{ID: id, Addr: "127.0.0.1:" + strings.TrimPrefix(id, "n"), StartedAt: time.Now()},
		Partitions: 16, Lease: lease,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitRing waits until m's ring is owned by exactly want.
func waitRing(t *testing.T, m *Members, within time.Duration, want ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var got []string
		for _, n := range m.Ring().Nodes() {
			got = append(got, n.ID)
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s sees owners %v after %s, want %v", m.Self().ID, got, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Three nodes on one real Redis agree on the ring; a clean leave and a
// crash (lease expiry) both shrink it on the survivors, within the lease
// plus one refresh.
func TestMembersOnRedis(t *testing.T) {
	const lease = 900 * time.Millisecond
	regs := sharedRedis(t, 3)
	a := join(t, regs[0], "n8001", lease)
	b := join(t, regs[1], "n8002", lease)
	c := join(t, regs[2], "n8003", lease)
	for _, m := range []*Members{a, b, c} {
		waitRing(t, m, 2*lease, "n8001", "n8002", "n8003")
	}
	for p := range 16 {
		oa, _ := a.Ring().Owner(p)
		ob, _ := b.Ring().Owner(p)
		oc, _ := c.Ring().Owner(p)
		if oa.ID != ob.ID || ob.ID != oc.ID {
			t.Fatalf("partition %d: owners %s %s %s", p, oa.ID, ob.ID, oc.ID)
		}
	}

	// Draining: still listed, owns nothing.
	if err := c.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitRing(t, a, 2*lease, "n8001", "n8002")
	// Back from draining is a new node; here it crashes instead: its
	// renewals stop without a Leave, and its lease runs out.
	c.cancel()
	<-c.done
	start := time.Now()
	waitRing(t, b, 3*lease, "n8001", "n8002")
	var down bool
	deadline := time.Now().Add(3 * lease)
	for !down && time.Now().Before(deadline) {
		for _, n := range a.Nodes() {
			down = down || (n.ID == "n8003" && n.State == catalog.NodeDown)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !down {
		t.Fatalf("crashed node not listed down within %s: %+v", 3*lease, a.Nodes())
	}
	t.Logf("crashed node listed down %s after its last renewal window", time.Since(start).Round(time.Millisecond))

	// A clean leave is seen at the next refresh.
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitRing(t, a, 2*lease, "n8001")
	for _, n := range a.Nodes() {
		if n.ID == "n8002" {
			t.Fatalf("node that left is still listed: %+v", n)
		}
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A second process with the ID of a live node at another address is
// refused; the same node restarting at its own address is not.
func TestMembersRefusesDuplicateID(t *testing.T) {
	regs := sharedRedis(t, 2)
	a := join(t, regs[0], "n9001", time.Minute)
	defer a.Close(context.Background())
	_, err := Join(context.Background(), regs[1], Config{Self: catalog.Node{ID: "n9001", Addr: "10.9.9.9:8080"}, Partitions: 16})
	if err == nil || !strings.Contains(err.Error(), "in use by a live node at 127.0.0.1:9001") {
		t.Fatalf("duplicate id joined: %v", err)
	}
	again := join(t, regs[1], "n9001", time.Minute) // a restart of the same node
	if got := again.Ring().Nodes(); len(got) != 1 || got[0].ID != "n9001" {
		t.Fatalf("restarted node sees %+v", got)
	}
	if _, err := Join(context.Background(), regs[1], Config{Self: catalog.Node{ID: "bad id", Addr: "x:1"}, Partitions: 16}); err == nil {
		t.Fatal("a node with an invalid id joined")
	}
}

// The embedded catalog is a cluster of one.
func TestMembersOnBolt(t *testing.T) {
	c, err := catalog.OpenBolt(t.TempDir() + "/catalog.db")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := join(t, c, "n7001", time.Minute)
	if owned := m.Ring().Owned("n7001"); len(owned) != 16 {
		t.Fatalf("single node owns %v, want all 16 partitions", owned)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if nodes, _ := c.Nodes(context.Background()); len(nodes) != 0 {
		t.Fatalf("after Close: %+v", nodes)
	}
}
