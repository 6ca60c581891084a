package sandbox

import (
	"database/sql"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

var updateHostile = flag.Bool("update", false, "rewrite testdata/hostile.sql from hostileCases")

// hostileCases is the source of testdata/hostile.sql. Each statement must
// be refused with the given class, and the error message must contain
// mention.
var hostileCases = []struct {
	name    string
	sql     string
	class   string
	mention string
}{
	// files and the network
	{"read_csv_etc_passwd", "SELECT * FROM read_csv('/etc/passwd')", classRefused, `table function "read_csv"`},
	{"read_csv_auto", "SELECT * FROM read_csv_auto('/etc/passwd')", classRefused, `"read_csv_auto"`},
	{"read_parquet_s3", "SELECT * FROM read_parquet('s3://x/y')", classRefused, `"read_parquet"`},
	{"read_json_http", "SELECT * FROM read_json('http://x/y.json')", classRefused, `"read_json"`},
	{"read_text", "SELECT * FROM read_text('/etc/passwd')", classRefused, `"read_text"`},
	{"read_blob", "SELECT * FROM read_blob('/etc/passwd')", classRefused, `"read_blob"`},
	{"glob_star", "SELECT * FROM glob('*')", classRefused, `table function "glob"`},
	{"sniff_csv", "SELECT * FROM sniff_csv('/etc/passwd')", classRefused, `"sniff_csv"`},
	{"parquet_metadata", "SELECT * FROM parquet_metadata('x.parquet')", classRefused, `"parquet_metadata"`},
	{"replacement_scan_etc_passwd", "SELECT * FROM '/etc/passwd'", classRefused, `table name "/etc/passwd"`},
	{"replacement_scan_http", "SELECT * FROM 'http://x/y.csv'", classRefused, `"http://x/y.csv"`},
	{"replacement_scan_glob", "FROM 'data/*.parquet'", classRefused, `"data/*.parquet"`},
	{"replacement_scan_quoted_identifier", `SELECT * FROM "x.csv"`, classRefused, `table name "x.csv"`},
	{"read_csv_in_subquery", "SELECT (SELECT count(*) FROM read_csv('/etc/passwd'))", classRefused, `"read_csv"`},
	{"read_text_in_cte", "WITH x AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM x", classRefused, `"read_text"`},
	{"read_csv_lateral", "SELECT * FROM t, LATERAL read_csv(t.path)", classRefused, `"read_csv"`},
	{"read_csv_in_union", "SELECT 1 UNION ALL FROM read_csv('x')", classRefused, `"read_csv"`},
	{"read_csv_in_having", "SELECT a FROM t GROUP BY a HAVING a IN (SELECT * FROM read_csv('/etc/passwd'))", classRefused, `"read_csv"`},
	{"bad_function_next_to_allowed_ones", "SELECT * FROM range(3) r, generate_series(1, 2) g, read_csv('x') c", classRefused, `"read_csv"`},
	{"read_text_as_scalar", "SELECT read_text('/etc/passwd')", classRefused, `function "read_text"`},
	// statements other than SELECT
	{"attach", "ATTACH 'x.db'", classRefused, singleSelect},
	{"attach_memory", "ATTACH ':memory:' AS m", classRefused, singleSelect},
	{"detach", "DETACH m", classRefused, singleSelect},
	{"copy_to", "COPY t TO '/tmp/x.csv'", classRefused, singleSelect},
	{"copy_from", "COPY t FROM '/etc/passwd'", classRefused, singleSelect},
	{"copy_query_to", "COPY (SELECT * FROM t) TO '/tmp/x.parquet' (FORMAT parquet)", classRefused, singleSelect},
	{"export_database", "EXPORT DATABASE '/tmp/x'", classRefused, singleSelect},
	{"import_database", "IMPORT DATABASE '/tmp/x'", classRefused, singleSelect},
	{"install_httpfs", "INSTALL httpfs", classRefused, singleSelect},
	{"load_httpfs", "LOAD httpfs", classRefused, singleSelect},
	{"set_external_access", "SET enable_external_access = true", classRefused, singleSelect},
	{"set_x", "SET x = 1", classRefused, singleSelect},
	{"set_variable", "SET VARIABLE x = 1", classRefused, singleSelect},
	{"reset", "RESET enable_external_access", classRefused, singleSelect},
	{"pragma", "PRAGMA version", classRefused, singleSelect},
	{"call", "CALL duckdb_settings()", classRefused, singleSelect},
	{"create_table", "CREATE TABLE x (a INTEGER)", classRefused, singleSelect},
	{"create_table_as", "CREATE TABLE x AS SELECT * FROM t", classRefused, singleSelect},
	{"create_view", "CREATE VIEW v AS SELECT 1", classRefused, singleSelect},
	{"create_macro", "CREATE MACRO m(x) AS x + 1", classRefused, singleSelect},
	{"create_secret", "CREATE SECRET (TYPE s3, KEY_ID 'a', SECRET 'b')", classRefused, singleSelect},
	{"drop_table", "DROP TABLE t", classRefused, singleSelect},
	{"insert", "INSERT INTO t VALUES (1)", classRefused, singleSelect},
	{"update", "UPDATE t SET a = 1", classRefused, singleSelect},
	{"delete", "DELETE FROM t", classRefused, singleSelect},
	{"merge", "MERGE INTO t USING u ON t.a = u.a WHEN MATCHED THEN DELETE", classRefused, singleSelect},
	{"alter_table", "ALTER TABLE t ADD COLUMN b INTEGER", classRefused, singleSelect},
	{"vacuum", "VACUUM", classRefused, singleSelect},
	{"checkpoint", "CHECKPOINT", classRefused, singleSelect},
	{"begin", "BEGIN", classRefused, singleSelect},
	{"use", "USE memory", classRefused, singleSelect},
	{"explain", "EXPLAIN SELECT 1", classRefused, singleSelect},
	{"explain_analyze", "EXPLAIN ANALYZE SELECT 1", classRefused, singleSelect},
	{"prepare", "PREPARE p AS SELECT 1", classRefused, singleSelect},
	{"pivot_statement_without_in", "PIVOT t ON a USING sum(b)", classRefused, singleSelect},
	{"update_extensions", "UPDATE EXTENSIONS", classRefused, singleSelect},
	// several statements, comments
	{"two_selects", "SELECT 1; SELECT 2", classRefused, "got 2 statements"},
	{"select_then_drop", "SELECT 1; DROP TABLE t", classRefused, singleSelect},
	{"select_then_attach", "SELECT * FROM t; ATTACH 'x'", classRefused, singleSelect},
	{"comment_hides_semicolon", "SELECT 1 /* ; */ ; ATTACH 'x'", classRefused, singleSelect},
	{"line_comment_then_copy", "-- comment\nCOPY t TO 'x'", classRefused, singleSelect},
	{"only_a_comment", "-- nothing here", classRefused, "got 0 statements"},
	{"only_a_semicolon", ";", classRefused, "got 0 statements"},
	// unicode tricks
	{"fullwidth_semicolon", "SELECT 1；ATTACH 'x'", classSyntax, ""},
	{"no_break_space_keyword", "ATTACH\u00a0'x'", classRefused, singleSelect},
	{"zero_width_space_before_semicolon", "SELECT 1\u200b; ATTACH 'x'", classRefused, singleSelect},
	{"fullwidth_homoglyph_function", "SELECT ｃurrent_setting('threads')", classRefused, "must be ASCII"},
	{"cyrillic_homoglyph_function", "SELECT сurrent_setting('threads')", classRefused, "must be ASCII"},
	{"fullwidth_homoglyph_table", "SELECT * FROM ｔ", classRefused, "not a valid table name"},
	{"quoted_upper_case_function", `SELECT "CURRENT_SETTING"('threads')`, classRefused, `function "current_setting"`},
	// host information and state
	{"current_setting_allowed_directories", "SELECT current_setting('allowed_directories')", classRefused, `function "current_setting"`},
	{"current_setting_in_lambda", "SELECT list_transform([1], x -> current_setting('threads'))", classRefused, `"current_setting"`},
	{"current_setting_as_window", "SELECT current_setting('threads') OVER ()", classRefused, `"current_setting"`},
	{"getenv_home", "SELECT getenv('HOME')", classRefused, `function "getenv"`},
	{"getenv_in_order_by", "SELECT * FROM t ORDER BY (SELECT getenv('HOME'))", classRefused, `"getenv"`},
	{"getvariable", "SELECT getvariable('x')", classRefused, `"getvariable"`},
	{"current_database", "SELECT current_database()", classRefused, `"current_database"`},
	{"json_execute_serialized_sql", "SELECT json_execute_serialized_sql(json_serialize_sql('SELECT 1'))", classRefused, `"json_execute_serialized_sql"`},
	{"json_execute_serialized_sql_table", "SELECT * FROM json_execute_serialized_sql('{}')", classRefused, `"json_execute_serialized_sql"`},
	{"json_serialize_sql", "SELECT json_serialize_sql('SELECT 1')", classRefused, `"json_serialize_sql"`},
	{"json_deserialize_sql", "SELECT json_deserialize_sql('{}')", classRefused, `"json_deserialize_sql"`},
	{"sql_auto_complete", "SELECT * FROM sql_auto_complete('SEL')", classRefused, `"sql_auto_complete"`},
	{"query_function", "SELECT * FROM query('SELECT 1')", classRefused, `table function "query"`},
	{"query_table_function", "SELECT * FROM query_table('t')", classRefused, `table function "query_table"`},
	{"nextval", "SELECT nextval('s')", classRefused, `"nextval"`},
	{"setseed", "SELECT setseed(0.5)", classRefused, `"setseed"`},
	{"write_log", "SELECT write_log('x')", classRefused, `"write_log"`},
	{"sleep_ms", "SELECT sleep_ms(1000000)", classRefused, `"sleep_ms"`},
	{"pg_sleep", "SELECT pg_sleep(1000)", classRefused, `"pg_sleep"`},
	{"pg_get_viewdef", "SELECT pg_get_viewdef('v')", classRefused, `"pg_get_viewdef"`},
	{"has_table_privilege", "SELECT has_table_privilege('t', 'select')", classRefused, `"has_table_privilege"`},
	{"duckdb_scalar_function", "SELECT duckdb_anything()", classRefused, `"duckdb_anything"`},
	// system catalog
	{"duckdb_settings_function", "SELECT * FROM duckdb_settings()", classRefused, `table function "duckdb_settings"`},
	{"duckdb_extensions_function", "SELECT * FROM duckdb_extensions()", classRefused, `"duckdb_extensions"`},
	{"duckdb_secrets_function", "SELECT * FROM duckdb_secrets()", classRefused, `"duckdb_secrets"`},
	{"duckdb_tables_view", "SELECT * FROM duckdb_tables", classRefused, `table "duckdb_tables" is a DuckDB system`},
	{"duckdb_tables_view_mixed_case", "SELECT * FROM DuckDB_Tables", classRefused, "DuckDB system"},
	{"sqlite_master_view", "SELECT * FROM sqlite_master", classRefused, `"sqlite_master"`},
	{"pg_settings_view", "SELECT * FROM pg_settings", classRefused, `"pg_settings"`},
	{"system_view_in_union", "SELECT 1 UNION SELECT count(*) FROM duckdb_views", classRefused, `"duckdb_views"`},
	{"information_schema_tables", "SELECT * FROM information_schema.tables", classRefused, `schema-qualified name "information_schema.tables"`},
	{"pg_catalog_pg_class", "SELECT * FROM pg_catalog.pg_class", classRefused, `"pg_catalog.pg_class"`},
	{"system_main_duckdb_tables", "SELECT * FROM system.main.duckdb_tables", classRefused, `"system.main.duckdb_tables"`},
	{"main_qualified_table", "SELECT * FROM main.t", classRefused, `schema-qualified name "main.t"`},
	{"memory_main_qualified_table", "SELECT * FROM memory.main.t", classRefused, `"memory.main.t"`},
	{"temp_qualified_table", "SELECT * FROM temp.t", classRefused, `"temp.t"`},
	{"recurring_outside_recursive_cte", "SELECT * FROM recurring.t", classRefused, `"recurring.t"`},
	{"describe", "DESCRIBE t", classRefused, "DESCRIBE"},
	{"show_tables", "SHOW TABLES", classRefused, "SHOW"},
	{"summarize_in_subquery", "SELECT * FROM (SUMMARIZE t)", classRefused, "SUMMARIZE"},
	{"time_travel", "SELECT * FROM t AT (VERSION => 1)", classRefused, "AT clause"},
	// qualified and other table functions
	{"schema_qualified_function", "SELECT main.current_setting('threads')", classRefused, `"current_setting"`},
	{"catalog_qualified_function", "SELECT system.main.lower('x')", classRefused, `qualified function name "system.main.lower"`},
	{"pg_catalog_qualified_function", "SELECT pg_catalog.lower('x')", classRefused, `"pg_catalog.lower"`},
	{"method_call_syntax", "SELECT s.upper() FROM t", classRefused, `qualified function name "s.upper"`},
	{"qualified_allowed_table_function", "SELECT * FROM main.range(3)", classRefused, `table function "main.range"`},
	{"repeat_table_function", "SELECT * FROM repeat(1, 10)", classRefused, `table function "repeat"`},
	{"test_all_types", "SELECT * FROM test_all_types()", classRefused, `"test_all_types"`},
	{"json_each_table_function", "SELECT * FROM json_each('[1]')", classRefused, `"json_each"`},
	// CTE tricks
	{"cte_cannot_launder_system_view", "WITH duckdb_tables AS (SELECT * FROM duckdb_tables) SELECT * FROM duckdb_tables", classRefused, `"duckdb_tables"`},
	{"cte_named_like_a_file", `WITH "x.csv" AS (SELECT 1) SELECT * FROM "x.csv"`, classRefused, `"x.csv"`},
	{"forward_cte_does_not_shadow_system_view", "WITH a AS (SELECT * FROM pg_settings), pg_settings AS (SELECT 1) SELECT * FROM a", classRefused, `"pg_settings"`},
	// syntax errors
	{"misspelled_select", "SELEC 1", classSyntax, ""},
	{"unterminated_comment", "SELECT * FROM t /*", classSyntax, ""},
}

// renderHostileFile renders hostileCases in the testdata/hostile.sql format.
func renderHostileFile() string {
	var b strings.Builder
	b.WriteString(`--# Statements the SQL sandbox must refuse, replayed by the package tests
--# (query/sandbox) and by the service's end-to-end tests over Flight SQL.
--# Format: every line that is empty or starts with "--#" is a comment of this
--# file; every other line is one statement. Inside a statement the two
--# characters \n stand for a newline and \\ for a backslash; nothing else is
--# escaped, and non-ASCII characters are written as UTF-8. A line starting
--# with "--" but not "--#" is SQL (a statement that begins with a comment).
--# The "--#" line above each statement names the case.
--# Generated from hostileCases in hostile_test.go; regenerate with
--#   go test -tags duckdb_arrow ./query/sandbox/ -run TestHostileFile -update
`)
	for _, tc := range hostileCases {
		b.WriteString("\n--# " + tc.name + "\n")
		b.WriteString(escapeLine(tc.sql) + "\n")
	}
	return b.String()
}

func TestHostileFileMatchesCases(t *testing.T) {
	want := renderHostileFile()
	if *updateHostile {
		if err := os.WriteFile(hostileFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(hostileFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is out of date with hostileCases; run with -update", hostileFile)
	}
	var wantStmts []string
	for _, tc := range hostileCases {
		wantStmts = append(wantStmts, tc.sql)
	}
	if stmts := readHostileFile(t); !slices.Equal(stmts, wantStmts) {
		t.Fatalf("statements read back from %s differ from hostileCases", hostileFile)
	}
}

func TestHostileFileRefused(t *testing.T) {
	db := openDuckDB(t)
	stmts := readHostileFile(t)
	if len(stmts) < 40 {
		t.Fatalf("only %d hostile statements", len(stmts))
	}
	for _, stmt := range stmts {
		a, err := analyzeSQL(t, db, stmt)
		if class := errorClass(err); class != classRefused && class != classSyntax {
			t.Errorf("Analyze(%q) = %+v, %v; want a refusal", stmt, a, err)
		}
	}
}

func TestAnalyzeHostile(t *testing.T) {
	db := openDuckDB(t)
	for _, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := analyzeSQL(t, db, tc.sql)
			if class := errorClass(err); class != tc.class {
				t.Fatalf("Analyze(%q) = %+v, %v (%s); want %s", tc.sql, a, err, class, tc.class)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("Analyze(%q) error %q does not mention %q", tc.sql, err, tc.mention)
			}
		})
	}
}

// TestSystemCatalogRefused checks every introspection view and every table
// function of this DuckDB build, so new ones are caught on upgrade. A view
// is tried qualified, and bare when DuckDB resolves the bare name.
func TestSystemCatalogRefused(t *testing.T) {
	db := openDuckDB(t)
	var stmts []string
	views := queryStrings(t, db, "SELECT DISTINCT schema_name || chr(0) || view_name FROM duckdb_views() WHERE internal")
	bare := 0
	for _, v := range views {
		schema, view, _ := strings.Cut(v, "\x00")
		stmts = append(stmts, "SELECT * FROM "+schema+"."+view)
		if _, err := db.Exec("SELECT * FROM " + view + " LIMIT 0"); err == nil {
			stmts = append(stmts, "SELECT * FROM "+view)
			bare++
		}
	}
	funcs := queryStrings(t, db, "SELECT DISTINCT function_name FROM duckdb_functions() "+
		"WHERE function_type IN ('table', 'table_macro')")
	for _, f := range funcs {
		if allowedTableFunctions[f] {
			continue
		}
		stmts = append(stmts, "SELECT * FROM "+f+"()", "SELECT * FROM "+f+"('x')")
	}
	if bare < 10 || len(funcs) < 50 {
		t.Fatalf("found only %d bare system views and %d table functions", bare, len(funcs))
	}
	for _, stmt := range stmts {
		if _, err := analyzeSQL(t, db, stmt); errorClass(err) != classRefused {
			t.Errorf("Analyze(%q) error = %v, want a refusal", stmt, err)
		}
	}
}

// TestAllowedTableFunctionsExist guards the allow-list against typos.
func TestAllowedTableFunctionsExist(t *testing.T) {
	db := openDuckDB(t)
	funcs := queryStrings(t, db, "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'table'")
	for name := range allowedTableFunctions {
		if !slices.Contains(funcs, name) {
			t.Errorf("allowed table function %q does not exist", name)
		}
	}
}

// queryStrings runs a query returning one string column.
func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
