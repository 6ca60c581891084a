// Package duckarrow hands Arrow record batches to DuckDB as a view that
// reads them, for as long as a statement over the view runs. The query
// engine copies a table's buffer into DuckDB through it, and package
// duckwrite writes a flush's Parquet files through it. Both also share
// from here the quoting of names and literals in their SQL (Ident,
// String) and the interruption of a connection when a context ends
// (InterruptOnDone).
package duckarrow
