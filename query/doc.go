// Package query runs user SQL on the node's DuckDB and streams the answer as
// Arrow record batches.
//
// For every query the engine opens a fresh DuckDB connection and, on it,
// defines one TEMP VIEW per table the statement reads, named like the table:
//
//	CREATE TEMP VIEW "t" AS SELECT "c1", "c2", ...
//	  FROM (SELECT * FROM read_parquet([<cached files>], hive_partitioning = false, ...)
//	        UNION ALL BY NAME
//	        SELECT * FROM "__mdb_buf_0")
//
// where __mdb_buf_0 holds the table's buffer snapshot: an Arrow scan of the
// snapshot's batches copied into a TEMP TABLE (see bufferRelation for why the
// zero-copy Arrow view cannot be read directly). Temp objects belong to the connection, so
// closing the connection after the query removes them; concurrent queries
// never see each other's views. A table whose buffer is empty and whose files
// all carry its current schema is read from read_parquet alone (no copy).
//
// Files are pruned before the view is defined: for a single-table SELECT the
// sandbox reports the WHERE's literal comparisons ANDed at the top
// (sandbox.Bound), and a file whose catalog min/max (catalog.File.Stats)
// cannot satisfy one is left out (prune.go). Anything not understood keeps
// the file.
//
// Describe names the table of a plain scan (Statement.ScanOf), which a
// cluster answers in per-node parts: one SELECT over one base table with
// no grouping, ordering, limit, DISTINCT, window, subquery or sample
// (sandbox.Analysis.Scan), calling only scalar functions. Which functions
// are scalar is DuckDB's own word: at Open the engine reads the names of
// every non-scalar function (aggregate, window, table, pragma, macro) from
// duckdb_functions(), and a name that is also something else counts as
// not scalar.
//
// A verbatim scan (SELECT * or bare columns of one table, no WHERE:
// sandbox.Analysis.Verbatim) streams the batches of files this node still
// holds in memory (Config.Memory, package hotcache) and of the buffer
// without DuckDB, under the schema DuckDB described for the query
// (memscan.go). A scan of every column decodes the other files of the
// table's current schema itself with arrow-go, handing them to the memory
// cache while it has room (filescan.go); DuckDB reads the rest. NOTE: this
// departs from DESIGN.md's "DoGet streams DuckDB's result": re-decoding
// rows this node wrote a moment ago cost a full scan two thirds of its
// speed, and only a scan that decodes file by file can warm the memory
// cache (bench/notes.go).
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
// slipped past the check still cannot read the host's files. The analysis of
// a query text that passed is remembered (analysis_cache.go): it depends on
// the text alone, and the GetFlightInfo and DoGet of one query then parse it
// once.
//
// # Limits
//
// Config.MaxResultRows and MaxResultBytes cap what one stream hands out
// (rows, and the size of the batches' Arrow buffers); the batch that would
// cross a cap is not delivered and the stream ends with ErrResultTooLarge
// (also ErrResources), naming the cap and its config key (limits.go).
//
// Memory: DuckDB 1.5 scopes memory_limit and max_temp_directory_size
// GLOBAL (duckdb_settings() lists no per-connection memory setting), so
// the honest bound is per node: Config.MemoryLimit is what all running
// queries share and Config.MaxTempSize bounds what they spill, both set
// before lock_configuration, so no statement can raise them. A query that
// needs more fails with ErrResources, its message naming both settings,
// and the node keeps serving; Config.MaxConcurrent bounds how many queries
// share the memory at once.
//
// # Statements other than SELECT
//
// Prepare classifies a statement (statement.go). DuckDB's parser decides
// first: json_serialize_sql serializes SELECT statements only, and those go
// to the sandbox as above. When DuckDB reports that the text is not a
// SELECT, duckdb_extract_statements must find exactly one well-formed
// statement, and then a small strict grammar of our own (ddl.go, lex.go:
// a tokenizer with DuckDB's lexical rules, no regular expressions) accepts
// only these forms and refuses everything else with ErrRefused:
//
//	CREATE TABLE [IF NOT EXISTS] t (col type [NULL], ...) [WITH (option = value, ...)]
//	CREATE TABLE [IF NOT EXISTS] t [WITH (option = value, ...)] AS <query>
//	DROP TABLE [IF EXISTS] t [CASCADE | RESTRICT]
//	INSERT INTO t [(col, ...)] [BY NAME | BY POSITION] VALUES (...), ... | <query>
//
// t may be written main.t or miniodb.main.t (Catalog, Schema). The table
// options are the seed's per-table config (TableOptions): buffer_size,
// flush_interval_seconds, retention_days (integers), backup_enabled
// (true/false), shard_key and time_column (column names). NOT NULL,
// PRIMARY KEY, DEFAULT and other constraints are refused: every column is
// nullable.
//
// Nothing of the user's text runs in DuckDB except a source <query>, which
// the sandbox has checked as one SELECT like any query. Column types are
// resolved by DuckDB from a CREATE TEMP TABLE rendered from our own tokens.
// An INSERT runs as INSERT INTO a TEMP TABLE shaped like the target, built
// from our parsed prefix and the checked query, so DuckDB applies its own
// INSERT rules (column lists, BY NAME, casts, NULL for missing columns);
// Rows then streams that TEMP TABLE, cast to the table's exact Arrow types,
// for the caller to write through ingest. The engine never writes a table
// itself.
//
// # Qualified names
//
// Tools qualify tables with the catalog and schema the service presents
// (main.t, miniodb.main.t). The sandbox accepts bare names only, so before
// it runs, such a statement's parse tree (json_serialize_sql) has those
// qualifiers removed and DuckDB prints it back to SQL
// (json_deserialize_sql); the printed SQL is what the sandbox checks and
// what runs (qualify.go). Other qualifiers (memory.main.t, temp.t,
// information_schema.x) stay and are refused. NOTE: a CTE named like the
// table then shadows it (WITH t AS (...) SELECT * FROM main.t reads the
// CTE); this reads less, never more.
//
// # Parameters
//
// Parameters ($1, ?, $name) are bound by position from an Arrow record
// batch (params.go): one execution per row. Their schema comes from
// DuckDB's prepared statement; a parameter DuckDB cannot type (SELECT ?)
// is typed null and accepts any value.
package query
