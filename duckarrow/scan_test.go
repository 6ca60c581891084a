package duckarrow

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	bindings "github.com/duckdb/duckdb-go-bindings"
)

func query(t *testing.T, conn bindings.Connection, sql string) error {
	t.Helper()
	var res bindings.Result
	defer bindings.DestroyResult(&res)
	if bindings.Query(conn, sql, &res) == bindings.StateError {
		return errors.New(bindings.ResultError(&res))
	}
	return nil
}

// The view reads the batches while f runs, is gone afterwards, and every
// buffer is released; an error of f is returned as it is.
func TestWith(t *testing.T) {
	var db bindings.Database
	if bindings.Open("", &db) == bindings.StateError {
		t.Fatal("open duckdb")
	}
	defer bindings.Close(&db)
	var conn bindings.Connection
	if bindings.Connect(db, &conn) == bindings.StateError {
		t.Fatal("connect")
	}
	defer bindings.Disconnect(&conn)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	var batches []arrow.RecordBatch
	for i := range 3 {
		b := array.NewInt64Builder(mem)
		b.AppendValues([]int64{int64(2 * i), int64(2*i + 1)}, nil)
		col := b.NewArray()
		batches = append(batches, array.NewRecordBatch(schema, []arrow.Array{col}, 2))
		col.Release()
		b.Release()
	}
	err := With(conn, `odd "name"`, schema, batches, func() error {
		return query(t, conn, `CREATE TABLE copied AS SELECT * FROM "odd ""name"""`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := query(t, conn, `SELECT 1 FROM "odd ""name"""`); err == nil {
		t.Fatal("the view outlived With")
	}
	if err := query(t, conn, `CREATE TABLE checked AS SELECT 1 FROM copied HAVING count(*) = 6 AND sum(v) = 15`); err != nil {
		t.Fatal(err)
	}
	var res bindings.Result
	bindings.Query(conn, "SELECT count(*) FROM checked", &res)
	n := bindings.ValueInt64(&res, 0, 0)
	bindings.DestroyResult(&res)
	if n != 1 {
		t.Fatal("the copy does not hold the 6 rows summing to 15")
	}
	boom := errors.New("boom")
	if err := With(conn, "v2", schema, batches, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("With returned %v, want f's error", err)
	}
	for _, b := range batches {
		b.Release()
	}
}
