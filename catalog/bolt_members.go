package catalog

import (
	"context"
	"sort"
	"sync"
	"time"
)

// boltMembers is the registry of an embedded catalog. A bbolt file is
// opened by one process only, so its cluster is that one node: the
// registry lives in memory and leases are measured by this process's
// clock.
type boltMembers struct {
	mu    sync.Mutex
	nodes map[string]Node
}

// Heartbeat implements Membership.
func (c *Bolt) Heartbeat(_ context.Context, n Node, ttl time.Duration) error {
	if err := n.validate(ttl); err != nil {
		return err
	}
	m := &c.members
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nodes == nil {
		m.nodes = map[string]Node{}
	}
	n.LeaseExpires = time.Now().Add(ttl)
	m.nodes[n.ID] = n
	return nil
}

// Leave implements Membership.
func (c *Bolt) Leave(_ context.Context, id string) error {
	c.members.mu.Lock()
	defer c.members.mu.Unlock()
	delete(c.members.nodes, id)
	return nil
}

// RemoveDown removes a node whose lease has expired.
func (c *Bolt) RemoveDown(_ context.Context, id string) (bool, error) {
	m := &c.members
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[id]
	if !ok || time.Now().Before(n.LeaseExpires) {
		return false, nil
	}
	delete(m.nodes, id)
	return true, nil
}

// Nodes implements Membership.
func (c *Bolt) Nodes(context.Context) ([]Node, error) {
	m := &c.members
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	out := make([]Node, 0, len(m.nodes))
	for _, n := range m.nodes {
		n.State = stateAt(n, now)
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
