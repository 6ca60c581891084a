package tpch

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Reference runs query in a fresh in-process DuckDB over views named like the
// tables that read dir/<table>.parquet, and returns the canonical result.
func Reference(ctx context.Context, dir, query string) (*Result, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("tpch: opening duckdb: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("tpch: duckdb connection: %w", err)
	}
	defer conn.Close()
	if err := createViews(ctx, conn, dir); err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("tpch: reference query: %w", err)
	}
	defer rows.Close()
	return scanRows(rows)
}

// viewStatements returns one CREATE VIEW per table over dir/<table>.parquet.
func viewStatements(dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("tpch: data dir: %w", err)
	}
	stmts := make([]string, len(tables))
	for i, t := range tables {
		path := filepath.Join(abs, t+".parquet")
		stmts[i] = fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet(%s)", t, sqlString(path))
	}
	return stmts, nil
}

func createViews(ctx context.Context, conn *sql.Conn, dir string) error {
	stmts, err := viewStatements(dir)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("tpch: %s: %w", s, err)
		}
	}
	return nil
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// scanRows reads all rows into canonical form.
func scanRows(rows *sql.Rows) (*Result, error) {
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("tpch: column types: %w", err)
	}
	res := &Result{Columns: make([]string, len(types))}
	for i, t := range types {
		res.Columns[i] = t.Name()
	}
	raw := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("tpch: scanning row: %w", err)
		}
		row, err := sqlRow(raw, types)
		if err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tpch: reading rows: %w", err)
	}
	return res, nil
}

func sqlRow(raw []any, types []*sql.ColumnType) ([]Value, error) {
	row := make([]Value, len(raw))
	for i, v := range raw {
		cv, err := sqlValue(v, types[i].DatabaseTypeName())
		if err != nil {
			return nil, fmt.Errorf("tpch: column %q: %w", types[i].Name(), err)
		}
		row[i] = cv
	}
	return row, nil
}

// sqlValue canonicalizes one value as duckdb-go's database/sql driver returns it.
func sqlValue(v any, dbType string) (Value, error) {
	switch x := v.(type) {
	case nil:
		return nullValue(), nil
	case bool:
		return boolValue(x), nil
	case string:
		return stringValue(x), nil
	case float32:
		return floatValue(float64(x)), nil
	case float64:
		return floatValue(x), nil
	case *big.Int:
		return bigValue(x), nil
	case duckdb.Decimal:
		return decimalValue(x.Value, int32(x.Scale)), nil
	case time.Time:
		return sqlTime(x, dbType), nil
	}
	if cv, ok := sqlInt(v); ok {
		return cv, nil
	}
	return Value{}, fmt.Errorf("%w: %s (Go %T)", errUnsupported, dbType, v)
}

func sqlInt(v any) (Value, bool) {
	switch x := v.(type) {
	case int8:
		return int64Value(int64(x)), true
	case int16:
		return int64Value(int64(x)), true
	case int32:
		return int64Value(int64(x)), true
	case int64:
		return int64Value(x), true
	case uint8:
		return uint64Value(uint64(x)), true
	case uint16:
		return uint64Value(uint64(x)), true
	case uint32:
		return uint64Value(uint64(x)), true
	case uint64:
		return uint64Value(x), true
	}
	return Value{}, false
}

func sqlTime(t time.Time, dbType string) Value {
	switch dbType {
	case "DATE":
		return dateValue(t)
	case "TIME", "TIMETZ":
		return timeValue(t)
	default:
		return timestampValue(t)
	}
}
