package sandbox

// A plain scan is a statement a cluster may split by node: each node runs
// it over its own part of the table and the client concatenates the
// answers. That is right only when every output row depends on one input
// row alone, so anything that combines rows (GROUP BY, aggregates, window
// functions, DISTINCT, ORDER BY, LIMIT, joins, set operations, subqueries,
// SAMPLE) makes a statement not a plain scan. Whether a called function is
// scalar is DuckDB's knowledge, not the parser's: Analysis.Functions lists
// the names and Analysis.PlainScan takes the caller's judgement.

// plainScanTable returns the table of a statement shaped like a plain scan
// (one SELECT_NODE over one BASE_TABLE, nothing that combines rows), or "".
func plainScanTable(stmt *jsonValue, tables []TableRef) string {
	node := stmt.get("node")
	if t, _ := node.get("type").str(); t != "SELECT_NODE" {
		return ""
	}
	if len(tables) != 1 || tables[0].Scans != 1 || tables[0].InCTE {
		return ""
	}
	if cm := node.get("cte_map").get("map"); cm.kindOf() != jsonArray || len(cm.elems) > 0 {
		return ""
	}
	from := node.get("from_table")
	if t, _ := from.get("type").str(); t != "BASE_TABLE" || !from.get("sample").absent() {
		return ""
	}
	for _, key := range []string{"modifiers", "group_expressions", "group_sets"} {
		if v := node.get(key); v.kindOf() != jsonArray || len(v.elems) > 0 {
			return ""
		}
	}
	for _, key := range []string{"having", "qualify", "sample"} {
		if !node.get(key).absent() {
			return ""
		}
	}
	if h, _ := node.get("aggregate_handling").str(); h != "STANDARD_HANDLING" {
		return ""
	}
	if combinesRows(node) {
		return ""
	}
	name, _ := from.get("table_name").str()
	return name
}

// verbatim reports whether a plain scan's select node reads every row and
// outputs only table columns unchanged and under their own names: no WHERE,
// no column aliases on the table (FROM t AS a(x, y) renames), and a select
// list of bare * (no EXCLUDE, REPLACE, RENAME or COLUMNS) and column
// references without an alias.
func verbatim(node *jsonValue) bool {
	if !node.get("where_clause").absent() {
		return false
	}
	if a := node.get("from_table").get("column_name_alias"); a.kindOf() != jsonArray || len(a.elems) > 0 {
		return false
	}
	list := node.get("select_list")
	if list.kindOf() != jsonArray || len(list.elems) == 0 {
		return false
	}
	for _, e := range list.elems {
		if alias, _ := e.get("alias").str(); alias != "" {
			return false
		}
		switch class, _ := e.get("class").str(); class {
		case "COLUMN_REF":
		case "STAR":
			if c, ok := e.get("columns").boolean(); !ok || c || !e.get("expr").absent() {
				return false
			}
			for _, key := range []string{"exclude_list", "replace_list", "rename_list", "qualified_exclude_list"} {
				if v := e.get(key); v.kindOf() != jsonArray || len(v.elems) > 0 {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// combinesRows reports whether anything under v reads more than the row at
// hand: a window expression, a subquery, or a function call written as an
// aggregate (DISTINCT, FILTER or ORDER BY inside its parentheses).
func combinesRows(v *jsonValue) bool {
	switch v.kindOf() {
	case jsonArray:
		for _, e := range v.elems {
			if combinesRows(e) {
				return true
			}
		}
	case jsonObject:
		class, _ := v.get("class").str()
		switch class {
		case "WINDOW", "SUBQUERY":
			return true
		case "FUNCTION":
			if d, _ := v.get("distinct").boolean(); d {
				return true
			}
			if orders := v.get("order_bys").get("orders"); !v.get("filter").absent() || (orders != nil && len(orders.elems) > 0) {
				return true
			}
		}
		for _, e := range v.elems {
			if combinesRows(e) {
				return true
			}
		}
	}
	return false
}

// calledFunctions collects the distinct lower-cased names of every FUNCTION
// and WINDOW expression under v, in first-seen order.
func calledFunctions(v *jsonValue, seen map[string]bool, out []string) []string {
	switch v.kindOf() {
	case jsonArray:
		for _, e := range v.elems {
			out = calledFunctions(e, seen, out)
		}
	case jsonObject:
		class, _ := v.get("class").str()
		if name, ok := v.get("function_name").str(); ok && (class == "FUNCTION" || class == "WINDOW") {
			if lower := asciiLower(name); !seen[lower] {
				seen[lower] = true
				out = append(out, lower)
			}
		}
		for _, e := range v.elems {
			out = calledFunctions(e, seen, out)
		}
	}
	return out
}

// PlainScan returns the table the statement scans when it is a plain scan
// (see Scan) and none of the functions it calls is one nonScalar reports
// (aggregate, window, table or macro functions, as the engine knows them);
// "" otherwise. A nil nonScalar trusts no function: only statements that
// call none qualify.
func (a *Analysis) PlainScan(nonScalar func(name string) bool) string {
	if a.Scan == "" {
		return ""
	}
	for _, f := range a.Functions {
		if nonScalar == nil || nonScalar(f) {
			return ""
		}
	}
	return a.Scan
}
