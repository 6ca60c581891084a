// Package duckwrite writes Arrow record batches as Parquet files with
// DuckDB's Parquet writer, which encodes a flush's files in about half
// the CPU time of arrow-go's (SF1 lineitem, eight 750k-row files on two
// cores: 1.5 s against 2.8 s; bench/notes.go).
//
// A file it writes carries the batches' Arrow schema under ARROW:schema,
// as arrow-go's writer stores it, so that arrow-go reads the file back
// with the very types it was written from. Supports says which schemas
// round-trip so; the flush writes the others with arrow-go (package
// ingest).
//
// NOTE: DESIGN.md names arrow-go as the Parquet library. It stays the
// reader, and the writer of compaction and of the schemas DuckDB does not
// take; DuckDB writes the flush's files because the flush is CPU-bound in
// the Parquet encoder.
package duckwrite
