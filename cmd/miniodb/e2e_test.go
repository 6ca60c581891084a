package main

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestIngestAndQuery(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	b1, b2 := idBatch(0, 1000), idBatch(1000, 500)
	defer b1.Release()
	defer b2.Release()
	n, err := ingestRecs(ctx, c, "events", modeCreate, b1, b2)
	if err != nil || n != 1500 {
		t.Fatalf("ingest = %d, %v; want 1500 rows", n, err)
	}
	got := queryInts(t, c, "SELECT count(*), sum(id), count(DISTINCT v) FROM events")
	if got[0] != 1500 || got[1] != 1500*1499/2 || got[2] != 1500 {
		t.Fatalf("count, sum, distinct = %v", got)
	}
	schema, recs, err := queryAll(ctx, c, "SELECT id, v FROM events WHERE id = 42")
	if err != nil {
		t.Fatal(err)
	}
	defer releaseRecs(recs)
	if schema.Field(1).Type.ID() != arrow.STRING {
		t.Fatalf("v comes back as %s, want utf8 (not a view type)", schema.Field(1).Type)
	}
	if len(recs) != 1 || recs[0].NumRows() != 1 || recs[0].Column(1).(*array.String).Value(0) != "v42" {
		t.Fatalf("point query returned %v", recs)
	}
}

// TestIngestOptions covers every TableDefinitionOptions combination on a
// missing and on an existing table.
func TestIngestOptions(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	batch := idBatch(0, 10)
	defer batch.Release()
	tests := []struct {
		name     string
		existing bool
		mode     ingestMode
		code     codes.Code
		rows     int64 // rows in the table afterwards
	}{
		{"missing_create_fail", false, modeCreate, codes.OK, 10},
		{"missing_create_append", false, modeCreateAppend, codes.OK, 10},
		{"missing_create_replace", false, modeReplace, codes.OK, 10},
		{"missing_fail_append", false, modeAppend, codes.NotFound, -1},
		{"missing_fail_replace", false, ingestMode{modeAppend.ifMissing, modeReplace.ifExists}, codes.NotFound, -1},
		{"missing_fail_fail", false, ingestMode{modeAppend.ifMissing, modeCreate.ifExists}, codes.NotFound, -1},
		{"existing_create_fail", true, modeCreate, codes.AlreadyExists, 10},
		{"existing_create_append", true, modeCreateAppend, codes.OK, 20},
		{"existing_create_replace", true, modeReplace, codes.OK, 10},
		{"existing_fail_append", true, modeAppend, codes.OK, 20},
		{"existing_fail_replace", true, ingestMode{modeAppend.ifMissing, modeReplace.ifExists}, codes.OK, 10},
		{"existing_fail_fail", true, ingestMode{modeAppend.ifMissing, modeCreate.ifExists}, codes.AlreadyExists, 10},
		{"unspecified_if_not_exist", false, ingestMode{0, modeCreate.ifExists}, codes.InvalidArgument, -1},
		{"unspecified_if_exists", true, ingestMode{modeCreate.ifMissing, 0}, codes.InvalidArgument, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := "opt_" + tt.name
			if tt.existing {
				if _, err := ingestRecs(ctx, c, table, modeCreate, batch); err != nil {
					t.Fatal(err)
				}
			}
			n, err := ingestRecs(ctx, c, table, tt.mode, batch)
			if tt.code != codes.OK {
				wantCode(t, err, tt.code, table)
			} else if err != nil || n != 10 {
				t.Fatalf("ingest = %d, %v; want 10 rows", n, err)
			}
			if tt.rows < 0 {
				_, _, err := queryAll(ctx, c, "SELECT * FROM "+table)
				wantCode(t, err, codes.NotFound, table)
				return
			}
			if got := queryInts(t, c, "SELECT count(*) FROM "+table)[0]; got != tt.rows {
				t.Fatalf("table has %d rows, want %d", got, tt.rows)
			}
		})
	}
}

func TestSchemaEvolution(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	base := idBatch(0, 5)
	defer base.Release()
	if _, err := ingestRecs(ctx, c, "evo", modeCreate, base); err != nil {
		t.Fatal(err)
	}
	// FlightInfo's schema follows the table's (the engine keeps query
	// descriptions keyed by the tables' schemas).
	infoFields := func() int {
		t.Helper()
		info, err := c.Execute(ctx, "SELECT * FROM evo")
		if err != nil {
			t.Fatal(err)
		}
		sc, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		return sc.NumFields()
	}
	if n := infoFields(); n != 2 {
		t.Fatalf("SELECT * describes %d columns, want 2", n)
	}
	// A new column is added as nullable; the old rows read it as NULL.
	wide := batchOf(t, `[{"id": 100, "v": "x", "score": 1.5}]`, "id", arrow.PrimitiveTypes.Int64, "v", arrow.BinaryTypes.String, "score", arrow.PrimitiveTypes.Float64)
	defer wide.Release()
	if _, err := ingestRecs(ctx, c, "evo", modeAppend, wide); err != nil {
		t.Fatal(err)
	}
	if n := infoFields(); n != 3 {
		t.Fatalf("SELECT * after a new column describes %d columns, want 3", n)
	}
	got := queryInts(t, c, "SELECT count(*), count(score) FROM evo")
	if got[0] != 6 || got[1] != 1 {
		t.Fatalf("count(*), count(score) = %v, want [6 1]", got)
	}
	// A missing column reads as NULL.
	narrow := batchOf(t, `[{"id": 200}]`, "id", arrow.PrimitiveTypes.Int64)
	defer narrow.Release()
	if _, err := ingestRecs(ctx, c, "evo", modeAppend, narrow); err != nil {
		t.Fatal(err)
	}
	got = queryInts(t, c, "SELECT count(*), count(v), count(score) FROM evo")
	if got[0] != 7 || got[1] != 6 || got[2] != 1 {
		t.Fatalf("after narrow batch: %v, want [7 6 1]", got)
	}
	// A type conflict is refused, names table and column, and changes nothing.
	conflict := batchOf(t, `[{"id": 300, "score": "high"}]`, "id", arrow.PrimitiveTypes.Int64, "score", arrow.BinaryTypes.String)
	defer conflict.Release()
	_, err := ingestRecs(ctx, c, "evo", modeAppend, conflict)
	wantCode(t, err, codes.InvalidArgument, "evo", "score")
	if got := queryInts(t, c, "SELECT count(*) FROM evo")[0]; got != 7 {
		t.Fatalf("refused batch changed the table: %d rows", got)
	}
	// Column names match case-insensitively, as in DuckDB.
	upper := batchOf(t, `[{"ID": 400}]`, "ID", arrow.PrimitiveTypes.Int64)
	defer upper.Release()
	if _, err := ingestRecs(ctx, c, "evo", modeAppend, upper); err != nil {
		t.Fatal(err)
	}
	if got := queryInts(t, c, "SELECT count(*) FROM evo WHERE id = 400")[0]; got != 1 {
		t.Fatalf("ID matched id in %d rows, want 1", got)
	}
}

func TestBadIngestInput(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	ok := idBatch(0, 3)
	defer ok.Release()
	dup := batchOf(t, `[{"a": 1, "A": 2}]`, "a", arrow.PrimitiveTypes.Int64, "A", arrow.PrimitiveTypes.Int64)
	defer dup.Release()
	f16 := nullBatch(t, "h", arrow.FixedWidthTypes.Float16)
	defer f16.Release()
	tests := []struct {
		name    string
		table   string
		batch   arrow.RecordBatch
		code    codes.Code
		mention []string
	}{
		{"name_starts_with_digit", "1abc", ok, codes.InvalidArgument, []string{"1abc"}},
		{"name_with_dot", "a.b", ok, codes.InvalidArgument, []string{"a.b"}},
		{"name_too_long", "t" + string(make([]byte, 0)) + "123456789012345678901234567890123456789012345678901234567890abcd", ok, codes.InvalidArgument, nil},
		{"name_with_quote", `t"x`, ok, codes.InvalidArgument, nil},
		{"reserved_prefix", "duckdb_settings", ok, codes.InvalidArgument, []string{"duckdb_settings", "reserved"}},
		{"columns_differ_in_case", "dupcols", dup, codes.InvalidArgument, []string{"dupcols", `"a"`, `"A"`}},
		{"unsupported_type", "halfs", f16, codes.InvalidArgument, []string{"halfs", "h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ingestRecs(ctx, c, tt.table, modeCreate, tt.batch)
			wantCode(t, err, tt.code, tt.mention...)
		})
	}
	// Nothing was created by the refused requests.
	for _, table := range []string{"dupcols", "halfs"} {
		_, _, err := queryAll(ctx, c, "SELECT * FROM "+table)
		wantCode(t, err, codes.NotFound, table)
	}
}

func TestJoinAcrossTables(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	users := batchOf(t, `[{"id": 1, "name": "ann", "age": 30}, {"id": 2, "name": "bob", "age": 20}]`,
		"id", arrow.PrimitiveTypes.Int64, "name", arrow.BinaryTypes.String, "age", arrow.PrimitiveTypes.Int64)
	orders := batchOf(t, `[{"user_id": 1, "amount": 10}, {"user_id": 1, "amount": 5}, {"user_id": 2, "amount": 7}]`,
		"user_id", arrow.PrimitiveTypes.Int64, "amount", arrow.PrimitiveTypes.Int64)
	defer users.Release()
	defer orders.Release()
	for name, b := range map[string]arrow.RecordBatch{"users": users, "orders": orders} {
		if _, err := ingestRecs(ctx, c, name, modeCreate, b); err != nil {
			t.Fatal(err)
		}
	}
	got := queryInts(t, c, "SELECT count(*), sum(o.amount) FROM users u JOIN orders o ON u.id = o.user_id WHERE u.age > 25")
	if got[0] != 2 || got[1] != 15 {
		t.Fatalf("join = %v, want [2 15]", got)
	}
	got = queryInts(t, c, "SELECT count(*) FROM orders a JOIN orders b ON a.user_id = b.user_id")
	if got[0] != 5 {
		t.Fatalf("self-join = %v, want 5", got)
	}
}

// batchOf builds a one-batch record from JSON rows and name/type pairs.
func batchOf(t testing.TB, rows string, cols ...any) arrow.RecordBatch {
	t.Helper()
	var fields []arrow.Field
	for i := 0; i < len(cols); i += 2 {
		fields = append(fields, arrow.Field{Name: cols[i].(string), Type: cols[i+1].(arrow.DataType), Nullable: true})
	}
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, arrow.NewSchema(fields, nil), stringsReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func nullBatch(t testing.TB, name string, typ arrow.DataType) arrow.RecordBatch {
	t.Helper()
	col := array.MakeArrayOfNull(memory.DefaultAllocator, typ, 1)
	defer col.Release()
	return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: name, Type: typ, Nullable: true}}, nil), []arrow.Array{col}, 1)
}

// TestManyBatchesInOneIngestKeepTheirValues sends one DoPut of many batches
// and checks the values read back from the buffer are the values sent: the
// service must own what it buffers, not borrow the transport's memory.
func TestManyBatchesInOneIngestKeepTheirValues(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	var recs []arrow.RecordBatch
	for i := int64(0); i < 20; i++ { // small and large (>4 MiB) messages
		size := int64(4000)
		if i%4 == 0 {
			size = 140000
		}
		recs = append(recs, idBatch(total(recs), size))
	}
	defer releaseRecs(recs)
	n, err := ingestRecs(context.Background(), c, "many", modeCreate, recs...)
	rows := total(recs)
	if err != nil || n != rows {
		t.Fatalf("ingest = %d, %v", n, err)
	}
	got := queryInts(t, c, "SELECT count(*), sum(id), max(id), count(*) FILTER (WHERE v = 'v' || id::VARCHAR) FROM many")
	if got[0] != rows || got[1] != rows*(rows-1)/2 || got[2] != rows-1 || got[3] != rows {
		t.Fatalf("count, sum, max, matching v = %v", got)
	}
}

func total(recs []arrow.RecordBatch) int64 {
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	return n
}

// TestConcurrentQueriesOnBufferedTable runs many queries at once over one
// table whose rows are all in the buffer, so every query builds its own
// buffer copy at the same time as the others.
func TestConcurrentQueriesOnBufferedTable(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	b := idBatch(0, 100)
	defer b.Release()
	if _, err := ingestRecs(context.Background(), c, "shared", modeCreate, b); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*10)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 10; round++ {
				k := (w + round) % 4
				_, recs, err := queryAll(context.Background(), c, fmt.Sprintf("SELECT count(*) FROM shared WHERE id %% 4 = %d", k))
				if err != nil {
					errs <- err
					return
				}
				n := recs[0].Column(0).(*array.Int64).Value(0)
				releaseRecs(recs)
				if n != 25 {
					errs <- fmt.Errorf("worker %d round %d: count %d, want 25", w, round, n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestTableNamesIgnoreCase: DuckDB resolves identifiers ignoring case, so
// "Users", "users" and "USERS" are one table on every path.
func TestTableNamesIgnoreCase(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	b := idBatch(0, 4)
	defer b.Release()
	if _, err := ingestRecs(ctx, c, "Users", modeCreate, b); err != nil {
		t.Fatal(err)
	}
	if _, err := ingestRecs(ctx, c, "USERS", modeAppend, b); err != nil {
		t.Fatalf("append through another spelling: %v", err)
	}
	_, err := ingestRecs(ctx, c, "users", modeCreate, b)
	wantCode(t, err, codes.AlreadyExists, "users")
	if got := queryInts(t, c, "SELECT count(*) FROM users")[0]; got != 8 {
		t.Fatalf("users has %d rows, want 8", got)
	}
	if _, err := c.ExecuteUpdate(ctx, "CREATE TABLE uSeRs (id BIGINT)"); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("CREATE TABLE of another spelling: %v, want AlreadyExists", err)
	}
	if _, err := c.ExecuteUpdate(ctx, "DROP TABLE USERS"); err != nil {
		t.Fatalf("DROP TABLE through another spelling: %v", err)
	}
	_, _, err = queryAll(ctx, c, "SELECT * FROM Users")
	wantCode(t, err, codes.NotFound)
}
