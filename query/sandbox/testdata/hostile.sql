--# Statements the SQL sandbox must refuse, replayed by the package tests
--# (query/sandbox) and by the service's end-to-end tests over Flight SQL.
--# Format: every line that is empty or starts with "--#" is a comment of this
--# file; every other line is one statement. Inside a statement the two
--# characters \n stand for a newline and \\ for a backslash; nothing else is
--# escaped, and non-ASCII characters are written as UTF-8. A line starting
--# with "--" but not "--#" is SQL (a statement that begins with a comment).
--# The "--#" line above each statement names the case.
--# Generated from hostileCases in hostile_test.go; regenerate with
--#   go test -tags duckdb_arrow ./query/sandbox/ -run TestHostileFile -update

--# read_csv_etc_passwd
SELECT * FROM read_csv('/etc/passwd')

--# read_csv_auto
SELECT * FROM read_csv_auto('/etc/passwd')

--# read_parquet_s3
SELECT * FROM read_parquet('s3://x/y')

--# read_json_http
SELECT * FROM read_json('http://x/y.json')

--# read_text
SELECT * FROM read_text('/etc/passwd')

--# read_blob
SELECT * FROM read_blob('/etc/passwd')

--# glob_star
SELECT * FROM glob('*')

--# sniff_csv
SELECT * FROM sniff_csv('/etc/passwd')

--# parquet_metadata
SELECT * FROM parquet_metadata('x.parquet')

--# replacement_scan_etc_passwd
SELECT * FROM '/etc/passwd'

--# replacement_scan_http
SELECT * FROM 'http://x/y.csv'

--# replacement_scan_glob
FROM 'data/*.parquet'

--# replacement_scan_quoted_identifier
SELECT * FROM "x.csv"

--# read_csv_in_subquery
SELECT (SELECT count(*) FROM read_csv('/etc/passwd'))

--# read_text_in_cte
WITH x AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM x

--# read_csv_lateral
SELECT * FROM t, LATERAL read_csv(t.path)

--# read_csv_in_union
SELECT 1 UNION ALL FROM read_csv('x')

--# read_csv_in_having
SELECT a FROM t GROUP BY a HAVING a IN (SELECT * FROM read_csv('/etc/passwd'))

--# bad_function_next_to_allowed_ones
SELECT * FROM range(3) r, generate_series(1, 2) g, read_csv('x') c

--# read_text_as_scalar
SELECT read_text('/etc/passwd')

--# attach
ATTACH 'x.db'

--# attach_memory
ATTACH ':memory:' AS m

--# detach
DETACH m

--# copy_to
COPY t TO '/tmp/x.csv'

--# copy_from
COPY t FROM '/etc/passwd'

--# copy_query_to
COPY (SELECT * FROM t) TO '/tmp/x.parquet' (FORMAT parquet)

--# export_database
EXPORT DATABASE '/tmp/x'

--# import_database
IMPORT DATABASE '/tmp/x'

--# install_httpfs
INSTALL httpfs

--# load_httpfs
LOAD httpfs

--# set_external_access
SET enable_external_access = true

--# set_x
SET x = 1

--# set_variable
SET VARIABLE x = 1

--# reset
RESET enable_external_access

--# pragma
PRAGMA version

--# call
CALL duckdb_settings()

--# create_table
CREATE TABLE x (a INTEGER)

--# create_table_as
CREATE TABLE x AS SELECT * FROM t

--# create_view
CREATE VIEW v AS SELECT 1

--# create_macro
CREATE MACRO m(x) AS x + 1

--# create_secret
CREATE SECRET (TYPE s3, KEY_ID 'a', SECRET 'b')

--# drop_table
DROP TABLE t

--# insert
INSERT INTO t VALUES (1)

--# update
UPDATE t SET a = 1

--# delete
DELETE FROM t

--# merge
MERGE INTO t USING u ON t.a = u.a WHEN MATCHED THEN DELETE

--# alter_table
ALTER TABLE t ADD COLUMN b INTEGER

--# vacuum
VACUUM

--# checkpoint
CHECKPOINT

--# begin
BEGIN

--# use
USE memory

--# explain
EXPLAIN SELECT 1

--# explain_analyze
EXPLAIN ANALYZE SELECT 1

--# prepare
PREPARE p AS SELECT 1

--# pivot_statement_without_in
PIVOT t ON a USING sum(b)

--# update_extensions
UPDATE EXTENSIONS

--# two_selects
SELECT 1; SELECT 2

--# select_then_drop
SELECT 1; DROP TABLE t

--# select_then_attach
SELECT * FROM t; ATTACH 'x'

--# comment_hides_semicolon
SELECT 1 /* ; */ ; ATTACH 'x'

--# line_comment_then_copy
-- comment\nCOPY t TO 'x'

--# only_a_comment
-- nothing here

--# only_a_semicolon
;

--# fullwidth_semicolon
SELECT 1；ATTACH 'x'

--# no_break_space_keyword
ATTACH 'x'

--# zero_width_space_before_semicolon
SELECT 1​; ATTACH 'x'

--# fullwidth_homoglyph_function
SELECT ｃurrent_setting('threads')

--# cyrillic_homoglyph_function
SELECT сurrent_setting('threads')

--# fullwidth_homoglyph_table
SELECT * FROM ｔ

--# quoted_upper_case_function
SELECT "CURRENT_SETTING"('threads')

--# current_setting_allowed_directories
SELECT current_setting('allowed_directories')

--# current_setting_in_lambda
SELECT list_transform([1], x -> current_setting('threads'))

--# current_setting_as_window
SELECT current_setting('threads') OVER ()

--# getenv_home
SELECT getenv('HOME')

--# getenv_in_order_by
SELECT * FROM t ORDER BY (SELECT getenv('HOME'))

--# getvariable
SELECT getvariable('x')

--# current_database
SELECT current_database()

--# json_execute_serialized_sql
SELECT json_execute_serialized_sql(json_serialize_sql('SELECT 1'))

--# json_execute_serialized_sql_table
SELECT * FROM json_execute_serialized_sql('{}')

--# json_serialize_sql
SELECT json_serialize_sql('SELECT 1')

--# json_deserialize_sql
SELECT json_deserialize_sql('{}')

--# sql_auto_complete
SELECT * FROM sql_auto_complete('SEL')

--# query_function
SELECT * FROM query('SELECT 1')

--# query_table_function
SELECT * FROM query_table('t')

--# nextval
SELECT nextval('s')

--# setseed
SELECT setseed(0.5)

--# write_log
SELECT write_log('x')

--# sleep_ms
SELECT sleep_ms(1000000)

--# pg_sleep
SELECT pg_sleep(1000)

--# pg_get_viewdef
SELECT pg_get_viewdef('v')

--# has_table_privilege
SELECT has_table_privilege('t', 'select')

--# duckdb_scalar_function
SELECT duckdb_anything()

--# duckdb_settings_function
SELECT * FROM duckdb_settings()

--# duckdb_extensions_function
SELECT * FROM duckdb_extensions()

--# duckdb_secrets_function
SELECT * FROM duckdb_secrets()

--# duckdb_tables_view
SELECT * FROM duckdb_tables

--# duckdb_tables_view_mixed_case
SELECT * FROM DuckDB_Tables

--# sqlite_master_view
SELECT * FROM sqlite_master

--# pg_settings_view
SELECT * FROM pg_settings

--# system_view_in_union
SELECT 1 UNION SELECT count(*) FROM duckdb_views

--# information_schema_tables
SELECT * FROM information_schema.tables

--# pg_catalog_pg_class
SELECT * FROM pg_catalog.pg_class

--# system_main_duckdb_tables
SELECT * FROM system.main.duckdb_tables

--# main_qualified_table
SELECT * FROM main.t

--# memory_main_qualified_table
SELECT * FROM memory.main.t

--# temp_qualified_table
SELECT * FROM temp.t

--# recurring_outside_recursive_cte
SELECT * FROM recurring.t

--# describe
DESCRIBE t

--# show_tables
SHOW TABLES

--# summarize_in_subquery
SELECT * FROM (SUMMARIZE t)

--# time_travel
SELECT * FROM t AT (VERSION => 1)

--# schema_qualified_function
SELECT main.current_setting('threads')

--# catalog_qualified_function
SELECT system.main.lower('x')

--# pg_catalog_qualified_function
SELECT pg_catalog.lower('x')

--# method_call_syntax
SELECT s.upper() FROM t

--# qualified_allowed_table_function
SELECT * FROM main.range(3)

--# repeat_table_function
SELECT * FROM repeat(1, 10)

--# test_all_types
SELECT * FROM test_all_types()

--# json_each_table_function
SELECT * FROM json_each('[1]')

--# cte_cannot_launder_system_view
WITH duckdb_tables AS (SELECT * FROM duckdb_tables) SELECT * FROM duckdb_tables

--# cte_named_like_a_file
WITH "x.csv" AS (SELECT 1) SELECT * FROM "x.csv"

--# forward_cte_does_not_shadow_system_view
WITH a AS (SELECT * FROM pg_settings), pg_settings AS (SELECT 1) SELECT * FROM a

--# misspelled_select
SELEC 1

--# unterminated_comment
SELECT * FROM t /*
