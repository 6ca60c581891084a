package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/miniodb/miniodb/catalog"
)

func TestParseDDL(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want any
	}{
		{"create", `CREATE TABLE t (id BIGINT, "Name" VARCHAR, price DECIMAL(10, 2))`,
			&createTable{name: "t", columns: []columnDef{{"id", "BIGINT"}, {"Name", "VARCHAR"}, {"price", "DECIMAL(10, 2)"}}}},
		{"create_if_not_exists_qualified", "create table if not exists miniodb.main.t (a int null);",
			&createTable{name: "t", ifNotExists: true, columns: []columnDef{{"a", "int"}}}},
		{"create_types", "CREATE TABLE t (a DOUBLE PRECISION, b TIMESTAMP WITH TIME ZONE, c INT[], d STRUCT(x INT, \"y z\" VARCHAR[]), e MAP(VARCHAR, INT), f ENUM('a', 'b''c'))",
			&createTable{name: "t", columns: []columnDef{{"a", "DOUBLE PRECISION"}, {"b", "TIMESTAMP WITH TIME ZONE"}, {"c", "INT[]"},
				{"d", `STRUCT(x INT, "y z" VARCHAR[])`}, {"e", "MAP(VARCHAR, INT)"}, {"f", `ENUM('a', 'b''c')`}}}},
		{"create_with_options", "CREATE TABLE t (id BIGINT, ts TIMESTAMP) WITH (buffer_size = 1000, flush_interval_seconds = '30', retention_days = 7, backup_enabled = true, shard_key = 'id', time_column = ts)",
			&createTable{name: "t", columns: []columnDef{{"id", "BIGINT"}, {"ts", "TIMESTAMP"}},
				config: catalog.TableConfig{BufferSize: 1000, FlushIntervalSeconds: 30, RetentionDays: 7, BackupEnabled: true, ShardKey: "id", TimeColumn: "ts"}}},
		{"create_as", "CREATE TABLE t WITH (buffer_size = 5) AS SELECT * FROM s -- copy",
			&createTable{name: "t", config: catalog.TableConfig{BufferSize: 5}, asQuery: "SELECT * FROM s -- copy"}},
		{"create_comments", "/* a /* nested */ comment */ CREATE -- x\n TABLE t (a INT)",
			&createTable{name: "t", columns: []columnDef{{"a", "INT"}}}},
		{"drop", "DROP TABLE t", &dropTable{name: "t"}},
		{"drop_if_exists", "drop table if exists main.t cascade;", &dropTable{name: "t", ifExists: true}},
		{"insert_values", "INSERT INTO t VALUES (1, 'a'), (?, ?)", &insertInto{name: "t", query: "VALUES (1, 'a'), (?, ?)"}},
		{"insert_columns", `INSERT INTO main.t (a, "B") SELECT 1, 2`, &insertInto{name: "t", columns: []string{"a", "B"}, query: "SELECT 1, 2"}},
		{"insert_paren_query", "INSERT INTO t (SELECT 1)", &insertInto{name: "t", query: "(SELECT 1)"}},
		{"insert_by_name", "INSERT INTO t BY NAME SELECT 1 AS a", &insertInto{name: "t", byName: true, query: "SELECT 1 AS a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDDL(tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseDDL(%q)\n got %#v\nwant %#v", tc.sql, got, tc.want)
			}
		})
	}
}

func TestParseDDLRefuses(t *testing.T) {
	tests := []struct {
		name, sql, mention string
	}{
		{"not_null", "CREATE TABLE t (a INT NOT NULL)", "NOT NULL"},
		{"primary_key", "CREATE TABLE t (a INT PRIMARY KEY)", "PRIMARY KEY"},
		{"default", "CREATE TABLE t (a INT DEFAULT 1)", "DEFAULT"},
		{"table_constraint", "CREATE TABLE t (a INT, PRIMARY KEY (a))", "constraints"},
		{"no_columns", "CREATE TABLE t", "column list"},
		{"missing_type", "CREATE TABLE t (a)", "missing type"},
		{"unknown_option", "CREATE TABLE t (a INT) WITH (colour = 'red')", "colour"},
		{"bad_option_value", "CREATE TABLE t (a INT) WITH (buffer_size = -1)", "buffer_size"},
		{"option_twice", "CREATE TABLE t (a INT) WITH (buffer_size = 1, buffer_size = 2)", "twice"},
		{"other_schema", "CREATE TABLE other.t (a INT)", `schema "other"`},
		{"other_catalog", "DROP TABLE c.main.t", `catalog "c"`},
		{"temporary", "CREATE TEMP TABLE t (a INT)", "temporary"},
		{"or_replace", "CREATE OR REPLACE TABLE t (a INT)", "OR REPLACE"},
		{"view", "CREATE VIEW v AS SELECT 1", "only SELECT"},
		{"drop_view", "DROP VIEW v", "only SELECT"},
		{"trailing", "DROP TABLE t; DROP TABLE u", "after the statement"},
		{"insert_or_replace", "INSERT OR REPLACE INTO t VALUES (1)", "OR REPLACE"},
		{"insert_default_values", "INSERT INTO t DEFAULT VALUES", "DEFAULT VALUES"},
		{"insert_nothing", "INSERT INTO t", "VALUES or a query"},
		{"update", "UPDATE t SET a = 1", "only SELECT"},
		{"odd_char", "CREATE TABLE t (a INT) WITH (buffer_size = 1) #", "unexpected character"},
		{"unterminated", "CREATE TABLE \"t (a INT)", "unterminated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDDL(tc.sql)
			if err == nil {
				t.Fatalf("parseDDL(%q) = %#v, want an error", tc.sql, got)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error %q does not mention %q", err, tc.mention)
			}
			if strings.Contains(tc.mention, "only SELECT") && !errors.Is(err, errUnsupported) {
				t.Fatalf("error %v is not errUnsupported", err)
			}
		})
	}
}
