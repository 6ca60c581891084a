// Package duckarrow hands Arrow record batches to DuckDB as a view that
// reads them, for as long as a statement over the view runs. The query
// engine copies a table's buffer into DuckDB through it, and package
// duckwrite writes a flush's Parquet files through it. Ident and String
// quote names and literals in the SQL both write around it.
package duckarrow
