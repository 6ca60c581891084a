package main

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	_ "github.com/apache/arrow-go/v18/arrow/flight/flightsql/driver" // registers "flightsql" with database/sql
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
)

// fsqlParams makes a one-row parameter batch, one column per value.
func fsqlParams(t testing.TB, values ...any) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(values))
	for i, v := range values {
		fields[i] = arrow.Field{Name: "p", Type: fsqlArrowType(t, v), Nullable: true}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i, v := range values {
		fsqlAppend(t, b.Field(i), v)
	}
	return b.NewRecordBatch()
}

func fsqlArrowType(t testing.TB, v any) arrow.DataType {
	switch v := v.(type) {
	case nil:
		return arrow.Null
	case int64:
		return arrow.PrimitiveTypes.Int64
	case int32:
		return arrow.PrimitiveTypes.Int32
	case float64:
		return arrow.PrimitiveTypes.Float64
	case string:
		return arrow.BinaryTypes.String
	case bool:
		return arrow.FixedWidthTypes.Boolean
	case []byte:
		return arrow.BinaryTypes.Binary
	case arrow.Date32:
		return arrow.FixedWidthTypes.Date32
	case arrow.Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond} // no zone: TIMESTAMP, not TIMESTAMPTZ
	case decimal128.Num:
		return &arrow.Decimal128Type{Precision: 10, Scale: 2}
	default:
		t.Fatalf("no Arrow type for %T", v)
		return nil
	}
}

func fsqlAppend(t testing.TB, b array.Builder, v any) {
	switch b := b.(type) {
	case *array.NullBuilder:
		b.AppendNull()
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Int32Builder:
		b.Append(v.(int32))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.Date32Builder:
		b.Append(v.(arrow.Date32))
	case *array.TimestampBuilder:
		b.Append(v.(arrow.Timestamp))
	case *array.Decimal128Builder:
		b.Append(v.(decimal128.Num))
	default:
		t.Fatalf("no builder for %T", v)
	}
}

// TestFlightSQLParameterTypes binds one value of each supported Arrow type
// to a prepared query and reads it back as text.
func TestFlightSQLParameterTypes(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	day := arrow.Date32FromTime(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC))
	ts := arrow.Timestamp(time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC).UnixMicro())
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"int64", int64(-42), "-42"},
		{"int32", int32(7), "7"},
		{"float64", 2.5, "2.5"},
		{"string", "héllo 'x'", "héllo 'x'"},
		{"bool", true, "true"},
		{"blob", []byte{0, 1, 0xff}, `\x00\x01\xFF`},
		{"date", day, "2024-02-29"},
		{"timestamp", ts, "2024-02-29 13:14:15.123456"},
		{"decimal", decimal128.FromI64(12345), "123.45"},
		{"null", nil, "<null>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := c.Prepare(ctx, "SELECT CAST($1 AS VARCHAR) AS v")
			if err != nil {
				t.Fatal(err)
			}
			defer ps.Close(ctx)
			if n := ps.ParameterSchema().NumFields(); n != 1 {
				t.Fatalf("parameter schema has %d fields", n)
			}
			params := fsqlParams(t, tc.value)
			defer params.Release()
			ps.SetParameters(params)
			info, err := ps.Execute(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, recs := fsqlFetch(t, c, info)
			defer releaseRecs(recs)
			if got := fsqlStrings(recs, "v"); len(got) != 1 || got[0] != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFlightSQLPreparedQuery covers the prepared-statement lifecycle: the
// dataset and parameter schemas, binding that returns a new handle (the
// server is stateless), several parameter rows, GetSchema, Close, and
// parameters checked against the sandbox like any query.
func TestFlightSQLPreparedQuery(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	b := idBatch(0, 10)
	_, err := ingestRecs(ctx, c, "t", modeCreate, b)
	b.Release()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := c.Prepare(ctx, "SELECT id, v FROM t WHERE id = ? OR v = ? ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	ds, params := ps.DatasetSchema(), ps.ParameterSchema()
	if ds.NumFields() != 2 || ds.Field(1).Type.ID() != arrow.STRING || params.NumFields() != 2 ||
		params.Field(0).Type.ID() != arrow.INT64 || params.Field(1).Type.ID() != arrow.STRING {
		t.Fatalf("dataset %v parameters %v", ds, params)
	}
	if upd, ok := ps.IsUpdate(); !ok || upd {
		t.Fatalf("IsUpdate = %v, %v", upd, ok)
	}
	created := slices.Clone(ps.Handle())

	rows := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}}, nil))
	rows.Field(0).(*array.Int64Builder).AppendValues([]int64{2, -1}, nil)
	rows.Field(1).(*array.StringBuilder).AppendValues([]string{"", "v7"}, []bool{false, true})
	rec := rows.NewRecordBatch()
	rows.Release()
	defer rec.Release()
	ps.SetParameters(rec)
	info, err := ps.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(ps.Handle(), created) {
		t.Fatal("binding parameters did not return a new handle")
	}
	_, recs := fsqlFetch(t, c, info)
	if got := fsqlStrings(recs, "v"); !slices.Equal(got, []string{"v2", "v7"}) {
		t.Fatalf("two parameter rows returned %v, want [v2 v7]", got)
	}
	releaseRecs(recs)
	if sr, err := ps.GetSchema(ctx); err != nil || len(sr.GetSchema()) == 0 {
		t.Fatalf("GetSchema: %v", err)
	}
	if err := ps.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	_, err = c.Prepare(ctx, "SELECT * FROM read_csv('/etc/passwd') WHERE 1 = ?")
	wantCode(t, err, codes.PermissionDenied, "read_csv")
	ps2, err := c.Prepare(ctx, "SELECT id FROM t WHERE id = $1")
	if err != nil {
		t.Fatal(err)
	}
	bad := fsqlParams(t, int64(1), int64(2))
	defer bad.Release()
	ps2.SetParameters(bad)
	info, err = ps2.Execute(ctx)
	if err == nil {
		_, err = fsqlDrain(ctx, c, info)
	}
	wantCode(t, err, codes.InvalidArgument, "1 parameters, 2 values")
}

// fsqlDrain drains a FlightInfo and returns the first error.
func fsqlDrain(ctx context.Context, c *flightsql.Client, info *flight.FlightInfo) (int64, error) {
	var n int64
	for _, ep := range info.Endpoint {
		rdr, err := c.DoGet(ctx, ep.Ticket)
		if err != nil {
			return n, err
		}
		for rdr.Next() {
			n += rdr.RecordBatch().NumRows()
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestFlightSQLDatabaseSQLDriver uses the arrow-go database/sql driver,
// which prepares every statement like an application would.
func TestFlightSQLDatabaseSQLDriver(t *testing.T) {
	s := startServer(t, t.TempDir())
	db, err := sql.Open("flightsql", "flightsql://"+s.addr+"?timeout=30s")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	mustExec := func(q string, args ...any) int64 {
		t.Helper()
		res, err := db.ExecContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		n, _ := res.RowsAffected()
		return n
	}
	mustExec("CREATE TABLE people (id BIGINT, name VARCHAR, score DOUBLE, born DATE)")
	for i, name := range []string{"ada", "bob", "cy"} {
		if n := mustExec("INSERT INTO people (id, name, score) VALUES (?, ?, ?)", int64(i), name, float64(i)*1.5); n != 1 {
			t.Fatalf("insert affected %d rows", n)
		}
	}
	if n := mustExec("INSERT INTO people SELECT id + 10, upper(name), score, NULL FROM people WHERE id < ?", int64(2)); n != 2 {
		t.Fatalf("INSERT ... SELECT affected %d rows, want 2", n)
	}
	rows, err := db.QueryContext(ctx, "SELECT id, name FROM people WHERE score >= ? ORDER BY id", 1.0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if want := []string{"bob", "cy", "BOB"}; !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM people").Scan(&n); err != nil || n != 5 {
		t.Fatalf("count = %d, %v", n, err)
	}
	mustExec("DROP TABLE people")
	if _, err := db.QueryContext(ctx, "SELECT * FROM people"); err == nil || !strings.Contains(err.Error(), "people") {
		t.Fatalf("query of a dropped table: %v", err)
	}
}
