// Package objstore stores MinIODB's Parquet objects: one small Bucket
// interface (put, get, get-range, stat, list, delete), its backends (a local
// folder, and S3/MinIO through minio-go), and a local read cache from which
// DuckDB reads the objects (DuckDB's own httpfs is not available and a disk
// cache is faster anyway). Every backend passes AcceptanceTest; the S3 one
// runs it against a real MinIO server.
//
// Keys are slash-separated relative paths such as
// tables/<table>/shard=<p>/date=<yyyy-mm-dd>/<ulid>.parquet. The file backend
// stores a key at <root>/<key>; a Put is atomic (write a temporary file,
// fsync, rename, fsync the folder), so a reader never sees half an object.
// Its PutFile takes a local file whole by hard link (the flush's staged
// Parquet file, which the read cache then keeps too): one copy of the bytes
// on disk instead of two.
//
// Not-found is classified with errors.Is(err, ErrNotFound), never by
// matching messages; an unreachable store is ErrUnavailable.
//
// # S3 backend
//
// S3Bucket is one endpoint and one bucket (created if missing), configured
// by the seed's minio section; an optional second endpoint, the seed's
// "backup pool", rides along (Backup) for the backup package. Per endpoint:
//
//	call ──► retry loop (exponential backoff, jitter; cenkalti/backoff)
//	           └─► circuit breaker (sony/gobreaker) ──► attempt ──► HTTP pool
//
// The rules:
//
//   - An attempt that fails for the endpoint's sake (network error, timeout,
//     5xx, 408/429) is retried up to retry_max_attempts; a 4xx answer
//     (not found, access denied) is final at once and does not count
//     against the endpoint.
//   - After breaker_failures such failures in a row the breaker opens: calls
//     fail at once with ErrUnavailable for breaker_open_timeout, then one
//     call probes; calls arriving while the probe runs wait for its verdict.
//     Callers (the flusher) back off themselves; rows stay in the WAL.
//   - Uploads at or above part_size go multipart (parallel parts when the
//     source is a file), and a failed upload is aborted, so an object is
//     whole or absent. A source that can be read again is retried.
//   - Every upload carries a full-object CRC64-NVME checksum; downloads
//     verify it at EOF (multipart objects included), and the read cache
//     checks the size against the GET answer's own description of the
//     version it returns, so a cached file is exactly one version of the
//     object, fetched in one request. Over plain HTTP the request signature
//     also covers the body's SHA-256 unless unsigned_payload is set
//     (S3Config: only for a trusted network).
//   - Over TLS (use_ssl) the endpoint's certificate must chain to ca_file's
//     CAs, or to the system's roots without one. A certificate refused is
//     final at once (no retry, not counted against the endpoint): the
//     setting has to be mended, and the error says which.
//   - Stats reports per endpoint what /v1/pool/status shows: breaker state,
//     open connections, calls in flight, attempts, failures, retries,
//     rejections and the last error.
//
// # Read cache
//
// Cache keeps whole objects on local disk, bounded by bytes (LRU), pinned
// while a query reads them, filled on demand with parallel downloads that
// concurrent queries share. Files this node flushes are moved in without a
// download. A cached object is served without asking the bucket, so
// queries over cached files keep answering while the object store is down.
//
// A fill is not fsynced (that cost a cold TPC-H run on MinIO about 0.3 s):
// the folder is adopted on restart only when the same boot of the machine
// filled it or a clean Close synced it, and is emptied otherwise.
package objstore
