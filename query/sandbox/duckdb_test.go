package sandbox

import (
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openDuckDB opens a private in-memory DuckDB, closed when the test ends.
func openDuckDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		tb.Fatalf("open duckdb: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// serialize returns DuckDB's json_serialize_sql output for query, the way
// the service obtains it.
func serialize(tb testing.TB, db *sql.DB, query string) []byte {
	tb.Helper()
	var out string
	if err := db.QueryRow(SerializeSQL, query).Scan(&out); err != nil {
		tb.Fatalf("json_serialize_sql(%q): %v", query, err)
	}
	return []byte(out)
}

// analyzeSQL serializes query with DuckDB and analyzes it.
func analyzeSQL(tb testing.TB, db *sql.DB, query string) (*Analysis, error) {
	tb.Helper()
	return Analyze(serialize(tb, db, query))
}

// errorClass names the class of an Analyze error for table-driven tests.
func errorClass(err error) string {
	var refusedErr *RefusedError
	var syntaxErr *SyntaxError
	switch {
	case err == nil:
		return "permitted"
	case errors.As(err, &refusedErr):
		return classRefused
	case errors.As(err, &syntaxErr):
		return classSyntax
	case errors.Is(err, ErrMalformed):
		return classMalformed
	}
	return "unexpected error type"
}

const (
	classRefused   = "refused"
	classSyntax    = "syntax"
	classMalformed = "malformed"
)

// hostileFile is the hostile list shared with the service's end-to-end
// tests.
const hostileFile = "testdata/hostile.sql"

// readHostileFile returns the statements of testdata/hostile.sql.
func readHostileFile(tb testing.TB) []string {
	tb.Helper()
	data, err := os.ReadFile(hostileFile)
	if err != nil {
		tb.Fatalf("read %s: %v", hostileFile, err)
	}
	return ParseStatementFile(string(data))
}

// escapeLine is the inverse of unescapeLine.
func escapeLine(stmt string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(stmt)
}
