package sandbox

import "strings"

// Bound is one conjunct of a simple WHERE that limits a column to a range
// of constants: Column Op Value, with Op one of = < <= > >=. Files whose
// min/max statistics cannot satisfy it may be skipped.
type Bound struct {
	Table  string // the base table the column belongs to
	Column string // as written (DuckDB matches it case-insensitively)
	Op     string
	Kind   string // "int" or "string": the constant's kind
	Value  string // decimal text for int
}

// compareOps maps DuckDB's comparison types to Bound.Op, and flipped is the
// operator with the operands swapped.
var (
	compareOps = map[string]string{"COMPARE_EQUAL": "=", "COMPARE_LESSTHAN": "<",
		"COMPARE_LESSTHANOREQUALTO": "<=", "COMPARE_GREATERTHAN": ">", "COMPARE_GREATERTHANOREQUALTO": ">="}
	flipped = map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
	intIDs  = map[string]bool{"TINYINT": true, "SMALLINT": true, "INTEGER": true, "BIGINT": true,
		"UTINYINT": true, "USMALLINT": true, "UINTEGER": true, "UBIGINT": true, "HUGEINT": true}
)

// bounds finds the bounds of a statement that is one plain SELECT over one
// base table with no CTE: the conjuncts of its WHERE that compare a column
// of that table with a literal. Everything it does not understand is left
// out, which only widens what is read, so the result is always safe.
func bounds(stmt *jsonValue) []Bound {
	node := stmt.get("node")
	if t, _ := node.get("type").str(); t != "SELECT_NODE" {
		return nil
	}
	if cm := node.get("cte_map").get("map"); cm.kindOf() == jsonArray && len(cm.elems) > 0 {
		return nil
	}
	from := node.get("from_table")
	if t, _ := from.get("type").str(); t != "BASE_TABLE" {
		return nil
	}
	table, _ := from.get("table_name").str()
	alias, _ := from.get("alias").str()
	var out []Bound
	conjuncts(node.get("where_clause"), func(e *jsonValue) {
		if b, ok := comparison(e, table, alias); ok {
			out = append(out, b...)
		}
	})
	return out
}

// conjuncts calls f with every operand of nested ANDs (or e itself).
func conjuncts(e *jsonValue, f func(*jsonValue)) {
	if e.kindOf() != jsonObject {
		return
	}
	if t, _ := e.get("type").str(); t == "CONJUNCTION_AND" {
		for _, c := range e.get("children").elems {
			conjuncts(c, f)
		}
		return
	}
	f(e)
}

func comparison(e *jsonValue, table, alias string) ([]Bound, bool) {
	typ, _ := e.get("type").str()
	if typ == "COMPARE_BETWEEN" {
		col, ok := columnOf(e.get("input"), table, alias)
		lo, ok1 := constant(e.get("lower"))
		hi, ok2 := constant(e.get("upper"))
		if !ok || !ok1 || !ok2 {
			return nil, false
		}
		return []Bound{{table, col, ">=", lo[0], lo[1]}, {table, col, "<=", hi[0], hi[1]}}, true
	}
	op, ok := compareOps[typ]
	if !ok {
		return nil, false
	}
	l, r := e.get("left"), e.get("right")
	if _, isCol := columnOf(l, table, alias); !isCol {
		l, r, op = r, l, flipped[op]
	}
	col, ok := columnOf(l, table, alias)
	c, ok2 := constant(r)
	if !ok || !ok2 {
		return nil, false
	}
	return []Bound{{table, col, op, c[0], c[1]}}, true
}

// columnOf returns the column a COLUMN_REF names when it is unqualified or
// qualified by the table's name or alias.
func columnOf(e *jsonValue, table, alias string) (string, bool) {
	if c, _ := e.get("class").str(); c != "COLUMN_REF" {
		return "", false
	}
	names := e.get("column_names")
	if names.kindOf() != jsonArray {
		return "", false
	}
	parts := make([]string, len(names.elems))
	for i, n := range names.elems {
		parts[i], _ = n.str()
	}
	switch {
	case len(parts) == 1:
		return parts[0], true
	case len(parts) == 2 && (strings.EqualFold(parts[0], table) || (alias != "" && strings.EqualFold(parts[0], alias))):
		return parts[1], true
	}
	return "", false
}

// constant returns (kind, value) of an integer or VARCHAR literal.
func constant(e *jsonValue) ([2]string, bool) {
	if c, _ := e.get("class").str(); c != "CONSTANT" {
		return [2]string{}, false
	}
	v := e.get("value")
	if null, _ := v.get("is_null").boolean(); null {
		return [2]string{}, false
	}
	id, _ := v.get("type").get("id").str()
	val := v.get("value")
	switch {
	case intIDs[id] && val.kindOf() == jsonNumber && !strings.ContainsAny(val.text, ".eE"):
		return [2]string{"int", val.text}, true
	case intIDs[id] && val.kindOf() == jsonString:
		return [2]string{"int", val.text}, true
	case id == "VARCHAR" && val.kindOf() == jsonString:
		return [2]string{"string", val.text}, true
	}
	return [2]string{}, false
}
