// Package backup keeps the catalog recoverable: metadata snapshots (create,
// list, validate, status, restore) and a rebuild of the catalog from the
// Parquet objects alone. Byte layouts are in docs/format/metadata-backup.md.
//
// # Snapshots
//
//	catalog ──Create──► backups/metadata/<name>.json           (snapshot, first)
//	                    backups/metadata/<name>.manifest.json  (sha256, counts; last)
//
// A snapshot holds every table (schema, config, FlushedLSN, creation time)
// and its whole file index. Each table is read consistently: its
// FlushedLSN before and after reading its files must agree, so a snapshot
// never pairs new files with an old FlushedLSN (which would make WAL replay
// apply their rows twice). Snapshots go to the backup endpoint's bucket when
// one is configured, else to the primary bucket, never under tables/ (the
// node's start-up garbage collection owns that prefix). Create is manual
// (OlapService TriggerBackup, REST /v1/metadata/backup, `miniodb backup
// create`) or scheduled (Run: backup.enabled, backup.interval); Config.Keep
// bounds how many are kept.
//
// # Restore
//
// Restore checks the snapshot's checksum, takes the restore lock (Locker:
// Redis SET NX PX with a compare-and-delete unlock, flock(2) for the
// embedded catalog) so that two nodes or operators cannot restore at once,
// and applies one of the seed's modes:
//
//	complete  the catalog becomes the snapshot: tables not in it are dropped
//	          (entries only, never objects); refused on a catalog with tables
//	          unless ForceOverwrite
//	merge     tables missing from the catalog are added; tables in both are
//	          kept, or replaced with ForceOverwrite
//	dry_run   (or DryRun with either mode) the plan; nothing changes
//
// BackupCurrent snapshots the current catalog first. A table is written as
// CreateTable at LSN 0 followed by one CommitFlush of its files at its
// FlushedLSN. The result warns about objects of restored tables that the
// snapshot does not reference: a node starting on the restored catalog
// deletes them as garbage, so rebuilding is the better repair when the
// objects are newer than the backup.
//
// NOTE: nodes load the catalog at start-up and keep their own view of it,
// so a restore is for stopped nodes or a lost catalog (`miniodb backup
// restore`); the API on a running node does dry runs only.
//
// # Rebuild from objects
//
// Rebuild lists tables/, reads each Parquet footer (ranged reads: table,
// partition, day, min/max LSN, Arrow schema, row count), recomputes the
// column stats from the rows, and takes configs, creation times and
// file-less tables from the newest valid snapshot. A table's FlushedLSN is
// the highest LSN its files cover (or the snapshot's, if higher), so WAL
// replay on the node applies exactly the rows no file holds. It refuses a
// catalog with tables unless forced. Giving a lost Redis catalog the node's
// identity (<data_dir>/catalog.id) is the caller's job (cmd/miniodb), as is
// removing it again if the rebuild fails half-way.
//
// # Retention and compaction
//
// Both change a table's files through FileSwapper (the node's ingest
// service: catalog.ReplaceFiles, then the in-memory view new queries plan
// from), never the WAL or FlushedLSN, and never block ingest: a flush only
// adds files of its own, and a swap whose sources changed meanwhile fails
// as a whole. Objects leave the store only after the grace period
// (Retention.DeleteLater), so queries that planned them finish; after a
// restart the node's garbage collection deletes what was still waiting.
//
//	Retention  files whose day is before today - retention_days (the
//	           config file's tables.<name>, else the table's config, else
//	           tables.default_config) leave the catalog
//	Compactor  runs of small files (< TargetBytes/2) of one partition, day
//	           and schema, at least MinFiles, are merged into files of about
//	           TargetBytes with the union LSN range and recomputed stats;
//	           the footer key miniodb.replaces names the sources, so a
//	           rebuild during their grace period does not count them twice
//
// # Data backup
//
// DataBackup copies the committed objects of backup_enabled tables to the
// backup endpoint's bucket under the same keys. Its durable queue is the
// difference between the catalog and that bucket: every pass copies what
// is referenced but missing there, so a failed copy is retried and a
// restart skips nothing. Nothing is deleted from the backup bucket.
// Recover (RecoverData) copies a table's backed-up objects whose day is in
// range and that its catalog no longer references back to the primary and
// adds them through FileSwapper; compaction sources whose merged object is
// backed up too are left out, so rows are never doubled, and a repeat finds
// nothing to do.
//
// Not built yet (the API answers Unimplemented): backup and recovery of
// single ids (RecoverData's id_range, TriggerBackup's id).
package backup
