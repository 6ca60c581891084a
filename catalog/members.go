package catalog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Node is one member of a cluster as the catalog records it. The node
// writes everything but State and LeaseExpires; the catalog derives those.
type Node struct {
	ID        string    `json:"id"`
	Addr      string    `json:"addr"`                // advertised Flight SQL / OlapService address, host:port
	RESTAddr  string    `json:"rest_addr,omitempty"` // advertised REST address, "" without REST
	Version   string    `json:"version,omitempty"`   // the binary's version
	StartedAt time.Time `json:"started_at"`
	// Draining is set by a node that is shutting down: it answers what it
	// already accepted but owns no partitions any more.
	Draining bool `json:"draining,omitempty"`
	// WALShipped is set by a node that ships its WAL to the object store
	// (wal.replicate: objstore): once it is down, another node may replay
	// its unflushed rows from there and remove it (RemoveDown).
	WALShipped bool `json:"wal_shipped,omitempty"`

	State        NodeState `json:"-"`
	LeaseExpires time.Time `json:"-"` // by the catalog's clock
}

// NodeState is what the catalog knows of a node's lease.
type NodeState string

const (
	// NodeUp: the lease is live and the node is not draining.
	NodeUp NodeState = "up"
	// NodeDraining: the lease is live but the node is shutting down.
	NodeDraining NodeState = "draining"
	// NodeDown: the lease expired; the node left without saying so (crash,
	// partition from the catalog). It stays listed until it comes back or
	// is removed with Leave.
	NodeDown NodeState = "down"
)

// ErrBadNode is returned for a node record that cannot be registered.
var ErrBadNode = errors.New("catalog: bad node")

// nodeIDPattern is what a node ID may look like: it appears in keys,
// object names and messages.
var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidNodeID reports whether id can name a node.
func ValidNodeID(id string) bool { return nodeIDPattern.MatchString(id) }

func (n Node) validate(ttl time.Duration) error {
	switch {
	case !ValidNodeID(n.ID):
		return fmt.Errorf("%w: id %q must match %s", ErrBadNode, n.ID, nodeIDPattern)
	case n.Addr == "":
		return fmt.Errorf("%w: node %s has no address", ErrBadNode, n.ID)
	case ttl <= 0:
		return fmt.Errorf("%w: node %s: lease ttl %s is not positive", ErrBadNode, n.ID, ttl)
	}
	return nil
}

// Membership is the cluster's node registry. Leases are measured by the
// catalog's own clock (Redis: the server's TIME), so nodes with skewed
// clocks agree on who is alive. Membership changes do not bump the catalog
// version: they are not part of the data's description.
type Membership interface {
	// Heartbeat registers n, or renews its lease, for ttl from now.
	Heartbeat(ctx context.Context, n Node, ttl time.Duration) error
	// Leave removes a node's record at once (a clean shutdown, or an
	// operator removing a dead node). Removing an unknown node is no error.
	Leave(ctx context.Context, id string) error
	// Nodes lists every recorded node, live or down, sorted by ID, with
	// State and LeaseExpires filled in.
	Nodes(ctx context.Context) ([]Node, error)
}

// stateAt derives a node's state from its lease at now.
func stateAt(n Node, now time.Time) NodeState {
	switch {
	case !now.Before(n.LeaseExpires):
		return NodeDown
	case n.Draining:
		return NodeDraining
	}
	return NodeUp
}
