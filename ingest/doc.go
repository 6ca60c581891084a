// Package ingest owns the write path of a node: per-table columnar buffers of
// the Arrow record batches clients send, made durable by the write-ahead log
// (package ingest/wal), flushed to Parquet objects that are committed to the
// catalog together with the WAL position they cover, and replayed exactly
// once after a restart.
//
// # Transactions in the WAL
//
// One bulk ingest (one DoPut) is one transaction. Each received batch is
// appended to the WAL as a DATA record as it arrives (so the disk works while
// the client still sends); a COMMIT record ends the transaction, and the
// client is acknowledged once the COMMIT is durable (group commit + fsync).
// Replay applies a transaction only when its COMMIT is present, so a client
// that disconnects mid-stream, or a crash before the COMMIT, leaves nothing
// behind. The transaction's position ("its LSN") is the LSN of its COMMIT.
// Record payloads are laid out in docs/format/ingest-wal-records.md.
//
// # Exactly once
//
// Each table's buffer holds committed transactions in LSN order. A flush
// takes the durable prefix of the buffer, writes one LZ4_RAW Parquet file per
// (partition, day) to the object store, and commits the files to the catalog
// in one step that also raises the table's FlushedLSN to the last LSN it
// covers. Replay skips every COMMIT whose LSN is <= its table's FlushedLSN.
// Every table also has an incarnation (catalog.Table.Incarnation, a ULID
// set by create and replace) that every COMMIT and file carries: replay,
// CommitFlush and Refresh drop rows of an earlier life of the table, so a
// replace or re-create on another node never lets old rows into the new
// table, and an append racing one is refused with ErrConflict.
// FlushedLSN is this node's entry of catalog.Table.Flushed (Config.NodeID):
// nodes sharing a catalog each have their own WAL, hence their own entry,
// and every file records whose WAL its LSNs are (catalog.File.Node, footer
// key miniodb.node).
// A crash between upload and catalog commit leaves unreferenced objects,
// which start-up deletes once they are older than Config.OrphanGrace (1h):
// the catalog is read after the listing, and the grace spares objects that
// another node sharing the bucket has uploaded but not yet committed. WAL segments are deleted once every record
// in them is below the lowest LSN still needed by a buffer or an open
// transaction.
//
// # Split ingests and a second copy
//
// Stage writes an ingest's DATA records without committing; Commit ends it
// as Ingest does. A node that is one of several owners of a split ingest
// Prepares its part instead (a PREPARE record naming the ingest's id) and
// applies the outcome the receiving node records in the catalog's register
// (Decider) when told (Resolve), after Config.PrepareTimeout, or at
// replay (twophase.go). With Config.ShipWAL every group of WAL records is
// also put into the bucket before it counts as durable (ship.go), and
// another node can replay a dead node's shipped records into files on its
// behalf (Adopt, adopt.go), raising its flushed positions so that nothing
// is applied twice.
//
// Files are LZ4_RAW-compressed with 122880-row row groups, not zstd as
// DESIGN.md has it: queries are faster for files about a third larger
// (parquetopts.go has the measurements). NOTE: the flush encodes them with
// DuckDB's Parquet writer (Config.Parquet, package duckwrite) where it
// takes the table's schema, in about half the CPU time of arrow-go's,
// which DESIGN.md names; arrow-go writes the other schemas and every file
// of compaction, and reads them all.
//
// # Tables and schemas
//
// A table's columns are all nullable. Ingest with a new column adds it; a
// batch that lacks a column reads as NULL there; the same column with
// another type is refused with ErrInvalid. Column names are matched
// case-insensitively, as DuckDB does. Creating a table sets its FlushedLSN to
// the current end of the WAL, so records of an earlier table of the same
// name can never be replayed into it. Replacing a table is a COMMIT with the
// replace flag: once durable, the catalog drops the old files and moves
// FlushedLSN to just below the COMMIT.
//
// CreateTable and DropTable (ddl.go) serve SQL DDL. Dropping a table is one
// catalog step (table and file entries); its buffer is released and its
// objects deleted afterwards (a crash leaves orphans that start-up
// collects). Replay skips the records of a table the catalog does not know,
// and an ingest still running on a dropped table fails before its COMMIT,
// so no COMMIT of the old table can follow the creation of a new table of
// the same name.
//
// # Partitions
//
// Rows go to one of Config.Partitions partitions by hashing the table's shard
// key column ("id" by default; SplitByOwner uses the same hash to place rows
// on nodes); a table without one sends the batches of a
// transaction round-robin (batch j of LSN l to partition (l+j) mod
// Partitions), so one large ingest flushes as several files written in
// parallel: as many encoded at once as there are cores, each uploaded
// while the next is encoded. The day of a row is taken from the table's
// time column ("timestamp" by default, a timestamp or date column) or else
// from the transaction's arrival time (UTC).
//
// Each flushed file records min/max of the shard key and time column in
// catalog.File.Stats (filestats.go); the query engine prunes files by them.
package ingest
