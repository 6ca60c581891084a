package sandbox

import (
	"database/sql"
	"testing"
)

// nonScalarFunctions is the set the engine builds: every function name
// DuckDB knows as anything but a scalar function.
func nonScalarFunctions(t *testing.T, db *sql.DB) func(string) bool {
	t.Helper()
	rows, err := db.Query("SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type <> 'scalar'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		set[name] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !set["sum"] || !set["count_star"] || !set["row_number"] || !set["unnest"] {
		t.Fatalf("duckdb_functions() lacks sum, count_star, row_number or unnest: %d names", len(set))
	}
	return func(name string) bool { return set[name] }
}

// A plain scan (split by node in a cluster) reads each output row from one
// input row; everything that combines rows is not one.
func TestPlainScan(t *testing.T) {
	db := openDuckDB(t)
	nonScalar := nonScalarFunctions(t, db)
	cases := []struct {
		name, sql, want string
	}{
		{"star", "SELECT * FROM t", "t"},
		{"projection_filter", "SELECT id, v FROM t WHERE id % 3 = 0", "t"},
		{"arithmetic", "SELECT id + 1 AS next FROM t", "t"},
		{"scalar_function", "SELECT lower(s), length(s) FROM t WHERE s LIKE 'a%'", "t"},
		{"case", "SELECT CASE WHEN x > 0 THEN 'p' ELSE 'n' END FROM t", "t"},
		{"cast_in_list", "SELECT CAST(x AS VARCHAR) FROM t WHERE x IN (1, 2, 3) AND y BETWEEN 1 AND 5", "t"},
		{"alias", "SELECT a.x FROM t AS a WHERE a.y IS NOT NULL", "t"},
		{"lambda", "SELECT list_transform(l, e -> e + 1) FROM t", "t"},
		{"coalesce_concat", "SELECT coalesce(s, '') || '!' FROM t", "t"},
		{"parameter", "SELECT x FROM t WHERE x > $1", "t"},

		{"sum", "SELECT sum(x) FROM t", ""},
		{"count_star", "SELECT count(*) FROM t", ""},
		{"count_column", "SELECT count(x) FROM t WHERE x > 1", ""},
		{"aggregate_in_expression", "SELECT max(x) - min(x) FROM t", ""},
		{"list_aggregate", "SELECT list(x) FROM t", ""},
		{"group_by", "SELECT x FROM t GROUP BY x", ""},
		{"group_by_all", "SELECT x, y FROM t GROUP BY ALL", ""},
		{"having", "SELECT x FROM t GROUP BY x HAVING x > 1", ""},
		{"order_by", "SELECT x FROM t ORDER BY x", ""},
		{"limit", "SELECT x FROM t LIMIT 10", ""},
		{"offset", "SELECT x FROM t OFFSET 10", ""},
		{"distinct", "SELECT DISTINCT x FROM t", ""},
		{"distinct_on", "SELECT DISTINCT ON (x) x, y FROM t", ""},
		{"window", "SELECT x, row_number() OVER (ORDER BY x) FROM t", ""},
		{"window_aggregate", "SELECT x, sum(x) OVER () FROM t", ""},
		{"qualify", "SELECT x FROM t QUALIFY row_number() OVER (PARTITION BY y ORDER BY x) = 1", ""},
		{"subquery_in_where", "SELECT x FROM t WHERE x > (SELECT 1)", ""},
		{"in_subquery", "SELECT x FROM t WHERE x IN (SELECT y FROM t)", ""},
		{"exists", "SELECT x FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.x)", ""},
		{"join", "SELECT t.x FROM t JOIN u ON t.x = u.id", ""},
		{"comma_join", "SELECT t.x FROM t, u", ""},
		{"self_join", "SELECT a.x FROM t a JOIN t b ON a.x = b.x", ""},
		{"union", "SELECT x FROM t UNION ALL SELECT x FROM t", ""},
		{"cte", "WITH c AS (SELECT x FROM t) SELECT x FROM c", ""},
		{"subquery_in_from", "SELECT x FROM (SELECT x FROM t)", ""},
		{"sample", "SELECT x FROM t USING SAMPLE 10", ""},
		{"tablesample", "SELECT x FROM t TABLESAMPLE 10%", ""},
		{"unnest", "SELECT unnest(l) FROM t", ""},
		{"no_table", "SELECT 1", ""},
		{"values", "SELECT * FROM (VALUES (1), (2)) v(x)", ""},
		{"distinct_scalar_call", "SELECT lower(DISTINCT s) FROM t", ""},
		{"aggregate_filter", "SELECT count(x) FILTER (WHERE x > 1) FROM t", ""},
		{"range_function", "SELECT range(x) FROM t", ""}, // also a table function: not trusted
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := analyzeSQL(t, db, tc.sql)
			if err != nil {
				t.Fatalf("Analyze(%q): %v", tc.sql, err)
			}
			if got := a.PlainScan(nonScalar); got != tc.want {
				t.Fatalf("PlainScan(%q) = %q (shape %q, functions %v), want %q", tc.sql, got, a.Scan, a.Functions, tc.want)
			}
		})
	}
}

// Without the engine's judgement no function is trusted: only statements
// that call none are plain scans.
func TestPlainScanWithoutFunctionSet(t *testing.T) {
	db := openDuckDB(t)
	for sql, want := range map[string]string{"SELECT x FROM t WHERE x = 1": "t", "SELECT lower(s) FROM t": ""} {
		a, err := analyzeSQL(t, db, sql)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.PlainScan(nil); got != want {
			t.Errorf("PlainScan(nil) of %q = %q, want %q", sql, got, want)
		}
	}
}

// A verbatim scan outputs stored table columns unchanged and under their own
// names; anything that computes, filters, renames or reorders rows is not.
func TestVerbatim(t *testing.T) {
	db := openDuckDB(t)
	cases := []struct {
		name, sql string
		want      bool
	}{
		{"star", "SELECT * FROM t", true},
		{"columns", "SELECT x, y FROM t", true},
		{"qualified", "SELECT t.x, a.y FROM t AS a", true},
		{"star_and_column", "SELECT *, x FROM t", true},
		{"table_star", "SELECT t.* FROM t", true},

		{"where", "SELECT * FROM t WHERE x > 1", false},
		{"column_alias", "SELECT x AS y FROM t", false},
		{"table_column_aliases", "SELECT y FROM t AS a(y, x)", false},
		{"exclude", "SELECT * EXCLUDE (x) FROM t", false},
		{"replace", "SELECT * REPLACE (x + 1 AS x) FROM t", false},
		{"rename", "SELECT * RENAME (x AS z) FROM t", false},
		{"columns_expr", "SELECT COLUMNS('x') FROM t", false},
		{"arithmetic", "SELECT x + 1 FROM t", false},
		{"cast", "SELECT x::VARCHAR FROM t", false},
		{"constant", "SELECT 1 FROM t", false},
		{"function", "SELECT lower(s) FROM t", false},
		{"limit", "SELECT * FROM t LIMIT 5", false},
		{"order", "SELECT * FROM t ORDER BY x", false},
		{"distinct", "SELECT DISTINCT x FROM t", false},
		{"distinct_on", "SELECT DISTINCT ON (x) * FROM t", false},
		{"sample", "SELECT * FROM t USING SAMPLE 10", false},
		{"join", "SELECT * FROM t, u", false},
		{"group_by", "SELECT x FROM t GROUP BY x", false},
		{"subquery", "SELECT * FROM (SELECT * FROM t)", false},
		{"no_table", "SELECT 1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := analyzeSQL(t, db, tc.sql)
			if err != nil {
				t.Fatalf("Analyze(%q): %v", tc.sql, err)
			}
			if a.Verbatim != tc.want {
				t.Fatalf("Verbatim(%q) = %v, want %v", tc.sql, a.Verbatim, tc.want)
			}
		})
	}
}
