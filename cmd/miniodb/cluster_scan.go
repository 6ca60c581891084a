package main

import (
	"github.com/miniodb/miniodb/flight"
	"github.com/miniodb/miniodb/shard"
)

// scanSplitter is what splits a plain scan into one Flight endpoint per
// node: with a shared catalog a shard.Splitter over the registry and the
// file list, whose locations use grpc+tls when the nodes serve TLS; nil on
// a single node, where every query keeps one endpoint.
func (n *node) scanSplitter() flight.Splitter {
	reg, shared := n.cat.(shard.NodeReader)
	if !n.cfg.Redis.Enabled() || !shared {
		return nil
	}
	scheme := "grpc+tcp"
	if n.cfg.Security.EnableTLS {
		scheme = "grpc+tls"
	}
	return &shard.Splitter{Self: n.cfg.Server.NodeID, Scheme: scheme, Files: n.cat, Registry: reg}
}
