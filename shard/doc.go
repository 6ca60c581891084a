// Package shard is the cluster's routing: which nodes are members, which
// node owns each partition of a table, and where a query finds a table's
// rows.
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
// # Reading across nodes
//
// Reader (reader.go) is the query engine's source on a shared catalog: for
// each table a query reads it pulls every other node's buffered rows, each
// cut at the WAL position that node's files reach, then reads the files
// from the catalog and leaves out a node's files beyond its cut, so an
// acknowledged row is counted once whether or not it was flushed in
// between. Buffers of an earlier incarnation of the table are left out. A
// node that is down or unreachable fails the query (ErrNodeUnavailable)
// rather than answer without its rows. Until rows are placed by the ring,
// every node may hold rows of every partition, so every node is asked.
//
// # Membership
//
// Members (members.go) renews this node's lease in the catalog's registry
// (catalog.Membership) every third of the lease, re-reads the registry and
// rebuilds the ring when the set of live nodes changed. A node whose lease
// expires (crash, cut off from the catalog) leaves the ring at the next
// refresh of every other node, i.e. within lease + refresh interval.
package shard
