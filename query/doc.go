// Package query runs user SQL on the node's DuckDB and streams the answer as
// Arrow record batches.
//
// For every query the engine opens a fresh DuckDB connection and, on it,
// defines one TEMP VIEW per table the statement reads, named like the table:
//
//	CREATE TEMP VIEW "t" AS SELECT "c1", "c2", ...
//	  FROM (SELECT * FROM read_parquet([<cached files>], union_by_name = ...)
//	        UNION ALL BY NAME
//	        SELECT * FROM "__mdb_buf_0")
//
// where __mdb_buf_0 holds the table's buffer snapshot: an Arrow scan of the
// snapshot's batches copied into a TEMP TABLE (see bufferRelation for why the
// zero-copy Arrow view cannot be read directly). Temp objects belong to the connection, so
// closing the connection after the query removes them; concurrent queries
// never see each other's views.
//
// Results are executed as DuckDB streaming results and fetched chunk by
// chunk (duckdb-go's database/sql and Arrow APIs materialise the whole result
// first), so memory does not grow with the result size.
//
// # Sandbox
//
// Before anything reaches DuckDB the statement is parsed by DuckDB itself
// (json_serialize_sql) and checked by package query/sandbox: one read-only
// SELECT, no table functions, no host-revealing functions, plain table
// names. DuckDB additionally runs with enable_external_access=false,
// allowed_directories = the read cache (and its temp folder), no extension
// auto-install or auto-load, and a locked configuration, so a statement that
// slipped past the check still cannot read the host's files.
package query
