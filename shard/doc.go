// Package shard decides where rows live in a cluster: the partitions of a
// table, which node owns each partition, and which nodes are members.
//
// # Partitions and owners
//
// A row's partition is a hash of its shard key modulo the partition count
// (storage.partitions, fixed for the life of a deployment because object
// keys carry it: tables/<t>/shard=<p>/...). Partitions map to nodes with
// consistent hashing with bounded loads (github.com/buraksezer/consistent):
// a node joining or leaving moves only about 1/N of the partitions, and no
// node owns more than ceil(1.25 × partitions/nodes). The ring is a pure
// function of the sorted IDs of the nodes that are up, so every node that
// reads the same membership computes the same owners.
//
// Only the first `partitions` nodes by ID receive partitions (the hashing
// library cannot place fewer partitions than members); further nodes still
// accept clients and coordinate queries. Draining and down nodes own
// nothing.
//
// # Membership
//
// Members (members.go) renews this node's lease in the catalog's registry
// (catalog.Membership) every third of the lease, re-reads the registry and
// rebuilds the ring when the set of live nodes changed. A node whose lease
// expires (crash, cut off from the catalog) leaves the ring at the next
// refresh of every other node, i.e. within lease + refresh interval.
package shard
