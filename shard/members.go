package shard

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
)

// Registry is the catalog's node registry, as Members uses it.
type Registry interface {
	Heartbeat(ctx context.Context, n catalog.Node, ttl time.Duration) error
	Leave(ctx context.Context, id string) error
	Nodes(ctx context.Context) ([]catalog.Node, error)
}

// Config configures Members.
type Config struct {
	Self       catalog.Node  // this node: ID and advertised addresses
	Partitions int           // storage.partitions
	Lease      time.Duration // lease length; default 10s, renewed every third of it
	Log        *zap.Logger   // default: no logging
	// OnChange, if set, is called (from the refresh goroutine) with every
	// new ring after the first.
	OnChange func(*Ring)
}

// Members keeps this node registered and knows the current ring.
type Members struct {
	reg    Registry
	cfg    Config
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.RWMutex
	nodes    []catalog.Node
	ring     *Ring
	draining bool
}

// Join registers cfg.Self and reads the membership once before returning,
// then keeps renewing and refreshing in the background until Close. It
// refuses to join when a live node with the same ID has another address:
// two processes must not share an identity.
func Join(ctx context.Context, reg Registry, cfg Config) (*Members, error) {
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if !catalog.ValidNodeID(cfg.Self.ID) {
		return nil, fmt.Errorf("node id %q: use letters, digits, '.', '_' or '-' (at most 64)", cfg.Self.ID)
	}
	nodes, err := reg.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("read cluster membership: %w", err)
	}
	for _, n := range nodes {
		if n.ID == cfg.Self.ID && n.State != catalog.NodeDown && n.Addr != cfg.Self.Addr {
			return nil, fmt.Errorf("node id %s is in use by a live node at %s (its lease ends %s): give every node its own server.node_id",
				n.ID, n.Addr, n.LeaseExpires.Format(time.RFC3339))
		}
	}
	m := &Members{reg: reg, cfg: cfg, done: make(chan struct{})}
	if err := m.beat(ctx); err != nil {
		return nil, err
	}
	if _, err := m.refresh(ctx); err != nil {
		return nil, err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go m.loop(loopCtx)
	return m, nil
}

func (m *Members) beat(ctx context.Context) error {
	m.mu.RLock()
	self := m.cfg.Self
	self.Draining = m.draining
	m.mu.RUnlock()
	if err := m.reg.Heartbeat(ctx, self, m.cfg.Lease); err != nil {
		return fmt.Errorf("renew the lease of node %s: %w", self.ID, err)
	}
	return nil
}

// refresh re-reads the registry and rebuilds the ring if the live nodes
// changed; it reports whether they did.
func (m *Members) refresh(ctx context.Context) (bool, error) {
	nodes, err := m.reg.Nodes(ctx)
	if err != nil {
		return false, fmt.Errorf("read cluster membership: %w", err)
	}
	ring, err := NewRing(m.cfg.Partitions, nodes)
	if err != nil {
		return false, err
	}
	m.mu.Lock()
	changed := m.ring == nil || m.ring.Key() != ring.Key()
	m.nodes = nodes
	if changed {
		m.ring = ring
	}
	m.mu.Unlock()
	return changed, nil
}

func (m *Members) loop(ctx context.Context) {
	defer close(m.done)
	t := time.NewTicker(m.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := m.beat(ctx); err != nil && ctx.Err() == nil {
			m.cfg.Log.Warn("cluster heartbeat failed", zap.Error(err))
		}
		changed, err := m.refresh(ctx)
		if err != nil {
			if ctx.Err() == nil {
				m.cfg.Log.Warn("cluster membership refresh failed", zap.Error(err))
			}
			continue
		}
		if changed {
			r := m.Ring()
			m.cfg.Log.Info("cluster ring changed", zap.String("ring", r.Key()))
			if m.cfg.OnChange != nil {
				m.cfg.OnChange(r)
			}
		}
	}
}

// Ring is the current placement.
func (m *Members) Ring() *Ring {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.ring
}

// Nodes is every node of the registry as last read, live or not.
func (m *Members) Nodes() []catalog.Node {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.nodes
}

// Self is this node's record.
func (m *Members) Self() catalog.Node { return m.cfg.Self }

// Drain marks this node draining in the registry: the other nodes stop
// placing partitions on it at their next refresh.
func (m *Members) Drain(ctx context.Context) error {
	m.mu.Lock()
	m.draining = true
	m.mu.Unlock()
	if err := m.beat(ctx); err != nil {
		return err
	}
	_, err := m.refresh(ctx)
	return err
}

// Close stops renewing and removes this node from the registry.
func (m *Members) Close(ctx context.Context) error {
	m.cancel()
	<-m.done
	return m.reg.Leave(ctx, m.cfg.Self.ID)
}
