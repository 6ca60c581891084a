package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/shard"
)

// ClusterConfig is the cluster section: how this node appears to the
// others. Every node of a cluster shares one Redis catalog and one object
// store; server.node_id names the node and must differ between nodes.
type ClusterConfig struct {
	// AdvertiseAddr is the gRPC host:port other nodes and clients use to
	// reach this node. Default: the listen address, with the host name in
	// place of an unspecified host (":8080", "0.0.0.0:8080").
	AdvertiseAddr string `yaml:"advertise_addr"`
	// AdvertiseRESTAddr is the same for the REST port.
	AdvertiseRESTAddr string `yaml:"advertise_rest_addr"`
	// Lease is how long a node stays a member without renewing; it renews
	// every third of it. A crashed node leaves the ring within about this
	// long. Default 10s.
	Lease time.Duration `yaml:"lease"`
}

func (c ClusterConfig) validate() error {
	if c.Lease < 0 || (c.Lease > 0 && c.Lease < 300*time.Millisecond) {
		return fmt.Errorf("cluster.lease %s must be at least 300ms", c.Lease)
	}
	for key, addr := range map[string]string{"cluster.advertise_addr": c.AdvertiseAddr, "cluster.advertise_rest_addr": c.AdvertiseRESTAddr} {
		if addr == "" {
			continue
		}
		if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" || port == "0" {
			return fmt.Errorf("%s %q must be host:port with a host and a port", key, addr)
		}
	}
	return nil
}

// advertised turns a bound listen address into one another machine can
// dial: an unspecified host becomes this machine's host name.
func advertised(configured, bound string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if host, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("advertise address: %w (set cluster.advertise_addr)", err)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// joinCluster registers this node in the catalog's registry.
func joinCluster(ctx context.Context, cfg Config, cat catalog.Catalog, grpcAddr, restAddr string, log *zap.Logger) (*shard.Members, error) {
	reg, ok := cat.(shard.Registry)
	if !ok {
		return nil, fmt.Errorf("catalog %T has no node registry", cat)
	}
	self := catalog.Node{ID: cfg.Server.NodeID, Version: version, StartedAt: time.Now().UTC()}
	var err error
	if self.Addr, err = advertised(cfg.Cluster.AdvertiseAddr, grpcAddr); err != nil {
		return nil, err
	}
	if restAddr != "" {
		if self.RESTAddr, err = advertised(cfg.Cluster.AdvertiseRESTAddr, restAddr); err != nil {
			return nil, err
		}
	}
	m, err := shard.Join(ctx, reg, shard.Config{Self: self, Partitions: cfg.Storage.Partitions, Lease: cfg.Cluster.Lease, Log: log})
	if err != nil {
		return nil, fmt.Errorf("join the cluster: %w", err)
	}
	return m, nil
}

// leaveCluster says goodbye: a stopped node leaves the registry at once
// instead of when its lease runs out.
func leaveCluster(ctx context.Context, m *shard.Members) error {
	if m == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("leave the cluster: %w", err)
	}
	return nil
}
