package sandbox

import (
	"fmt"
	"testing"
)

// TestBounds pins which WHERE clauses yield pruning bounds: only literal
// comparisons ANDed at the top of a single-table SELECT without CTEs.
func TestBounds(t *testing.T) {
	db := openDuckDB(t)
	cases := []struct {
		name, sql, want string
	}{
		{"equal", "SELECT * FROM points WHERE id = 5", "[{points id = int 5}]"},
		{"constant_left", "SELECT * FROM points WHERE 5 < id", "[{points id > int 5}]"},
		{"qualified_and_between", "SELECT * FROM points p WHERE p.id BETWEEN 3 AND 9 AND v > 1.5",
			"[{points id >= int 3} {points id <= int 9}]"},
		{"string", "SELECT * FROM users WHERE id = 'user-1'", "[{users id = string user-1}]"},
		{"bigint", "SELECT * FROM t WHERE id <= 9007199254740993", "[{t id <= int 9007199254740993}]"},
		{"or_is_not_a_bound", "SELECT * FROM t WHERE id = 1 OR id = 2", "[]"},
		{"negative", "SELECT * FROM t WHERE id = -1", "[{t id = int -1}]"},
		{"parameter", "SELECT * FROM t WHERE id = $1", "[]"},
		{"join", "SELECT * FROM a JOIN b ON a.k = b.k WHERE a.id = 1", "[]"},
		{"cte", "WITH c AS (SELECT 1 AS id) SELECT * FROM t WHERE id = 1", "[]"},
		{"other_table_qualifier", "SELECT * FROM t WHERE x.id = 1", "[]"},
		{"no_where", "SELECT * FROM t", "[]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := analyzeSQL(t, db, tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			got := "[]"
			if len(a.Bounds) > 0 {
				got = fmt.Sprint(a.Bounds)
			}
			if got != tc.want {
				t.Errorf("Bounds(%s) = %s, want %s", tc.sql, got, tc.want)
			}
		})
	}
}
