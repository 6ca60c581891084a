package sandbox

import (
	"reflect"
	"testing"
)

// tr builds an expected TableRef.
func tr(name string, scans int) TableRef { return TableRef{Name: name, Scans: scans} }

// trCTE builds an expected TableRef referenced inside a CTE body.
func trCTE(name string, scans int) TableRef { return TableRef{Name: name, Scans: scans, InCTE: true} }

const tpchQ21 = `SELECT s_name, count(*) AS numwait
FROM supplier, lineitem l1, orders, nation
WHERE s_suppkey = l1.l_suppkey
  AND o_orderkey = l1.l_orderkey
  AND o_orderstatus = 'F'
  AND l1.l_receiptdate > l1.l_commitdate
  AND EXISTS (SELECT * FROM lineitem l2
              WHERE l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey)
  AND NOT EXISTS (SELECT * FROM lineitem l3
                  WHERE l3.l_orderkey = l1.l_orderkey AND l3.l_suppkey <> l1.l_suppkey
                    AND l3.l_receiptdate > l3.l_commitdate)
  AND s_nationkey = n_nationkey
  AND n_name = 'SAUDI ARABIA'
GROUP BY s_name
ORDER BY numwait DESC, s_name
LIMIT 100`

const tpchQ2 = `SELECT s_acctbal, s_name, n_name, p_partkey, p_mfgr
FROM part, supplier, partsupp, nation, region
WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND p_size = 15
  AND p_type LIKE '%BRASS' AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey
  AND r_name = 'EUROPE'
  AND ps_supplycost = (
    SELECT min(ps_supplycost) FROM partsupp, supplier, nation, region
    WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND s_nationkey = n_nationkey
      AND n_regionkey = r_regionkey AND r_name = 'EUROPE')
ORDER BY s_acctbal DESC, n_name, s_name, p_partkey
LIMIT 100`

const tpchQ15 = `WITH revenue AS (
  SELECT l_suppkey AS supplier_no, sum(l_extendedprice * (1 - l_discount)) AS total_revenue
  FROM lineitem
  WHERE l_shipdate >= DATE '1996-01-01' AND l_shipdate < DATE '1996-01-01' + INTERVAL '3' MONTH
  GROUP BY supplier_no)
SELECT s_suppkey, s_name, total_revenue
FROM supplier, revenue
WHERE s_suppkey = supplier_no AND total_revenue = (SELECT max(total_revenue) FROM revenue)
ORDER BY s_suppkey`

var permittedCases = []struct {
	name string
	sql  string
	want []TableRef
}{
	{"constant_without_from", "SELECT 1", nil},
	{"single_table", "SELECT a FROM t", []TableRef{tr("t", 1)}},
	{"from_first_syntax", "FROM t", []TableRef{tr("t", 1)}},
	{"qualified_star", "SELECT t.* FROM t", []TableRef{tr("t", 1)}},
	{"self_join_counts_two", "SELECT * FROM t a JOIN t b ON a.id = b.id", []TableRef{tr("t", 2)}},
	{"comma_joins", "SELECT * FROM a, b, c WHERE a.x = b.x AND b.y = c.y",
		[]TableRef{tr("a", 1), tr("b", 1), tr("c", 1)}},
	{"left_join_using", "SELECT * FROM orders LEFT JOIN customer USING (custkey)",
		[]TableRef{tr("orders", 1), tr("customer", 1)}},
	{"natural_anti_semi_joins", "SELECT * FROM t NATURAL JOIN u ANTI JOIN v ON t.a = v.a SEMI JOIN w ON true",
		[]TableRef{tr("t", 1), tr("u", 1), tr("v", 1), tr("w", 1)}},
	{"asof_join", "SELECT * FROM trades ASOF JOIN quotes USING (sym, ts)",
		[]TableRef{tr("trades", 1), tr("quotes", 1)}},
	{"positional_join", "SELECT * FROM t POSITIONAL JOIN u", []TableRef{tr("t", 1), tr("u", 1)}},
	{"scalar_subquery_in_select", "SELECT (SELECT max(x) FROM u) FROM t", []TableRef{tr("u", 1), tr("t", 1)}},
	{"in_subquery_in_where", "SELECT * FROM t WHERE a IN (SELECT a FROM u)", []TableRef{tr("t", 1), tr("u", 1)}},
	{"correlated_exists", "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a)",
		[]TableRef{tr("t", 1), tr("u", 1)}},
	{"having_subquery", "SELECT a, count(*) FROM t GROUP BY a HAVING count(*) > (SELECT count(*) FROM u)",
		[]TableRef{tr("t", 1), tr("u", 1)}},
	{"subquery_in_join_condition", "SELECT * FROM a JOIN b ON a.x IN (SELECT x FROM c)",
		[]TableRef{tr("a", 1), tr("b", 1), tr("c", 1)}},
	{"text_order_not_tree_order", "FROM t SELECT (SELECT 1 FROM u), (SELECT 1 FROM v) ORDER BY (SELECT 1 FROM w)",
		[]TableRef{tr("t", 1), tr("u", 1), tr("v", 1), tr("w", 1)}},
	{"limit_offset_subquery", "SELECT * FROM t ORDER BY ALL LIMIT 10 OFFSET (SELECT count(*) FROM u)",
		[]TableRef{tr("t", 1), tr("u", 1)}},
	{"union_all", "SELECT a FROM t UNION ALL SELECT a FROM u", []TableRef{tr("t", 1), tr("u", 1)}},
	{"set_operation_chain", "SELECT a FROM t UNION SELECT a FROM u INTERSECT SELECT a FROM t EXCEPT SELECT a FROM v",
		[]TableRef{tr("t", 2), tr("u", 1), tr("v", 1)}},
	{"by_name_union", "SELECT * FROM t UNION ALL BY NAME SELECT * FROM u", []TableRef{tr("t", 1), tr("u", 1)}},
	{"cte_simple", "WITH c AS (SELECT * FROM t) SELECT * FROM c", []TableRef{trCTE("t", 1)}},
	{"cte_scanned_twice_counts_once", "WITH c AS (SELECT * FROM t) SELECT * FROM c JOIN c AS c2 USING (id)",
		[]TableRef{trCTE("t", 1)}},
	{"cte_shadows_table", "WITH t AS (SELECT 1 AS x) SELECT * FROM t", nil},
	{"cte_body_reads_table_of_same_name", "WITH t AS (SELECT * FROM t) SELECT * FROM t", []TableRef{trCTE("t", 1)}},
	{"cte_scope_ends_with_its_query", "(WITH c AS (SELECT 1 AS x) SELECT x FROM c) UNION ALL SELECT x FROM c",
		[]TableRef{tr("c", 1)}},
	{"cte_visible_in_both_set_operands", "WITH c AS (SELECT 1 AS x) SELECT x FROM c UNION SELECT x FROM c", nil},
	{"cte_chain_sees_earlier_ctes", "WITH a AS (SELECT * FROM t), b AS (SELECT * FROM a JOIN u USING (id)) SELECT * FROM b",
		[]TableRef{trCTE("t", 1), trCTE("u", 1)}},
	{"cte_forward_reference_is_a_table", "WITH a AS (SELECT * FROM b), b AS (SELECT 1 AS x) SELECT * FROM a",
		[]TableRef{trCTE("b", 1)}},
	{"cte_name_case_insensitive", "WITH C AS (SELECT 1 AS x) SELECT * FROM c", nil},
	{"cte_and_direct_reference", "WITH c AS (SELECT * FROM t) SELECT * FROM c, t", []TableRef{trCTE("t", 2)}},
	{"cte_self_join_in_body", "WITH c AS (SELECT * FROM t a JOIN t b USING (id)) SELECT * FROM c",
		[]TableRef{trCTE("t", 2)}},
	{"nested_with_in_cte_body", "WITH a AS (WITH b AS (SELECT * FROM t) SELECT * FROM b) SELECT * FROM a, b",
		[]TableRef{trCTE("t", 1), tr("b", 1)}},
	{"with_in_where_subquery", "SELECT * FROM t WHERE a = (WITH c AS (SELECT 1) SELECT * FROM c)",
		[]TableRef{tr("t", 1)}},
	{"outer_cte_visible_in_subquery", "WITH c AS (SELECT * FROM t) SELECT * FROM u WHERE u.a IN (SELECT a FROM c)",
		[]TableRef{trCTE("t", 1), tr("u", 1)}},
	{"materialized_cte", "WITH c AS MATERIALIZED (SELECT * FROM t) SELECT * FROM c", []TableRef{trCTE("t", 1)}},
	{"recursive_cte", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT * FROM r", nil},
	{"recursive_cte_over_table", "WITH RECURSIVE r(id, parent) AS (SELECT id, parent FROM edges WHERE parent IS NULL " +
		"UNION ALL SELECT e.id, e.parent FROM edges e JOIN r ON e.parent = r.id) SELECT * FROM r",
		[]TableRef{trCTE("edges", 2)}},
	{"recursive_anchor_reads_table_of_same_name",
		"WITH RECURSIVE r AS (SELECT n FROM r UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
		[]TableRef{trCTE("r", 1)}},
	{"recursive_using_key_recurring", "WITH RECURSIVE r(n, k) USING KEY (n) AS (SELECT 1, 1 UNION " +
		"SELECT r.n, r.k + 1 FROM r, recurring.r AS rr WHERE r.k < 3) SELECT * FROM r", nil},
	{"window_functions", "SELECT row_number() OVER (PARTITION BY a ORDER BY b), sum(x) OVER (ORDER BY b " +
		"ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), lag(x) OVER w FROM t WINDOW w AS (ORDER BY b) " +
		"QUALIFY row_number() OVER (PARTITION BY a) = 1", []TableRef{tr("t", 1)}},
	{"window_frame_subquery", "SELECT sum(x) OVER (ORDER BY b ROWS BETWEEN (SELECT 1 FROM u) PRECEDING AND CURRENT ROW) FROM t",
		[]TableRef{tr("u", 1), tr("t", 1)}},
	{"pivot_in_subquery", "SELECT * FROM (PIVOT sales ON year IN (2020, 2021) USING sum(amount) GROUP BY region)",
		[]TableRef{tr("sales", 1)}},
	{"pivot_standard_syntax", "SELECT * FROM sales PIVOT (sum(amount) FOR year IN (2020, 2021))",
		[]TableRef{tr("sales", 1)}},
	{"unpivot_statement", "UNPIVOT monthly ON jan, feb INTO NAME month VALUE amount", []TableRef{tr("monthly", 1)}},
	{"unpivot_standard_syntax", "SELECT * FROM monthly UNPIVOT (amount FOR month IN (jan, feb))",
		[]TableRef{tr("monthly", 1)}},
	{"values_statement", "VALUES (1, 'a'), (2, 'b')", nil},
	{"values_joined_to_table", "SELECT * FROM (VALUES (1), (2)) v(x) JOIN t ON t.a = v.x", []TableRef{tr("t", 1)}},
	{"lateral_subquery", "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.a = t.a)", []TableRef{tr("t", 1), tr("u", 1)}},
	{"allowed_table_functions", "SELECT * FROM range(10) r, generate_series(1, 3) g, unnest([1, 2]) u", nil},
	{"lateral_unnest_of_table_column", "SELECT x FROM t, unnest(t.l) AS u(x)", []TableRef{tr("t", 1)}},
	{"range_over_subquery", "SELECT * FROM range((SELECT count(*) FROM t))", []TableRef{tr("t", 1)}},
	{"grammar_sugar_functions", `SELECT [1, 2], {'a': 1}, MAP {'k': 'v'}, ROW(1, 2), [x * 2 FOR x IN [1, 2] IF x > 1],
		EXTRACT(year FROM d), TRIM(BOTH ' ' FROM s), SUBSTRING(s FROM 1 FOR 2), POSITION('a' IN s),
		OVERLAY(s PLACING 'x' FROM 1), s LIKE 'a%' ESCAPE '!', s SIMILAR TO 'a.*', ts AT TIME ZONE 'UTC',
		COLLATION FOR (s), l[1], l[1:2], s.field, s ILIKE 'a%' ESCAPE '!', s NOT LIKE 'a%' ESCAPE '!',
		s NOT ILIKE 'a%' ESCAPE '!', TRIM(LEADING 'x' FROM s), TRIM(TRAILING 'x' FROM s),
		(d, d) OVERLAPS (d, d) FROM t`, []TableRef{tr("t", 1)}},
	{"lambdas", "SELECT list_transform(l, x -> x + 1), list_filter(l, lambda x: x > 0), list_reduce(l, (a, b) -> a + b) FROM t",
		[]TableRef{tr("t", 1)}},
	{"aggregates_with_filter_and_order", "SELECT sum(x) FILTER (WHERE x > 1), list(x ORDER BY y), " +
		"string_agg(DISTINCT s, ',') FROM t GROUP BY ALL", []TableRef{tr("t", 1)}},
	{"grouping_sets", "SELECT a, b, sum(x), GROUPING(a) FROM t GROUP BY GROUPING SETS ((a), (b)), ROLLUP (a), CUBE (b)",
		[]TableRef{tr("t", 1)}},
	{"star_modifiers", "SELECT * EXCLUDE (a) REPLACE (b + 1 AS b), COLUMNS('c.*'), COLUMNS(c -> c LIKE 'd%') FROM t",
		[]TableRef{tr("t", 1)}},
	{"tpch_q21_three_lineitem_aliases", tpchQ21,
		[]TableRef{tr("supplier", 1), tr("lineitem", 3), tr("orders", 1), tr("nation", 1)}},
	{"tpch_q2_correlated_min", tpchQ2,
		[]TableRef{tr("part", 1), tr("supplier", 2), tr("partsupp", 2), tr("nation", 2), tr("region", 2)}},
	{"tpch_q15_cte_scanned_twice", tpchQ15, []TableRef{trCTE("lineitem", 1), tr("supplier", 1)}},
	{"case_insensitive_table_dedupe", "SELECT * FROM T JOIN t USING (a)", []TableRef{tr("T", 2)}},
	{"quoted_valid_identifier", `SELECT * FROM "Orders"`, []TableRef{tr("Orders", 1)}},
	{"table_named_like_table_function", "SELECT * FROM range", []TableRef{tr("range", 1)}},
	{"comment_hides_nothing", "SELECT 1 -- ; ATTACH 'x'", nil},
	{"block_comment", "SELECT /* ; ATTACH 'x'; */ a FROM t", []TableRef{tr("t", 1)}},
	{"semicolon_inside_string", "SELECT '; ATTACH ''x''; COPY t TO ''y''' AS s", nil},
	{"dollar_quoted_string", "SELECT $$; DROP TABLE t$$", nil},
	{"trailing_semicolon", "SELECT * FROM t;", []TableRef{tr("t", 1)}},
	{"harmless_builtins", "SELECT version(), pg_typeof(1), current_date, now(), random(), uuid(), current_user, " +
		"date_trunc('day', ts), strftime(ts, '%Y'), regexp_matches(s, 'a'), md5(s), hash(s) FROM t", []TableRef{tr("t", 1)}},
	{"prepared_parameters", "SELECT * FROM t WHERE a = ? AND b = $2", []TableRef{tr("t", 1)}},
	{"sampling", "SELECT * FROM t USING SAMPLE 10% UNION ALL SELECT * FROM u TABLESAMPLE 5 ROWS",
		[]TableRef{tr("t", 1), tr("u", 1)}},
	{"distinct_on_and_casts", "SELECT DISTINCT ON (a) a, b::INTEGER, TRY_CAST(c AS DATE), CASE WHEN d THEN 1 ELSE 2 END, " +
		"coalesce(e, 0) FROM t ORDER BY a", []TableRef{tr("t", 1)}},
	{"derived_table_with_column_aliases", "SELECT s.a FROM (SELECT * FROM t) AS s(a, b)", []TableRef{tr("t", 1)}},
}

func TestAnalyzePermitted(t *testing.T) {
	db := openDuckDB(t)
	for _, tc := range permittedCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := analyzeSQL(t, db, tc.sql)
			if err != nil {
				t.Fatalf("Analyze(%q): %v", tc.sql, err)
			}
			want := tc.want
			if want == nil {
				want = []TableRef{}
			}
			if !reflect.DeepEqual(got.Tables, want) {
				t.Errorf("Analyze(%q).Tables =\n  %+v\nwant\n  %+v", tc.sql, got.Tables, want)
			}
		})
	}
}
