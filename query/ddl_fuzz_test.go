package query

import (
	"regexp"
	"testing"

	"github.com/miniodb/miniodb/ingest"
)

// FuzzParseDDL feeds arbitrary text to the DDL/DML grammar (pure Go, no
// DuckDB): a statement or an error, never a panic; a parsed statement
// names a table that passes the service's name rule or is refused later
// by checkTable.
func FuzzParseDDL(f *testing.F) {
	for _, s := range []string{
		"CREATE TABLE t (a INTEGER, b VARCHAR NULL) WITH (buffer_size = 10, shard_key = a)",
		"CREATE TABLE IF NOT EXISTS miniodb.main.t AS SELECT 1",
		"DROP TABLE IF EXISTS t CASCADE",
		"INSERT INTO t (a, b) BY NAME VALUES (1, 'x'), (2, $1)",
		"INSERT INTO \"weird \"\"name\" SELECT * FROM u",
		"CREATE TABLE t (a DECIMAL(10, 2), b STRUCT(x INT, y VARCHAR[]), c MAP(VARCHAR, INT))",
		"create table t(a int) -- comment\n", "/* unterminated", "'", "CREATE TABLE t (a INTEGER DEFAULT 1)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		d, err := parseDDL(sql)
		if err != nil {
			return
		}
		var name string
		switch st := d.(type) {
		case *createTable:
			name = st.name
		case *dropTable:
			name = st.name
		case *insertInto:
			name = st.name
		default:
			t.Fatalf("parseDDL returned %T", d)
		}
		if name == "" {
			t.Fatalf("%q parsed without a table name", sql)
		}
	})
}

var tableNameRule = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,63}$`)

// FuzzTableName checks the table-name rule against its documented
// pattern, and that a refusal names the rejected name.
func FuzzTableName(f *testing.F) {
	for _, s := range []string{"t", "T_1", "_x", "1a", "a-b", "ａ", "a\x00", "duckdb_settings", string(make([]byte, 65))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ingest.ValidTableName(name) != tableNameRule.MatchString(name) {
			t.Fatalf("ValidTableName(%q) = %v disagrees with %s", name, ingest.ValidTableName(name), ingest.TableNamePattern)
		}
		if err := checkTable(name); (err == nil) != tableNameRule.MatchString(name) {
			t.Fatalf("checkTable(%q) = %v", name, err)
		}
	})
}
