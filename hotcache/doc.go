// Package hotcache keeps the Arrow batches of Parquet files in memory,
// bounded in bytes, so that a query reading a file whose rows this node
// wrote or decoded a moment ago can stream them without decoding the file
// again.
//
// A flush puts a file's batches under the file's object key once the
// catalog has committed the file (ingest); the query engine asks for them
// by key when it answers a verbatim scan (query, memscan.go). Object keys
// are never reused (a ULID per file), so an entry is never stale: a file
// removed by retention, compaction or DROP TABLE is simply never asked for
// again and leaves with the least recently used entries.
//
// A scan that decodes files itself (query, filescan.go) adds each file's
// batches as it decodes them to a Filling (Fill), which keeps them only in
// free room: reads never evict what the node flushed.
//
// Put and a Filling copy the batches into memory the cache allocates (C
// memory by default, outside the Go heap), joining small ones; Get retains
// what it hands over, and an evicted entry releases only the cache's
// reference, so a query streaming it keeps its batches.
package hotcache
