// Package objstore stores MinIODB's Parquet objects: one small Bucket
// interface (put, get, get-range, stat, list, delete), its backends (a local
// folder here; S3/MinIO later), and a local read cache from which DuckDB reads
// the objects (DuckDB's own httpfs is not available and a disk cache is
// faster anyway).
//
// Keys are slash-separated relative paths such as
// tables/<table>/shard=<p>/date=<yyyy-mm-dd>/<ulid>.parquet. The file backend
// stores a key at <root>/<key>; a Put is atomic (write a temporary file,
// fsync, rename, fsync the folder), so a reader never sees half an object.
//
// Not-found is classified with errors.Is(err, ErrNotFound), never by
// matching messages.
package objstore
