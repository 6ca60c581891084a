// Package shard is the cluster's routing: which nodes are members, which
// node owns each partition of a table, where a write's rows go, and where
// a query finds a table's rows.
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
// # Placing a write
//
// Router (router.go) is the write path of a node on a shared catalog. It
// reads an ingest's batches as they arrive, cuts each by the owner of
// every row's partition (ingest.SplitByOwner), keeps its own rows and
// streams the others to their owners (flight.Peers). A write that reached
// only this node commits as on a single node; one that reached several
// owners commits in two phases (ingest/twophase.go): every owner prepares
// its part durably, the outcome is recorded in the catalog's register
// (catalog.Decisions), then every owner applies it. A failure before the
// outcome leaves nothing anywhere. A replace is never split.
//
// # Adopting a dead node
//
// Adopter (adopt.go) lets the live node with the smallest ID replay the
// shipped WAL (wal.replicate: objstore) of every node whose lease expired
// into files, then remove it from the registry, so queries stop waiting
// for it.
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
// rather than answer without its rows, unless the query allows partial
// results (Scope.Partial): then it reads that node's files only. Every
// node may hold rows of the table, so every node is asked.
//
// # Splitting a scan
//
// A plain scan of one table (filter and projection only) is answered in
// parts, one per node, that clients fetch in parallel. Parts are cut by
// writer node, not by partition (a departure from DESIGN.md, which says
// each owner scans its partitions: after the ring changes, a partition's
// rows sit in its old owner's files and buffer until flushed, so a cut by
// partition would need every part to pull from every node; a cut by
// writer needs none, and with rows placed by owner the two coincide once
// buffers have flushed): every file records the node whose WAL
// its rows came from (catalog.File.Node) and every node's buffer holds
// only rows that node acknowledged, so node W's part is W's files plus
// W's buffer, cut at one WAL position as above, and the union of the
// parts is every row once. Splitter (split.go) makes one part per node
// that is up or draining and gives the files of writers that are no
// longer live to the planning node's part; a Scope (scope.go) carried in
// the context narrows the Reader to one part. A part served by its own
// node pulls nothing; served by another node it pulls the owner's buffer,
// so it is right wherever it runs.
//
// # Membership
//
// Members (members.go) renews this node's lease in the catalog's registry
// (catalog.Membership) every third of the lease, re-reads the registry and
// rebuilds the ring when the set of live nodes changed. A node whose lease
// expires (crash, cut off from the catalog) leaves the ring at the next
// refresh of every other node, i.e. within lease + refresh interval.
package shard
