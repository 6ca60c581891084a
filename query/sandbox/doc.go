// Package sandbox decides whether a user's SQL may run and which tables it
// reads, from DuckDB's own parse tree, never from regular expressions.
//
// # How it is used
//
// The caller asks DuckDB to parse the user's SQL, binding the text as a
// parameter so it is never executed:
//
//	SELECT json_serialize_sql(CAST(? AS VARCHAR))::VARCHAR   -- see SerializeSQL
//
// and passes the resulting JSON to [Analyze]. Both casts matter with
// duckdb-go: without the first DuckDB cannot type the parameter, without the
// second the driver returns the JSON type as a Go map instead of text. The
// serializing connection must be configured like the executing one (same
// DuckDB build, same parser settings), so that both parse the text the same
// way; leave serialization_compatibility at its default there, so that no
// field of the tree is dropped. If Analyze returns an error the statement must not run; otherwise the
// caller runs the original text and may use [Analysis.Tables] to check
// permissions and to prepare the tables the statement reads.
//
// # Rules
//
// A statement is permitted only if all of these hold:
//
//   - It is exactly one statement, and a SELECT: plain selects, set
//     operations (UNION/EXCEPT/INTERSECT), WITH (including RECURSIVE and
//     USING KEY), VALUES, PIVOT/UNPIVOT inside a SELECT, window functions,
//     subqueries anywhere and lateral joins are fine. json_serialize_sql
//     reports every non-SELECT statement (ATTACH, COPY, SET, PRAGMA, CALL,
//     CREATE, INSERT, EXPLAIN, ...) with "Only SELECT statements can be
//     serialized to json!"; that, an empty input and more than one statement
//     give a [RefusedError]. Any other DuckDB error (the parser's) gives a
//     [SyntaxError], so the caller can report InvalidArgument rather than
//     PermissionDenied.
//   - Every table function is refused except range, generate_series and
//     unnest, called by bare name. These only generate rows from their
//     arguments; everything else (read_csv, read_parquet, read_json,
//     read_text, read_blob, glob, query, query_table, sniff_csv,
//     parquet_metadata, duckdb_settings(), test_all_types(), ...) reads
//     files, the network, the catalog or the configuration.
//   - No function (scalar, aggregate or window) on the deny-list in rules.go
//     is called: configuration and session state (current_setting,
//     getvariable, getenv, current_database, ...), SQL execution and parsing
//     (query, json_execute_serialized_sql, json_serialize_sql,
//     json_deserialize_sql, sql_auto_complete), files (read_*, glob,
//     parquet_*), sequences (nextval, currval, setval), state changes and
//     delays (setseed, write_log, sleep_ms, pg_sleep), the duckdb_* and
//     pragma_* introspection families, the PostgreSQL catalog helpers
//     (pg_* except pg_typeof, pg_size_pretty and pg_collation_for,
//     has_*_privilege, obj_description, ...) and extension namespaces.
//     version() is allowed: it only names the DuckDB release. Names are
//     compared case-insensitively (DuckDB lower-cases them too); a function
//     name with non-ASCII characters is refused outright, so homoglyphs such
//     as "ｃurrent_setting" never reach the catalog.
//   - No function call is qualified with a catalog or schema, because a
//     qualifier selects a different function namespace. The only exception
//     is the schema "main" on the few functions DuckDB's grammar itself emits
//     that way for syntax sugar ([1,2] is main.list_value, {'a':1} is
//     main.struct_pack, EXTRACT is main.date_part, TRIM, SUBSTRING, ...).
//     This also refuses DuckDB's method-call syntax x.upper(), which parses
//     exactly like a schema-qualified call; write upper(x) instead.
//   - Every base table name matches ^[a-zA-Z][a-zA-Z0-9_]{0,63}$, the
//     service's table-name rule. This refuses replacement scans such as
//     FROM 'file.csv', FROM '/etc/passwd' and FROM 'http://x/y.csv'.
//   - No base table is qualified with a catalog or schema: main.t,
//     memory.main.t, information_schema.tables, pg_catalog.pg_class and
//     system.main.duckdb_tables are all refused. Tables are referenced by
//     bare name; accepting "main." would add nothing and would open the door
//     to other catalogs and schemas. The one exception is recurring.r inside
//     the recursive part of a WITH RECURSIVE ... USING KEY CTE named r,
//     which names that CTE, not a table.
//   - No base table name starts with duckdb_, sqlite_, pragma_ or pg_ (case
//     does not matter). DuckDB resolves unqualified names through the main
//     schema of its system catalog and through pg_catalog, where its
//     introspection views live (duckdb_tables, sqlite_master, pg_settings,
//     ...); the service should not let users create tables with these
//     prefixes. These two name rules also apply to references that resolve
//     to a CTE, so a mistake in modelling CTE scope cannot expose a file or a
//     system view.
//   - No time-travel clause (FROM t AT (VERSION => 1)) and no DESCRIBE, SHOW
//     or SUMMARIZE (a SHOW_REF), nor any bound or internal node type that the
//     parser never emits for user SQL.
//
// # Which tables a statement reads
//
// A base table reference whose name matches a CTE in scope is a CTE, not a
// table. Scope follows DuckDB's binder, which the tests check against DuckDB
// itself: the CTEs of a WITH clause are visible in the query it belongs to
// and in everything nested in it; the body of the i-th CTE sees only the
// CTEs defined before it (not itself, not later ones); in a recursive CTE
// (a RECURSIVE_CTE_NODE) the CTE's own name is visible only in the
// recursive, right-hand side of the UNION. Names compare case-insensitively
// (ASCII), as DuckDB compares identifiers. Tables are distinct by the same
// comparison and keep the spelling of their first reference; they are listed
// in the order of their first reference in the SQL text (query_location).
// Scans counts references in the text: a self-join counts 2, and a reference
// inside a CTE body counts once however often the CTE is used (InCTE tells
// the caller that the CTE may scan it more than once).
//
// # Plain scans
//
// Analysis.Scan names the table of a statement whose every output row
// comes from one input row of one base table (scan.go): a single
// SELECT_NODE without CTEs over a BASE_TABLE without SAMPLE, with no
// result modifiers (ORDER BY, LIMIT/OFFSET, DISTINCT), GROUP BY, HAVING,
// QUALIFY, window expressions, subqueries, or calls written as aggregates
// (DISTINCT, FILTER or ORDER BY in the parentheses). Whether a function is
// an aggregate is not in the parse tree, so Analysis.Functions lists the
// names called and Analysis.PlainScan takes the caller's judgement.
//
// A plain scan is also Analysis.Verbatim when its answer is the table's
// stored values: no WHERE, no column aliases on the table, and a select
// list of only a bare * and column references without an alias.
//
// # Why
//
// This is defence in depth. DuckDB itself runs with
// enable_external_access=false and a locked configuration, so a statement
// that slipped through should still fail; but the sandbox refuses it before
// it reaches the engine, with a message that names the offending construct,
// and it is the only place that knows which tables a statement reads.
//
// # JSON fields relied on
//
// The whole document is decoded preserving key order and walked
// generically: every object and every array, whatever key it sits under, so
// no nesting escapes the checks. Within it:
//
//   - top level: "error" (bool), "error_type", "error_message",
//     "statements" (array);
//   - any object: "type" (BASE_TABLE, TABLE_FUNCTION, RECURSIVE_CTE_NODE,
//     SHOW_REF, BOUND_*, ...) and "class" (BOUND_*);
//   - BASE_TABLE: "table_name", "schema_name", "catalog_name", "at_clause",
//     "query_location";
//   - TABLE_FUNCTION: "function", an object with "function_name", "schema"
//     and "catalog";
//   - any object with a "function_name" (classes FUNCTION and WINDOW):
//     "function_name", "schema", "catalog";
//   - any object with a "cte_map" (query nodes): "cte_map"."map", an array of
//     {"key": name, "value": {...}};
//   - RECURSIVE_CTE_NODE: "cte_name", "left", "right";
//   - for plain scans only, on the statement's SELECT_NODE: "modifiers",
//     "group_expressions", "group_sets" (arrays that must be empty),
//     "having", "qualify", "sample" (null), "aggregate_handling"
//     (STANDARD_HANDLING), "from_table"."sample"; on FUNCTION objects
//     "distinct", "filter", "order_bys"."orders". A field missing or of
//     another shape makes the statement not a plain scan, never malformed.
//
// Input that is not such a document (not JSON, missing or mistyped fields)
// gives an error wrapping [ErrMalformed]; it is the caller's bug, not the
// user's, and the statement must not run.
package sandbox
