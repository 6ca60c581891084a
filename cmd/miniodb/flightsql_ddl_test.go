package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"

	"github.com/miniodb/miniodb/catalog"
)

// executesAsDDL reports whether the service runs stmt as DDL/DML (CREATE
// TABLE, DROP TABLE, INSERT INTO) rather than refusing it; the sandbox
// test replays such statements only through DoGet, which never runs them.
func executesAsDDL(stmt string) bool {
	f := strings.Fields(strings.ToUpper(stmt))
	if len(f) < 2 {
		return false
	}
	switch f[0] + " " + f[1] {
	case "CREATE TABLE", "DROP TABLE", "INSERT INTO":
		return true
	}
	return false
}

// readsOurSchema reports whether stmt is the sandbox's hostile
// "SELECT * FROM main.t", which the service runs by design: main is the
// schema it presents, and query/qualify.go reads main.t as t.
func readsOurSchema(stmt string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(stmt), " "), "SELECT * FROM main.t")
}

func fsqlCount(t testing.TB, s *server, table string) int64 {
	t.Helper()
	return queryInts(t, s.client(), "SELECT count(*) FROM "+table)[0]
}

// TestFlightSQLDDLAndDML runs CREATE TABLE (with table options), INSERT
// VALUES, INSERT SELECT, CREATE TABLE AS and DROP TABLE through each path a
// client uses: CommandStatementUpdate, a prepared statement executed with
// DoPutPreparedStatementUpdate (how the JDBC driver sends everything), and
// a plain query (how ADBC's cursor.execute sends everything).
func TestFlightSQLDDLAndDML(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	c := s.client()
	ctx := context.Background()
	exec := func(q string) int64 {
		t.Helper()
		n, err := c.ExecuteUpdate(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}

	exec("CREATE TABLE m (id BIGINT, name VARCHAR, amount DECIMAL(10,2), happened TIMESTAMP) " +
		"WITH (buffer_size = 500, flush_interval_seconds = 7, retention_days = 30, backup_enabled = true, shard_key = 'id', time_column = 'happened')")
	exec("CREATE TABLE IF NOT EXISTS m (x INT)")
	if n := exec("INSERT INTO m VALUES (1, 'a', 1.25, TIMESTAMP '2024-05-01 10:00:00'), (2, 'b', NULL, NULL)"); n != 2 {
		t.Fatalf("INSERT VALUES wrote %d rows", n)
	}
	if n := exec("INSERT INTO main.m (name, id) SELECT 'x' || id, id + 100 FROM m"); n != 2 {
		t.Fatalf("INSERT SELECT wrote %d rows", n)
	}

	t.Run("prepared_update", func(t *testing.T) {
		ps, err := c.Prepare(ctx, "INSERT INTO m (id, name) VALUES (?, ?)")
		if err != nil {
			t.Fatal(err)
		}
		defer ps.Close(ctx)
		if ds := ps.DatasetSchema(); ds == nil || ds.NumFields() != 0 {
			t.Fatalf("dataset schema of an INSERT: %v", ds)
		}
		if upd, ok := ps.IsUpdate(); !ok || !upd {
			t.Fatalf("IsUpdate = %v, %v", upd, ok)
		}
		if p := ps.ParameterSchema(); p.NumFields() != 2 || p.Field(0).Type.ID() != arrow.INT64 || p.Field(1).Type.ID() != arrow.STRING {
			t.Fatalf("parameter schema %v", p)
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, ps.ParameterSchema())
		b.Field(0).(*array.Int64Builder).AppendValues([]int64{200, 201, 202}, nil)
		b.Field(1).(*array.StringBuilder).AppendValues([]string{"p", "q", "r"}, nil)
		rec := b.NewRecordBatch()
		b.Release()
		defer rec.Release()
		ps.SetParameters(rec)
		n, err := ps.ExecuteUpdate(ctx)
		if err != nil || n != 3 {
			t.Fatalf("prepared INSERT of 3 parameter rows: %d, %v", n, err)
		}
		ddl, err := c.Prepare(ctx, "CREATE TABLE p2 (a INT)")
		if err != nil {
			t.Fatal(err)
		}
		if ds := ddl.DatasetSchema(); ds.NumFields() != 0 {
			t.Fatalf("dataset schema of CREATE TABLE: %v", ds)
		}
		if _, err := ddl.ExecuteUpdate(ctx); err != nil {
			t.Fatal(err)
		}
		ddl.Close(ctx)
	})

	t.Run("as_query", func(t *testing.T) {
		info, err := c.Execute(ctx, "INSERT INTO m (id) VALUES (300)")
		if err != nil {
			t.Fatal(err)
		}
		_, recs := fsqlFetch(t, c, info)
		defer releaseRecs(recs)
		if len(recs) != 1 || recs[0].Schema().Field(0).Name != "rows_affected" || recs[0].Column(0).(*array.Int64).Value(0) != 1 {
			t.Fatalf("INSERT as a query returned %v", recs)
		}
		// The ticket reports the count again; it does not insert again.
		_, again := fsqlFetch(t, c, info)
		releaseRecs(again)
	})

	if got := fsqlCount(t, s, "m"); got != 8 {
		t.Fatalf("m has %d rows, want 8", got)
	}
	exec("CREATE TABLE m2 WITH (buffer_size = 9) AS SELECT id, name FROM m WHERE id < 100")
	if got := queryInts(t, c, "SELECT count(*), sum(id) FROM m2"); got[0] != 2 || got[1] != 3 {
		t.Fatalf("CREATE TABLE AS: count, sum = %v", got)
	}
	exec("DROP TABLE p2")
	exec("DROP TABLE IF EXISTS p2")
	_, err := c.Execute(ctx, "SELECT * FROM p2")
	wantCode(t, err, codes.NotFound, "p2")

	s.stop()
	cat, err := catalog.OpenBolt(filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := cat.Table(ctx, "m")
	m2, err2 := cat.Table(ctx, "m2")
	cat.Close()
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	want := catalog.TableConfig{BufferSize: 500, FlushIntervalSeconds: 7, RetentionDays: 30, BackupEnabled: true, ShardKey: "id", TimeColumn: "happened"}
	m.Config.Properties = nil
	if m.Config.BufferSize != want.BufferSize || m.Config.FlushIntervalSeconds != 7 || m.Config.RetentionDays != 30 ||
		!m.Config.BackupEnabled || m.Config.ShardKey != "id" || m.Config.TimeColumn != "happened" {
		t.Fatalf("table options of m: %+v, want %+v", m.Config, want)
	}
	if m2.Config.BufferSize != 9 {
		t.Fatalf("table options of m2: %+v", m2.Config)
	}
	if names := fsqlFieldNames(m.Schema); !slices.Equal(names, []string{"id", "name", "amount", "happened"}) {
		t.Fatalf("columns of m: %v", names)
	}
	s.restart()
	if got := fsqlCount(t, s, "m"); got != 8 {
		t.Fatalf("after restart m has %d rows, want 8", got)
	}
}

func fsqlFieldNames(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, f.Name)
	}
	return out
}

// TestFlightSQLDDLRefusals checks the status and message of statements the
// service does not run.
func TestFlightSQLDDLRefusals(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	if _, err := c.ExecuteUpdate(ctx, "CREATE TABLE t (id BIGINT, v VARCHAR)"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sql     string
		code    codes.Code
		mention string
	}{
		{"exists", "CREATE TABLE t (a INT)", codes.AlreadyExists, "t"},
		{"bad_type", "CREATE TABLE u (a NOSUCHTYPE)", codes.InvalidArgument, "NOSUCHTYPE"},
		{"not_null", "CREATE TABLE u (a INT NOT NULL)", codes.InvalidArgument, "NOT NULL"},
		{"bad_name", "CREATE TABLE pg_u (a INT)", codes.InvalidArgument, "pg_"},
		{"bad_option", "CREATE TABLE u (a INT) WITH (colour = 1)", codes.InvalidArgument, "colour"},
		{"shard_key_missing", "CREATE TABLE u (a INT) WITH (shard_key = 'b')", codes.InvalidArgument, "shard_key"},
		{"other_schema", "DROP TABLE other.t", codes.InvalidArgument, "other"},
		{"drop_missing", "DROP TABLE nope", codes.NotFound, "nope"},
		{"insert_missing", "INSERT INTO nope VALUES (1)", codes.NotFound, "nope"},
		{"insert_bad_column", "INSERT INTO t (id, nope) VALUES (1, 2)", codes.InvalidArgument, "nope"},
		{"insert_bad_value", "INSERT INTO t (id) VALUES ('not a number')", codes.InvalidArgument, "not a number"},
		{"insert_hostile_source", "INSERT INTO t (v) SELECT content FROM read_text('/etc/passwd')", codes.PermissionDenied, "read_text"},
		{"insert_from_file", "INSERT INTO t (v) SELECT * FROM '/etc/passwd'", codes.PermissionDenied, "/etc/passwd"},
		{"ctas_hostile", "CREATE TABLE u AS SELECT current_setting('threads') AS x", codes.PermissionDenied, "current_setting"},
		{"two_statements", "DROP TABLE t; SELECT 1", codes.PermissionDenied, "one statement"},
		{"update", "UPDATE t SET id = 1", codes.PermissionDenied, "only SELECT"},
		{"delete", "DELETE FROM t", codes.PermissionDenied, "only SELECT"},
		{"attach", "ATTACH '/tmp/x.db'", codes.PermissionDenied, "only SELECT"},
		{"copy", "COPY t TO '/tmp/x.csv'", codes.PermissionDenied, "only SELECT"},
		{"query_as_update", "SELECT 1", codes.InvalidArgument, "returns rows"},
		{"syntax", "CREATE TABLE (", codes.InvalidArgument, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ExecuteUpdate(ctx, tc.sql)
			wantCode(t, err, tc.code, tc.mention)
		})
	}
	if got := fsqlCount(t, s, "t"); got != 0 {
		t.Fatalf("t has %d rows after the refused statements", got)
	}
}

// TestFlightSQLDropRecreateSurvivesCrash drops and re-creates a table by
// SQL while the WAL still holds the old table's rows, then SIGKILLs the
// node: replay must bring back only the new table's rows.
func TestFlightSQLDropRecreateSurvivesCrash(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE r (id BIGINT)",
		"INSERT INTO r VALUES (1), (2), (3)",
		"DROP TABLE r",
		"CREATE TABLE r (id BIGINT, note VARCHAR)",
		"INSERT INTO r VALUES (10, 'new')",
	} {
		if _, err := c.ExecuteUpdate(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.kill()
	s.restart()
	if got := queryInts(t, s.client(), "SELECT count(*), sum(id) FROM r"); got[0] != 1 || got[1] != 10 {
		t.Fatalf("after crash and replay: count, sum = %v, want 1, 10", got)
	}
}

// TestFlightSQLQualifiedNames: tools qualify table names with the catalog
// and schema the service presents; those qualifiers work in queries and
// DDL, any other is refused.
func TestFlightSQLQualifiedNames(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	if _, err := c.ExecuteUpdate(ctx, "CREATE TABLE miniodb.main.q (id BIGINT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecuteUpdate(ctx, "INSERT INTO main.q SELECT range FROM range(3)"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecuteUpdate(ctx, `INSERT INTO q SELECT id + 10 FROM "miniodb"."main"."q" WHERE id = ?`); err == nil {
		t.Fatal("a parameter without a value was accepted")
	}
	for _, q := range []string{
		"SELECT count(*) FROM main.q",
		"SELECT count(*) FROM miniodb.main.q",
		`SELECT count(*) FROM "MINIODB"."MAIN".q AS x JOIN main.q AS y USING (id)`,
	} {
		if got := queryInts(t, c, q)[0]; got != 3 {
			t.Fatalf("%s = %d, want 3", q, got)
		}
	}
	for _, q := range []string{"SELECT * FROM other.q", "SELECT * FROM memory.main.q", "SELECT * FROM temp.main.q", "SELECT * FROM information_schema.tables"} {
		_, err := c.Execute(ctx, q)
		wantCode(t, err, codes.PermissionDenied)
	}
}

// TestFlightSQLIngestCatalogNames: bulk ingest accepts the catalog and
// schema the service presents (or none) and names any other in its error.
func TestFlightSQLIngestCatalogNames(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	p := func(s string) *string { return &s }
	tests := []struct {
		name            string
		catalog, schema *string
		code            codes.Code
		mention         string
	}{
		{"none", nil, nil, codes.OK, ""},
		{"ours", p("miniodb"), p("main"), codes.OK, ""},
		{"ours_any_case", p("MINIODB"), p("Main"), codes.OK, ""},
		{"other_catalog", p("lake"), nil, codes.InvalidArgument, `catalog "lake"`},
		{"other_schema", nil, p("public"), codes.InvalidArgument, `schema "public"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := idBatch(0, 2)
			defer b.Release()
			rdr, err := array.NewRecordReader(b.Schema(), []arrow.RecordBatch{b})
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Release()
			opts := ingestOpts("cat_"+tc.name, modeCreate)
			opts.Catalog, opts.Schema = tc.catalog, tc.schema
			_, err = c.ExecuteIngest(ctx, rdr, opts)
			if tc.code == codes.OK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code, tc.mention)
		})
	}
}
