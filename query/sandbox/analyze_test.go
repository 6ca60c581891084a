package sandbox

import (
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestAnalyzeCraftedJSON covers input DuckDB does not produce for user SQL:
// malformed documents and node types the parser never emits.
func TestAnalyzeCraftedJSON(t *testing.T) {
	stmt := func(node string) string { return `{"error":false,"statements":[{"node":` + node + `}]}` }
	cases := []struct {
		name  string
		json  string
		class string
	}{
		{"empty_input", ``, classMalformed},
		{"not_json", `SELECT 1`, classMalformed},
		{"top_level_array", `[]`, classMalformed},
		{"missing_error_flag", `{"statements":[]}`, classMalformed},
		{"error_flag_not_bool", `{"error":"false","statements":[]}`, classMalformed},
		{"statements_not_array", `{"error":false,"statements":{}}`, classMalformed},
		{"trailing_data", `{"error":false,"statements":[]} {}`, classMalformed},
		{"truncated", `{"error":false,"statements":[{"node":{"type":"SELECT_NODE"`, classMalformed},
		{"too_deep", strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2), classMalformed},
		{"base_table_without_name", stmt(`{"from_table":{"type":"BASE_TABLE"}}`), classMalformed},
		{"schema_name_not_string", stmt(`{"from_table":{"type":"BASE_TABLE","table_name":"t","schema_name":1}}`), classMalformed},
		{"function_name_not_string", stmt(`{"select_list":[{"class":"FUNCTION","function_name":7}]}`), classMalformed},
		{"function_without_name", stmt(`{"select_list":[{"class":"FUNCTION","type":"FUNCTION"}]}`), classMalformed},
		{"table_function_without_function", stmt(`{"from_table":{"type":"TABLE_FUNCTION"}}`), classMalformed},
		{"cte_map_without_map", stmt(`{"type":"SELECT_NODE","cte_map":{}}`), classMalformed},
		{"cte_without_key", stmt(`{"type":"SELECT_NODE","cte_map":{"map":[{"value":{}}]}}`), classMalformed},
		{"recursive_cte_without_name", stmt(`{"type":"RECURSIVE_CTE_NODE","left":{},"right":{}}`), classMalformed},
		{"bound_node", stmt(`{"type":"BOUND_SUBQUERY_NODE"}`), classRefused},
		{"bound_expression_class", stmt(`{"select_list":[{"class":"BOUND_REF","type":"BOUND_REF"}]}`), classRefused},
		{"column_data_ref", stmt(`{"from_table":{"type":"COLUMN_DATA"}}`), classRefused},
		{"statement_node", stmt(`{"type":"STATEMENT_NODE"}`), classRefused},
		{"table_hidden_under_unknown_key", stmt(`{"whatever":[{"x":{"type":"BASE_TABLE","table_name":"duckdb_settings"}}]}`), classRefused},
		{"parser_error", `{"error":true,"error_type":"parser","error_message":"syntax error at or near \"SELEC\""}`, classSyntax},
		{"other_error", `{"error":true,"error_type":"not implemented","error_message":"Mixing named and positional parameters is not supported yet"}`, classSyntax},
		{"not_select_error", `{"error":true,"error_type":"not implemented","error_message":"Only SELECT statements can be serialized to json!"}`, classRefused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Analyze([]byte(tc.json))
			if class := errorClass(err); class != tc.class {
				t.Fatalf("Analyze(%s) = %+v, %v (%s); want %s", tc.json, a, err, class, tc.class)
			}
		})
	}
}

func TestErrorsClassify(t *testing.T) {
	var refusedErr *RefusedError
	err := error(&RefusedError{Reason: `function "getenv" is not allowed`})
	if !errors.As(err, &refusedErr) || err.Error() != `statement refused: function "getenv" is not allowed` {
		t.Errorf("RefusedError = %q", err)
	}
	var syntaxErr *SyntaxError
	err = &SyntaxError{Message: "syntax error at end of input"}
	if !errors.As(err, &syntaxErr) || err.Error() != "syntax error: syntax error at end of input" {
		t.Errorf("SyntaxError = %q", err)
	}
}

// TestCTEScopeMatchesDuckDB runs each query on DuckDB, where every table
// holds one row 'base_<name>' and every CTE yields 'cte_...', and checks
// that the tables Analyze reports are exactly those whose row came out.
func TestCTEScopeMatchesDuckDB(t *testing.T) {
	db := openDuckDB(t)
	for _, name := range []string{"t", "a", "b", "c", "r"} {
		if _, err := db.Exec("CREATE TABLE " + name + " AS SELECT 'base_" + name + "' AS x"); err != nil {
			t.Fatal(err)
		}
	}
	queries := []string{
		"WITH t AS (SELECT x FROM t) SELECT x FROM t",
		"WITH a AS (SELECT x FROM b), b AS (SELECT 'cte_b' AS x) SELECT x FROM a",
		"WITH RECURSIVE t AS (SELECT x FROM t) SELECT x FROM t",
		"WITH RECURSIVE a AS (SELECT x FROM b), b AS (SELECT 'cte_b' AS x) SELECT x FROM a",
		"WITH c AS (SELECT 'cte_c' AS x) (WITH d AS (SELECT 1) SELECT x FROM c) UNION ALL SELECT x FROM c",
		"(WITH c AS (SELECT 'cte_c' AS x) SELECT x FROM c) UNION ALL SELECT x FROM c",
		"SELECT x FROM t UNION ALL (WITH t AS (SELECT 'cte_t' AS x) SELECT x FROM t)",
		"WITH c AS (SELECT 'cte_c' AS x) SELECT (SELECT x FROM c) AS x",
		"WITH a AS (SELECT 'cte_a' AS x), b AS (SELECT x FROM a) SELECT x FROM b",
		"WITH a AS (SELECT (SELECT x FROM c) AS x), c AS (SELECT 'cte_c' AS x) SELECT x FROM a",
		"WITH a AS (WITH a AS (SELECT x FROM a) SELECT x FROM a) SELECT x FROM a",
		"WITH C AS (SELECT 'cte_c' AS x) SELECT x FROM c",
		`WITH "C" AS (SELECT 'cte_c' AS x) SELECT x FROM C`,
		"WITH a AS (SELECT 'cte_a' AS x) SELECT x FROM (WITH b AS (SELECT x FROM a) SELECT x FROM b)",
		"WITH b AS (SELECT 'cte_b' AS x) SELECT x FROM (WITH a AS (SELECT x FROM b) SELECT x FROM a)",
		"WITH a AS (SELECT 'cte_a' AS x) SELECT l.x FROM a, LATERAL (SELECT x FROM a) l",
		"WITH a AS MATERIALIZED (SELECT x FROM b) SELECT x FROM a",
		"SELECT x FROM a WHERE (WITH t AS (SELECT 'cte_t' AS x) SELECT x FROM t) = 'cte_t'",
		"WITH c AS (SELECT 'cte_c' AS x) SELECT x FROM c UNION ALL SELECT x FROM (SELECT x FROM c UNION ALL SELECT x FROM t)",
		"WITH RECURSIVE r(x) AS (SELECT x FROM r UNION ALL SELECT 'cte_r' FROM r WHERE x = 'base_r') SELECT x FROM r",
		"WITH RECURSIVE r(x) AS (SELECT 'cte_r' UNION ALL SELECT x || '!' FROM r WHERE x = 'cte_r') SELECT x FROM r",
		"WITH RECURSIVE r(x) AS (SELECT 'cte_r' UNION ALL SELECT s.x || '!' FROM (SELECT x FROM r) s WHERE s.x = 'cte_r') SELECT x FROM r",
		"WITH RECURSIVE r(x) AS ((SELECT x FROM r) UNION ALL (SELECT 'cte_r') UNION ALL " +
			"(SELECT x || '!' FROM r WHERE x IN ('cte_r', 'base_r'))) SELECT x FROM r",
		"WITH RECURSIVE a AS (SELECT 'cte_a' AS x), r(x) AS (SELECT x FROM a UNION ALL SELECT x || '!' FROM r WHERE x = 'cte_a') SELECT x FROM r",
		"WITH RECURSIVE r(x) AS (SELECT x FROM c UNION ALL SELECT y.x FROM (WITH r AS (SELECT x FROM b) SELECT x FROM r) y, r WHERE r.x = 'base_c') SELECT x FROM r",
	}
	for _, q := range queries {
		a, err := analyzeSQL(t, db, q)
		if err != nil {
			t.Errorf("Analyze(%q): %v", q, err)
			continue
		}
		var got []string
		for _, ref := range a.Tables {
			got = append(got, strings.ToLower(ref.Name))
		}
		slices.Sort(got)
		if want := baseTablesRead(t, db, q); !slices.Equal(got, want) {
			t.Errorf("Analyze(%q) tables = %v, DuckDB read %v", q, got, want)
		}
	}
}

// baseTablesRead runs q and returns the sorted names of the tables whose
// 'base_<name>' rows appear in its output, possibly suffixed with '!'.
func baseTablesRead(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	var read []string
	for _, v := range queryStrings(t, db, q) {
		name, ok := strings.CutPrefix(strings.TrimRight(v, "!"), "base_")
		if ok && !slices.Contains(read, name) {
			read = append(read, name)
		}
	}
	slices.Sort(read)
	return read
}

func TestAnalyzeSortsByTextPosition(t *testing.T) {
	// The tree lists ORDER BY (modifiers) before FROM; the text does not.
	db := openDuckDB(t)
	a, err := analyzeSQL(t, db, "SELECT * FROM t ORDER BY (SELECT 1 FROM u)")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Tables) != 2 || a.Tables[0].Name != "t" || a.Tables[1].Name != "u" {
		t.Errorf("Tables = %+v, want t then u", a.Tables)
	}
}

func FuzzAnalyze(f *testing.F) {
	db := openDuckDB(f)
	for _, tc := range permittedCases {
		f.Add(serialize(f, db, tc.sql))
	}
	for _, tc := range hostileCases {
		f.Add(serialize(f, db, tc.sql))
	}
	f.Add([]byte(`{"error":false,"statements":[{"node":{"type":"RECURSIVE_CTE_NODE","cte_name":"r","right":{"type":"BASE_TABLE","table_name":"r","schema_name":"recurring"}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Analyze(data)
		switch errorClass(err) {
		case "permitted":
			if a == nil {
				t.Fatal("nil Analysis without error")
			}
			for _, ref := range a.Tables {
				if !tableNameRE.MatchString(ref.Name) || ref.Scans < 1 {
					t.Fatalf("bad table %+v", ref)
				}
			}
		case classRefused, classSyntax, classMalformed:
		default:
			t.Fatalf("unexpected error %T: %v", err, err)
		}
	})
}
