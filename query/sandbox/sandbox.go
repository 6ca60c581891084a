package sandbox

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// SerializeSQL is the query the caller runs on DuckDB, with the user's SQL
// bound as its only parameter, to obtain the input of [Analyze].
const SerializeSQL = "SELECT json_serialize_sql(CAST(? AS VARCHAR))::VARCHAR"

// Analysis is what a permitted statement reads.
type Analysis struct {
	// Tables are the distinct base tables the statement reads, in
	// first-appearance order; CTE names are not tables.
	Tables []TableRef
	// Bounds are the WHERE conjuncts of a single-table SELECT that bound a
	// column by a literal (bounds.go), for file pruning; empty otherwise.
	Bounds []Bound
	// Scan is the table of a statement shaped like a plain scan (scan.go):
	// one SELECT over one base table that filters and projects rows one
	// at a time, which a cluster may split by node. Whether the functions
	// it calls are scalar is for the caller to judge: use PlainScan.
	Scan string
	// Verbatim is set for a plain scan whose answer is the table's stored
	// values: no WHERE, and a select list of only a bare * and column
	// references without aliases (scan.go). Its result columns are table
	// columns, so the engine may answer it from rows it holds in memory.
	Verbatim bool
	// Functions are the distinct names, ASCII lower-cased, of the
	// functions and window functions the statement calls.
	Functions []string
}

// TableRef is one base table a statement reads.
type TableRef struct {
	// Name is the table name as first written (an unquoted identifier).
	Name string
	// Scans is how many times the statement references the table: a
	// self-join counts 2; a reference inside a CTE body counts once per
	// reference in the CTE definition, however often the CTE is used.
	Scans int
	// InCTE is set when the table is referenced inside a CTE body, which
	// the statement may scan several times.
	InCTE bool
}

// RefusedError is returned for a statement that parses but is not allowed.
type RefusedError struct {
	// Reason names the offending statement, function or table.
	Reason string
}

func (e *RefusedError) Error() string { return "statement refused: " + e.Reason }

// SyntaxError is returned when DuckDB could not parse the statement.
type SyntaxError struct {
	// Message is DuckDB's parser message.
	Message string
}

func (e *SyntaxError) Error() string { return "syntax error: " + e.Message }

// ErrMalformed is wrapped by the error returned for input that is not the
// output of json_serialize_sql.
var ErrMalformed = errors.New("sandbox: malformed json_serialize_sql output")

// notSelectMessage is how json_serialize_sql reports a non-SELECT statement.
const notSelectMessage = "Only SELECT statements can be serialized to json"

// singleSelect is the reason given for anything but one SELECT statement.
const singleSelect = "only a single read-only SELECT statement is allowed"

// Analyze checks the json_serialize_sql output of one user statement against
// the package rules and reports the base tables it reads. The error is a
// *RefusedError, a *SyntaxError, or wraps ErrMalformed.
func Analyze(serialized []byte) (*Analysis, error) {
	root, err := parseJSON(serialized)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	stmt, err := singleStatement(root)
	if err != nil {
		return nil, err
	}
	w := newWalker()
	if err := w.walk(stmt, nil, false); err != nil {
		return nil, err
	}
	tables := w.result()
	an := &Analysis{Tables: tables, Bounds: bounds(stmt), Scan: plainScanTable(stmt, tables),
		Functions: calledFunctions(stmt, map[string]bool{}, nil)}
	an.Verbatim = an.Scan != "" && verbatim(stmt.get("node"))
	return an, nil
}

// singleStatement returns the only statement of a json_serialize_sql
// document, or the error the document reports.
func singleStatement(root *jsonValue) (*jsonValue, error) {
	if root.kind != jsonObject {
		return nil, malformed("top level is not an object")
	}
	failed, ok := root.get("error").boolean()
	if !ok {
		return nil, malformed(`missing boolean "error"`)
	}
	if failed {
		return nil, serializeError(root)
	}
	stmts := root.get("statements")
	if stmts.kindOf() != jsonArray {
		return nil, malformed(`missing array "statements"`)
	}
	if n := len(stmts.elems); n != 1 {
		return nil, &RefusedError{Reason: fmt.Sprintf("%s (got %d statements)", singleSelect, n)}
	}
	return stmts.elems[0], nil
}

// serializeError classifies the error json_serialize_sql reported.
func serializeError(root *jsonValue) error {
	msg, _ := root.get("error_message").str()
	if strings.HasPrefix(msg, notSelectMessage) {
		return &RefusedError{Reason: singleSelect}
	}
	if msg == "" {
		msg, _ = root.get("error_type").str()
	}
	return &SyntaxError{Message: msg}
}

func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }

// result lists the tables by their first position in the SQL text; tables
// without a known position keep the order in which the walk found them,
// after the others.
func (w *walker) result() []TableRef {
	uses := slices.Clone(w.tables)
	slices.SortStableFunc(uses, func(a, b *tableUse) int {
		switch {
		case a.firstLoc < b.firstLoc:
			return -1
		case a.firstLoc > b.firstLoc:
			return 1
		}
		return 0
	})
	out := make([]TableRef, 0, len(uses))
	for _, u := range uses {
		out = append(out, u.ref)
	}
	return out
}
