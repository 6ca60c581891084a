// Package catalog records what MinIODB knows about its data: tables (schema
// and per-table config), the Parquet files that hold each table's flushed
// rows, and the WAL position each table's files cover.
//
// One interface, Catalog, has two backends: an embedded bbolt file (the
// single-node default, in this package) and Redis (for clusters). Every
// backend passes the acceptance suite in acceptance.go.
//
// # Invariants
//
//   - A table's FlushedLSN only grows, except when the table is replaced or
//     dropped. Every WAL record of the table whose LSN is <= FlushedLSN is
//     already in the table's files (or obsolete because of a replace), so WAL
//     replay skips it: this is what makes replay exactly-once.
//   - CommitFlush adds files and advances FlushedLSN in one atomic step; a flush
//     whose snapshot is older than the table's FlushedLSN (the table was
//     replaced meanwhile) is refused with ErrStaleFlush and changes nothing.
//   - The catalog version increases on every change.
//
// # bbolt layout
//
//	meta/version            -> uint64 big-endian, bumped by every update
//	tables/<name>           -> JSON tableRecord (schema as Arrow IPC bytes)
//	files/<table>/<key>     -> JSON File (nested bucket per table)
//
// Object keys of files follow
// tables/<table>/shard=<p>/date=<yyyy-mm-dd>/<ulid>.parquet.
package catalog
