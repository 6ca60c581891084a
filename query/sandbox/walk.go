package sandbox

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// refusedNodeTypes are node types the parser never emits for a permitted
// user statement. SHOW_REF (DESCRIBE, SHOW, SUMMARIZE) has its own message;
// every type starting with BOUND_ is refused too.
var refusedNodeTypes = map[string]bool{
	"INVALID":             true,
	"CTE":                 true,
	"COLUMN_DATA":         true,
	"DELIM_GET":           true,
	"CTE_NODE":            true,
	"STATEMENT_NODE":      true,
	"BOUND_SUBQUERY_NODE": true,
}

// scope is the chain of CTE names visible at a point of the tree, innermost
// first. It is never modified, only extended.
type scope struct {
	name      string // ASCII lower-cased
	recursive bool   // the recursive CTE whose recursive part is being walked
	up        *scope
}

func (s *scope) with(name string, recursive bool) *scope {
	return &scope{name: asciiLower(name), recursive: recursive, up: s}
}

// find returns the innermost CTE called name, or nil.
func (s *scope) find(name string) *scope {
	lower := asciiLower(name)
	for ; s != nil; s = s.up {
		if s.name == lower {
			return s
		}
	}
	return nil
}

// tableUse accumulates the references to one base table.
type tableUse struct {
	ref      TableRef
	firstLoc uint64 // smallest query_location of a reference
}

// walker visits every object and array of a serialized statement.
type walker struct {
	tables []*tableUse
	index  map[string]*tableUse // by ASCII lower-cased name
}

func newWalker() *walker { return &walker{index: map[string]*tableUse{}} }

// walk visits v and everything nested in it.
func (w *walker) walk(v *jsonValue, sc *scope, inCTE bool) error {
	switch v.kindOf() {
	case jsonArray:
		for _, e := range v.elems {
			if err := w.walk(e, sc, inCTE); err != nil {
				return err
			}
		}
	case jsonObject:
		return w.object(v, sc, inCTE)
	}
	return nil
}

// object checks o itself, then walks its CTE definitions and every member,
// with the scope each one sees.
func (w *walker) object(o *jsonValue, sc *scope, inCTE bool) error {
	if err := w.check(o, sc, inCTE); err != nil {
		return err
	}
	inner := sc
	if cm := o.get("cte_map"); cm != nil {
		var err error
		if inner, err = w.ctes(cm, sc); err != nil {
			return err
		}
	}
	right, err := recursiveRightScope(o, inner)
	if err != nil {
		return err
	}
	for i, key := range o.keys {
		s := inner
		switch {
		case key == "cte_map":
			continue
		case key == "right" && right != nil:
			s = right
		}
		if err := w.walk(o.elems[i], s, inCTE); err != nil {
			return err
		}
	}
	return nil
}

// ctes walks the definitions of a cte_map, each seeing only the CTEs
// defined before it, and returns the scope of the query the map belongs to.
func (w *walker) ctes(cm *jsonValue, sc *scope) (*scope, error) {
	entries := cm.get("map")
	if entries.kindOf() != jsonArray {
		return nil, malformed(`"cte_map" without a "map" array`)
	}
	for _, entry := range entries.elems {
		name, ok := entry.get("key").str()
		if !ok {
			return nil, malformed(`CTE without a string "key"`)
		}
		if err := w.walk(entry, sc, true); err != nil {
			return nil, err
		}
		sc = sc.with(name, false)
	}
	return sc, nil
}

// recursiveRightScope returns, for a RECURSIVE_CTE_NODE, the scope of its
// recursive (right-hand) side, where the CTE's own name is visible; nil for
// any other object.
func recursiveRightScope(o *jsonValue, sc *scope) (*scope, error) {
	if typ, _ := o.get("type").str(); typ != "RECURSIVE_CTE_NODE" {
		return nil, nil
	}
	name, ok := o.get("cte_name").str()
	if !ok {
		return nil, malformed(`RECURSIVE_CTE_NODE without a string "cte_name"`)
	}
	return sc.with(name, true), nil
}

// check applies the rules to one object.
func (w *walker) check(o *jsonValue, sc *scope, inCTE bool) error {
	typ, _ := o.get("type").str()
	class, _ := o.get("class").str()
	if err := checkNodeType(typ, class); err != nil {
		return err
	}
	switch typ {
	case "BASE_TABLE":
		return w.baseTable(o, sc, inCTE)
	case "TABLE_FUNCTION":
		return checkTableFunction(o)
	}
	if o.get("function_name") != nil {
		return checkFunction(o)
	}
	if class == "FUNCTION" || class == "WINDOW" {
		return malformed(fmt.Sprintf(`%s expression without "function_name"`, class))
	}
	return nil
}

func checkNodeType(typ, class string) error {
	if typ == "SHOW_REF" {
		return refused("DESCRIBE, SHOW and SUMMARIZE are not allowed")
	}
	for _, t := range []string{typ, class} {
		if refusedNodeTypes[t] || strings.HasPrefix(t, "BOUND_") {
			return refused(fmt.Sprintf("query construct %q is not allowed", t))
		}
	}
	return nil
}

// baseTable checks a BASE_TABLE reference and records it unless it names a
// CTE in scope.
func (w *walker) baseTable(o *jsonValue, sc *scope, inCTE bool) error {
	name, schema, catalog, err := tableNames(o)
	if err != nil {
		return err
	}
	if !o.get("at_clause").absent() {
		return refused(fmt.Sprintf("time travel (AT clause) on table %q is not allowed", name))
	}
	if catalog == "" && schema == "recurring" {
		if cte := sc.find(name); cte != nil && cte.recursive {
			return nil // the recurring table of a USING KEY CTE
		}
	}
	if catalog != "" || schema != "" {
		return refused(fmt.Sprintf("schema-qualified name %q is not allowed: reference tables by bare name",
			qualifiedName(catalog, schema, name)))
	}
	if !tableNameRE.MatchString(name) {
		return refused(fmt.Sprintf("table name %q is not a valid table name "+
			"(a letter, then up to 63 letters, digits or underscores)", name))
	}
	if systemTableName(name) {
		return refused(fmt.Sprintf("table %q is a DuckDB system table or view and is not allowed", name))
	}
	if sc.find(name) == nil {
		w.record(name, location(o), inCTE)
	}
	return nil
}

func tableNames(o *jsonValue) (name, schema, catalog string, err error) {
	name, ok := o.get("table_name").str()
	if !ok {
		return "", "", "", malformed(`BASE_TABLE without a string "table_name"`)
	}
	if schema, err = optionalString(o, "schema_name"); err != nil {
		return "", "", "", err
	}
	catalog, err = optionalString(o, "catalog_name")
	return name, schema, catalog, err
}

// checkTableFunction refuses every table function but the allowed few.
func checkTableFunction(o *jsonValue) error {
	fn := o.get("function")
	name, schema, catalog, err := functionNames(fn)
	if err != nil {
		return err
	}
	if schema != "" || catalog != "" || !allowedTableFunctions[asciiLower(name)] {
		return refused(fmt.Sprintf("table function %q is not allowed", qualifiedName(catalog, schema, name)))
	}
	return nil
}

// checkFunction applies the function rules to a FUNCTION or WINDOW
// expression.
func checkFunction(o *jsonValue) error {
	name, schema, catalog, err := functionNames(o)
	if err != nil {
		return err
	}
	if name == "" || !isASCII(name) {
		return refused(fmt.Sprintf("function %q is not allowed: function names must be ASCII", name))
	}
	lower := asciiLower(name)
	if deniedFunction(lower) {
		return refused(fmt.Sprintf("function %q is not allowed", name))
	}
	if (schema != "" || catalog != "") && !grammarQualified(catalog, schema, lower) {
		return refused(fmt.Sprintf("qualified function name %q is not allowed: call functions by bare name "+
			"(method-call syntax such as x.upper() is not supported, write upper(x))",
			qualifiedName(catalog, schema, name)))
	}
	return nil
}

func functionNames(o *jsonValue) (name, schema, catalog string, err error) {
	name, ok := o.get("function_name").str()
	if !ok {
		return "", "", "", malformed(`function without a string "function_name"`)
	}
	if schema, err = optionalString(o, "schema"); err != nil {
		return "", "", "", err
	}
	catalog, err = optionalString(o, "catalog")
	return name, schema, catalog, err
}

// optionalString returns a member that must be a string if present.
func optionalString(o *jsonValue, key string) (string, error) {
	v := o.get(key)
	if v.absent() {
		return "", nil
	}
	s, ok := v.str()
	if !ok {
		return "", malformed(fmt.Sprintf("%q is not a string", key))
	}
	return s, nil
}

// location is the query_location of o, or the largest value if unknown.
func location(o *jsonValue) uint64 {
	v := o.get("query_location")
	if v.kindOf() != jsonNumber {
		return math.MaxUint64
	}
	loc, err := strconv.ParseUint(v.text, 10, 64)
	if err != nil {
		return math.MaxUint64
	}
	return loc
}

// record counts one reference to a base table.
func (w *walker) record(name string, loc uint64, inCTE bool) {
	key := asciiLower(name)
	u := w.index[key]
	if u == nil {
		u = &tableUse{ref: TableRef{Name: name}, firstLoc: loc}
		w.index[key] = u
		w.tables = append(w.tables, u)
	}
	u.ref.Scans++
	u.ref.InCTE = u.ref.InCTE || inCTE
	u.firstLoc = min(u.firstLoc, loc)
}

func refused(reason string) error { return &RefusedError{Reason: reason} }
