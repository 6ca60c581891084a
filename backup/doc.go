// Package backup keeps the catalog and the data recoverable: metadata
// snapshots (create, list, validate, status, restore), a rebuild of the
// catalog from the Parquet objects alone, retention and compaction, and a
// data backup bucket from which a table's rows are recovered by day range
// and/or id. Byte layouts are in docs/format/metadata-backup.md.
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
// restore`); the API on a running node does dry runs only. Data recovery
// (RecoverData, below) is different: it adds files through the running
// node's ingest service and needs no restart.
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
// TriggerBackup narrows a pass to a table, a day and/or an id: for an id,
// the files whose min/max stats of the table's id column (its shard_key,
// else "id") include it, and those without stats; rows still in the
// buffer are in no object yet. A named table without an id column is
// refused (ErrInvalid).
//
// # Data recovery
//
// Recover (RecoverData) brings back what a table lost: the rows of its
// backed-up objects whose day is in range and that its catalog no longer
// references (with ids or an id pattern: only the rows whose id matches)
// that the live table lacks. A row is present when the live table holds
// an equal row (every column of the table equal, absent ones NULL): its
// catalog files, and the node's durable buffer (DataConfig.Live, the
// ingest service's Snapshot). A row written again with other values (a new
// timestamp) is another row, and the backed-up one comes back too. Each
// row counts as often as the one backed-up object holding it most often
// holds it, less its live copies, so a compaction or an earlier recovery
// that copied rows into another backed-up object never doubles them.
// Compaction sources whose merged object is backed up are not read. Ids
// are matched as text, as the column prints its values (int64 42 is
// "42"): exact ids, or a glob (* any run of characters, ? one). A table
// whose id column (shard_key, else "id") is missing is refused
// (ErrInvalid) for recovery by id.
//
//	backed-up object, all rows missing   copied back under its own key
//	backed-up object, some rows missing  those rows -> new object, same
//	                                     folder, source's partition, day and
//	                                     LSN range, footer miniodb.recovered_from
//
// The files are added in one FileSwapper step (catalog.ReplaceFiles, then
// the node's in-memory view), so on a running node queries see the rows
// at once and a restart keeps them; the WAL and FlushedLSN are untouched
// (the rows are flushed rows already). Writing files rather than
// re-ingesting rows through the WAL keeps them out of the buffer's memory
// and flush, keeps their partition, day and LSN range, and makes the step
// atomic. A rebuild leaves out a recovered file whose source object it
// also finds (its rows are in the source). Idempotent: a repeat finds
// every row present and adds nothing. Recoveries on one node run one at a
// time.
//
// NOTE: a recovery holds the wanted rows of the objects it reads in
// memory; recover a large table a few days at a time. Another node's
// buffer is not compared: a row written again there and not yet flushed
// can come back twice. Equal rows that were lost from different objects
// (a row ingested twice, flushed apart) come back once.
package backup
