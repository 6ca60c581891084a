// Package catalog records what MinIODB knows about its data: tables (schema
// and per-table config), the Parquet files that hold each table's flushed
// rows, and the WAL position each table's files cover, per node.
//
// One interface, Catalog, has two backends: an embedded bbolt file (the
// single-node default) and Redis (for clusters). Every backend passes the
// acceptance suite in acceptance.go; Redis does in all three of its modes.
//
// # Invariants
//
//   - Every node has its own WAL, so a table records one flushed position
//     per node (Table.Flushed; File.Node names the WAL of a file's MinLSN
//     and MaxLSN). A node's position only grows, except when the node
//     replaces the table. Every record of the table in that node's WAL
//     whose LSN is <= the position is already in the table's files (or
//     obsolete because of a replace), so the node's replay skips it: this
//     is what makes replay exactly-once.
//   - CommitFlush adds files and advances the flushing node's position in
//     one atomic step; a flush whose snapshot is older than that position
//     (the table was replaced meanwhile) is refused with ErrStaleFlush and
//     changes nothing.
//   - A table's Incarnation (a ULID) names its current life: create and
//     replace set a new one, every COMMIT record and file of the life
//     carries it, CommitFlush refuses files of another, and replay skips
//     COMMITs of another. So rows of an earlier table of the same name,
//     still in some node's buffer or WAL, never land in this one.
//   - ReplaceFiles swaps files for others (compaction, retention) in one
//     atomic step that leaves the positions alone; it fails with
//     ErrFilesChanged, changing nothing, if any file it removes is gone.
//   - The catalog version increases on every change.
//
// # bbolt layout
//
//	meta/version            -> uint64 big-endian, bumped by every update
//	tables/<name>           -> JSON tableRecord (schema as Arrow IPC bytes)
//	files/<table>/<key>     -> JSON File (nested bucket per table)
//
// # Redis layout
//
// One namespace <ns> (redis.namespace) per catalog; it is the hash tag of
// every key, so in cluster mode all keys share one slot and one transaction
// can span them (docs/format/redis-catalog.md is the full contract):
//
//	miniodb:{<ns>}:id             STRING  catalog identity, SET NX once
//	miniodb:{<ns>}:version        STRING  INCR by every change
//	miniodb:{<ns>}:tables         HASH    <table> -> JSON tableRecord
//	miniodb:{<ns>}:files:<table>  HASH    <object key> -> JSON File
//	miniodb:{<ns>}:nodes          HASH    <node id> -> JSON Node (membership)
//	miniodb:{<ns>}:leases         ZSET    <node id> scored by lease expiry, Unix ms
//	miniodb:{<ns>}:txn:<id>       STRING  "commit" or "abort": outcome of a split ingest (decisions.go)
//
//	   WATCH id version ──► GET id, version ──► read ──► MULTI
//	        writes … INCR version ──► EXEC   (nil: lost a race, retry)
//
// Writes are optimistic transactions (WATCH/MULTI/EXEC) retried with
// backoff; reads are MULTI/EXEC snapshots. A missing key reads as redis.Nil
// and becomes ErrTableNotFound. Redis runs as standalone, sentinel or
// cluster (go-redis UniversalClient), chosen by redis.mode.
//
// # Membership
//
// Both backends also implement Membership, the node registry of a cluster
// (members.go): a node renews a lease with Heartbeat; a node whose lease has
// expired is listed as down until it returns or Leave removes it. Redis
// measures leases with its own clock (TIME inside a Lua script, which also
// checks the catalog identity), so node clocks may disagree. Membership is
// not part of the data's description: it bumps no version and no metadata
// backup contains it. A bbolt file belongs to one process, so the embedded
// catalog's registry is that process's memory.
//
// # Identity
//
// A catalog outside the node can vanish behind its back (FLUSHALL, a new
// Redis, a restore of an older snapshot). Redis therefore implements
// Identified: the catalog carries a random ID written once, every call
// checks it and that the version has not gone back, and fails with
// ErrCatalogLost otherwise, changing nothing. The node keeps the ID in its
// data folder and refuses to start on a catalog without it (cmd/miniodb
// stores.go): an empty catalog is never served as the truth.
//
// Object keys of files follow
// tables/<table>/shard=<p>/date=<yyyy-mm-dd>/<ulid>.parquet.
package catalog
