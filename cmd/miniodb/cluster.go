package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/flight"
	"github.com/miniodb/miniodb/query"
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
	// RefreshInterval is how often a node re-reads a shared (Redis)
	// catalog for other nodes' tables and files (ingest.Service.Refresh).
	// Default 1s.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// Secret authenticates node-to-node calls (flight.PeerToken); every
	// node of a cluster has the same. Required with security.mode auth.
	Secret string `yaml:"secret"`
	// TLSCAFile is the CA that signed the nodes' certificates, which peer
	// calls verify when security.enable_tls is on; empty: the system roots.
	// TLSCertFile and TLSKeyFile are the certificate a node presents to
	// its peers when they require client certificates
	// (security.tls.client_ca_file); it must allow client authentication.
	TLSCAFile   string `yaml:"tls_ca_file"`
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
}

// peerCredentials are the transport credentials of node-to-node calls:
// TLS (with the cluster CA and the node's client certificate) when the
// node serves TLS, else plaintext.
func peerCredentials(cfg Config) (grpc.DialOption, error) {
	if !cfg.Security.EnableTLS {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if f := cfg.Cluster.TLSCAFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("cluster.tls_ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cluster.tls_ca_file %s holds no PEM certificate", f)
		}
	}
	if cfg.Cluster.TLSCertFile != "" || cfg.Cluster.TLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.Cluster.TLSCertFile, cfg.Cluster.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("cluster.tls_cert_file/tls_key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(tc)), nil
}

// refreshInterval is the catalog refresh period of cfg: none for the
// embedded catalog, which only this process writes.
func (c Config) refreshInterval() time.Duration {
	if !c.Redis.Enabled() {
		return 0
	}
	if c.Cluster.RefreshInterval > 0 {
		return c.Cluster.RefreshInterval
	}
	return time.Second
}

func (c ClusterConfig) validate() error {
	if c.Lease < 0 || (c.Lease > 0 && c.Lease < 300*time.Millisecond) {
		return fmt.Errorf("cluster.lease %s must be at least 300ms", c.Lease)
	}
	if c.RefreshInterval < 0 || (c.RefreshInterval > 0 && c.RefreshInterval < 50*time.Millisecond) {
		return fmt.Errorf("cluster.refresh_interval %s must be at least 50ms", c.RefreshInterval)
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

// querySource is what queries read: with a shared catalog the Reader that
// adds the other nodes' buffered rows, else this node's ingest service
// alone.
func (n *node) querySource() (query.Source, error) {
	reg, shared := n.cat.(shard.NodeReader)
	if !n.cfg.Redis.Enabled() || !shared {
		return n.ingest, nil
	}
	creds, err := peerCredentials(n.cfg)
	if err != nil {
		return nil, err
	}
	n.peers = flight.NewPeers(n.cfg.Server.NodeID, n.cfg.Cluster.Secret, creds)
	return &shard.Reader{Self: n.cfg.Server.NodeID, Local: n.ingest, Peers: n.peers, Files: n.cat, Registry: reg}, nil
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
