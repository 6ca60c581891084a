package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/miniodb/miniodb/api"
	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/flight"
	"github.com/miniodb/miniodb/ingest"
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
	// PrepareTimeout is how long an owner holds its prepared part of an
	// ingest split across nodes before it asks the outcome register
	// itself, recording abort if the receiving node has not recorded
	// commit (ingest/twophase.go). Default 30s.
	PrepareTimeout time.Duration `yaml:"prepare_timeout"`
	// DecisionTTL is how long the register keeps the outcome of a split
	// ingest that some owner did not confirm (a crashed owner resolves its
	// part from it when it restarts). Default 168h.
	DecisionTTL time.Duration `yaml:"decision_ttl"`
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
	if c.PrepareTimeout < 0 || (c.PrepareTimeout > 0 && c.PrepareTimeout < time.Second) {
		return fmt.Errorf("cluster.prepare_timeout %s must be at least 1s", c.PrepareTimeout)
	}
	if c.DecisionTTL < 0 || (c.DecisionTTL > 0 && c.DecisionTTL < time.Hour) {
		return fmt.Errorf("cluster.decision_ttl %s must be at least 1h: a restarting owner needs the outcome", c.DecisionTTL)
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

// writePath is where ingests go: with a shared catalog the Router that
// places rows on the owners of their partitions, else the ingest service
// alone. It is read after querySource (which makes the peer client).
func (n *node) writePath() api.Ingester {
	dec, ok := n.cat.(catalog.Decisions)
	if n.peers == nil || !ok {
		return n.ingest
	}
	return &shard.Router{Self: n.cfg.Server.NodeID, Local: n.ingest, Peers: n.peers, Members: nodeRing{n},
		Decisions: dec, DecisionTTL: n.cfg.Cluster.decisionTTL(), Log: n.log}
}

// handleKey is the key Flight SQL statement handles are sealed with: the
// same on every node of a cluster and across restarts, so tickets and
// prepared statements stay valid wherever they are used. It is derived
// from the catalog identity (which clients never see) and the cluster
// secret.
func handleKey(ctx context.Context, cat catalog.Catalog, secret string) ([]byte, error) {
	idc, ok := cat.(catalog.Identified)
	if !ok {
		return nil, nil // a random key per process
	}
	id, err := idc.ID(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog identity for statement handles: %w", err)
	}
	sum := sha256.Sum256([]byte("miniodb statement handles\x00" + id + "\x00" + secret))
	return sum[:], nil
}

// decisionTTL is cluster.decision_ttl or its default.
func (c ClusterConfig) decisionTTL() time.Duration {
	if c.DecisionTTL > 0 {
		return c.DecisionTTL
	}
	return 7 * 24 * time.Hour
}

// decider is the catalog's outcome register for split ingests, if it has
// one.
func decider(cat catalog.Catalog) ingest.Decider {
	if d, ok := cat.(ingest.Decider); ok {
		return d
	}
	return nil
}

// nodeRing is the node's current placement; none until it has joined
// (before it serves).
type nodeRing struct{ n *node }

func (r nodeRing) Ring() *shard.Ring {
	if r.n.members == nil {
		return nil
	}
	return r.n.members.Ring()
}

// flushOnLoss is the members' OnChange: when this node loses partitions
// to a new ring, it flushes its buffers, so the rows it took for them
// reach the shared files instead of waiting in its WAL for the next
// flush.
func flushOnLoss(self string, flush func(context.Context) error, log *zap.Logger) func(*shard.Ring) {
	var mu sync.Mutex
	var owned map[int]bool
	return func(r *shard.Ring) {
		mu.Lock()
		defer mu.Unlock()
		now := map[int]bool{}
		for _, p := range r.Owned(self) {
			now[p] = true
		}
		lost := 0
		for p := range owned {
			if !now[p] {
				lost++
			}
		}
		first := owned == nil
		owned = now
		if first || lost == 0 {
			return
		}
		log.Info("partitions moved to other nodes: flushing buffered rows", zap.Int("lost", lost))
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := flush(ctx); err != nil {
				log.Warn("flush after losing partitions", zap.Error(err))
			}
		}()
	}
}

// startAdopter runs the shard.Adopter on a shared catalog: nodes that
// ship their WAL and are down get their unflushed rows replayed into files
// by the live node with the smallest ID.
func (n *node) startAdopter() {
	rm, ok := n.cat.(shard.DownRemover)
	if n.members == nil || n.peers == nil || !ok {
		return
	}
	a := &shard.Adopter{Self: n.cfg.Server.NodeID, Nodes: n.members, Registry: rm, Log: n.log,
		Adopt: func(ctx context.Context, id string) error {
			_, err := n.ingest.Adopt(ctx, id)
			return err
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx, n.cfg.refreshInterval())
	}()
	n.stopAdopter = func() {
		cancel()
		<-done
	}
}

// joinCluster registers this node in the catalog's registry.
func joinCluster(ctx context.Context, cfg Config, cat catalog.Catalog, grpcAddr, restAddr string, onChange func(*shard.Ring), log *zap.Logger) (*shard.Members, error) {
	reg, ok := cat.(shard.Registry)
	if !ok {
		return nil, fmt.Errorf("catalog %T has no node registry", cat)
	}
	self := catalog.Node{ID: cfg.Server.NodeID, Version: version, StartedAt: time.Now().UTC(), WALShipped: cfg.WAL.shipped()}
	var err error
	if self.Addr, err = advertised(cfg.Cluster.AdvertiseAddr, grpcAddr); err != nil {
		return nil, err
	}
	if restAddr != "" {
		if self.RESTAddr, err = advertised(cfg.Cluster.AdvertiseRESTAddr, restAddr); err != nil {
			return nil, err
		}
	}
	m, err := shard.Join(ctx, reg, shard.Config{Self: self, Partitions: cfg.Storage.Partitions, Lease: cfg.Cluster.Lease, Log: log, OnChange: onChange})
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
