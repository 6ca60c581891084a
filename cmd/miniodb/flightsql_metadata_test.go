package main

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fsqlFetch reads every endpoint of a FlightInfo, checking that each names
// the single-node reuse-connection location, and returns the batches
// (released by the caller) and the stream schema.
func fsqlFetch(t testing.TB, c *flightsql.Client, info *flight.FlightInfo) (*arrow.Schema, []arrow.RecordBatch) {
	t.Helper()
	var schema *arrow.Schema
	var recs []arrow.RecordBatch
	for _, ep := range info.Endpoint {
		if locs := ep.GetLocation(); len(locs) != 1 || locs[0].GetUri() != flight.LocationReuseConnection {
			t.Fatalf("endpoint locations %v, want [%s]", locs, flight.LocationReuseConnection)
		}
		rdr, err := c.DoGet(context.Background(), ep.Ticket)
		if err != nil {
			t.Fatal(err)
		}
		schema = rdr.Schema()
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	return schema, recs
}

// fsqlStrings returns the values of a utf8 column across batches ("<null>"
// for NULL).
func fsqlStrings(recs []arrow.RecordBatch, name string) []string {
	var out []string
	for _, r := range recs {
		idx := r.Schema().FieldIndices(name)
		if len(idx) == 0 {
			continue
		}
		col := r.Column(idx[0]).(*array.String)
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) {
				out = append(out, "<null>")
			} else {
				out = append(out, col.Value(i))
			}
		}
	}
	return out
}

// TestFlightSQLSqlInfoEveryID checks that GetSqlInfo answers every id of the
// SqlInfo enum with the value type the JDBC driver casts it to (a missing or
// mistyped value crashes DBeaver), and that unknown ids are skipped.
func TestFlightSQLSqlInfoEveryID(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	info, err := c.GetSqlInfo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, recs := fsqlFetch(t, c, info)
	defer releaseRecs(recs)
	got := fsqlSqlInfo(t, recs)
	long := map[int32]bool{562: true} // SQL_DEFAULT_TRANSACTION_ISOLATION is read as a Long by JDBC
	for id := int32(541); id <= 561; id++ {
		long[id] = id != 556 // SQL_MAX_ROW_SIZE_INCLUDES_BLOBS is a bool
	}
	for id, name := range pb.SqlInfo_name {
		v, ok := got[id]
		if !ok {
			t.Errorf("SqlInfo %s (%d) is missing", name, id)
			continue
		}
		if _, isLong := v.(int64); long[id] != isLong {
			t.Errorf("SqlInfo %s is %T, want int64: %v", name, v, long[id])
		}
	}
	want := map[int32]any{
		int32(flightsql.SqlInfoFlightSqlServerName):             "MinIODB",
		int32(flightsql.SqlInfoFlightSqlServerReadOnly):         false,
		int32(flightsql.SqlInfoFlightSqlServerTransaction):      int32(flightsql.SqlTransactionNone),
		int32(flightsql.SqlInfoFlightSqlServerCancel):           true,
		int32(flightsql.SqlInfoFlightSqlServerBulkIngestion):    true,
		int32(flightsql.SqlInfoIdentifierQuoteChar):             `"`,
		int32(flightsql.SqlInfoTransactionsSupported):           false,
		int32(flightsql.SqlInfoSupportsColumnAliasing):          true,
		int32(flightsql.SqlInfoDDLTable):                        true,
		int32(flightsql.SqlInfoFlightSqlServerStatementTimeout): int32(0),
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("SqlInfo %s = %#v, want %#v", pb.SqlInfo(id), got[id], w)
		}
	}
	if kw, _ := got[int32(flightsql.SqlInfoKeywords)].([]string); !slices.Contains(kw, "SELECT") {
		t.Errorf("SQL_KEYWORDS = %v", kw)
	}

	info, err = c.GetSqlInfo(ctx, []flightsql.SqlInfo{flightsql.SqlInfoFlightSqlServerName, 99999})
	if err != nil {
		t.Fatal(err)
	}
	_, recs2 := fsqlFetch(t, c, info)
	defer releaseRecs(recs2)
	if some := fsqlSqlInfo(t, recs2); len(some) != 1 || some[0] != "MinIODB" {
		t.Fatalf("GetSqlInfo(name, unknown) = %v", some)
	}
}

// fsqlSqlInfo decodes the dense-union SqlInfo result into Go values.
func fsqlSqlInfo(t *testing.T, recs []arrow.RecordBatch) map[int32]any {
	t.Helper()
	out := map[int32]any{}
	for _, r := range recs {
		names := r.Column(0).(*array.Uint32)
		vals := r.Column(1).(*array.DenseUnion)
		for i := 0; i < int(r.NumRows()); i++ {
			child := vals.Field(vals.ChildID(i))
			off := int(vals.ValueOffset(i))
			var v any
			switch c := child.(type) {
			case *array.String:
				v = c.Value(off)
			case *array.Boolean:
				v = c.Value(off)
			case *array.Int64:
				v = c.Value(off)
			case *array.Int32:
				v = c.Value(off)
			case *array.List:
				start, end := c.ValueOffsets(off)
				strs := c.ListValues().(*array.String)
				var l []string
				for j := start; j < end; j++ {
					l = append(l, strs.Value(int(j)))
				}
				v = l
			case *array.Map:
				v = "map"
			default:
				t.Fatalf("unexpected SqlInfo value type %s", child.DataType())
			}
			out[int32(names.Value(i))] = v
		}
	}
	return out
}

// TestFlightSQLCatalogMetadata checks GetCatalogs, GetDbSchemas, GetTables
// (filters, LIKE patterns, include_schema column metadata), GetTableTypes,
// the key commands and GetXdbcTypeInfo.
func TestFlightSQLCatalogMetadata(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	for _, name := range []string{"events", "event_log", "eventXlog", "other"} {
		b := idBatch(0, 2)
		_, err := ingestRecs(ctx, c, name, modeCreate, b)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ExecuteUpdate(ctx, "CREATE TABLE typed (d DECIMAL(12,3), ts TIMESTAMP, ok BOOLEAN)"); err != nil {
		t.Fatal(err)
	}

	info, err := c.GetCatalogs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, recs := fsqlFetch(t, c, info)
	if got := fsqlStrings(recs, "catalog_name"); !slices.Equal(got, []string{"miniodb"}) {
		t.Fatalf("catalogs %v", got)
	}
	releaseRecs(recs)

	p := func(s string) *string { return &s }
	schemaTests := []struct {
		name             string
		catalog, pattern *string
		want             []string
	}{
		{"all", nil, nil, []string{"main"}},
		{"our_catalog", p("miniodb"), p("ma%"), []string{"main"}},
		{"no_catalog", p(""), nil, nil},
		{"other_catalog", p("x"), nil, nil},
		{"pattern_miss", nil, p("m_n"), nil},
		{"pattern_underscore", nil, p("m__n"), []string{"main"}},
	}
	for _, tc := range schemaTests {
		t.Run("schemas_"+tc.name, func(t *testing.T) {
			info, err := c.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{Catalog: tc.catalog, DbSchemaFilterPattern: tc.pattern})
			if err != nil {
				t.Fatal(err)
			}
			_, recs := fsqlFetch(t, c, info)
			defer releaseRecs(recs)
			if got := fsqlStrings(recs, "db_schema_name"); !slices.Equal(got, tc.want) {
				t.Fatalf("schemas %v, want %v", got, tc.want)
			}
		})
	}

	tableTests := []struct {
		name                      string
		catalog, schema, tablePat *string
		types                     []string
		want                      []string
	}{
		{"all", nil, nil, nil, nil, []string{"eventXlog", "event_log", "events", "other", "typed"}},
		{"prefix", nil, nil, p("event%"), nil, []string{"eventXlog", "event_log", "events"}},
		{"escaped_underscore", nil, nil, p(`event\_log`), nil, []string{"event_log"}},
		{"underscore", nil, nil, p("event_log"), nil, []string{"eventXlog", "event_log"}},
		{"exact", p("miniodb"), p("main"), p("other"), []string{"TABLE"}, []string{"other"}},
		{"view_type", nil, nil, nil, []string{"VIEW"}, nil},
		{"other_schema", nil, p("public"), nil, nil, nil},
	}
	for _, tc := range tableTests {
		t.Run("tables_"+tc.name, func(t *testing.T) {
			info, err := c.GetTables(ctx, &flightsql.GetTablesOpts{Catalog: tc.catalog, DbSchemaFilterPattern: tc.schema,
				TableNameFilterPattern: tc.tablePat, TableTypes: tc.types})
			if err != nil {
				t.Fatal(err)
			}
			_, recs := fsqlFetch(t, c, info)
			defer releaseRecs(recs)
			if got := fsqlStrings(recs, "table_name"); !slices.Equal(got, tc.want) {
				t.Fatalf("tables %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("include_schema", func(t *testing.T) {
		info, err := c.GetTables(ctx, &flightsql.GetTablesOpts{TableNameFilterPattern: p("typed"), IncludeSchema: true})
		if err != nil {
			t.Fatal(err)
		}
		schema, recs := fsqlFetch(t, c, info)
		defer releaseRecs(recs)
		if !schema.Equal(schema_ref.TablesWithIncludedSchema) || len(recs) != 1 || recs[0].NumRows() != 1 {
			t.Fatalf("schema %v, %d batches", schema, len(recs))
		}
		ts, err := flight.DeserializeSchema(recs[0].Column(4).(*array.Binary).Value(0), memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct{ col, typeName, precision, scale string }{
			{"d", "DECIMAL(12,3)", "12", "3"}, {"ts", "TIMESTAMP", "", ""}, {"ok", "BOOLEAN", "", ""},
		}
		for i, w := range want {
			f := ts.Field(i)
			md := flightsql.ColumnMetadata{Data: &f.Metadata}
			tn, _ := md.TypeName()
			cat, _ := md.CatalogName()
			sch, _ := md.SchemaName()
			tbl, _ := md.TableName()
			if f.Name != w.col || tn != w.typeName || cat != "miniodb" || sch != "main" || tbl != "typed" || !f.Nullable {
				t.Errorf("column %d: %s %v", i, f.Name, f.Metadata)
			}
			if prec, ok := md.Precision(); w.precision != "" && (!ok || prec != 12) {
				t.Errorf("column %s precision %d %v", f.Name, prec, ok)
			}
			if sc, ok := md.Scale(); w.scale != "" && (!ok || sc != 3) {
				t.Errorf("column %s scale %d %v", f.Name, sc, ok)
			}
			for _, key := range []string{"ARROW:FLIGHT:SQL:IS_AUTO_INCREMENT", "ARROW:FLIGHT:SQL:IS_CASE_SENSITIVE",
				"ARROW:FLIGHT:SQL:IS_READ_ONLY", "ARROW:FLIGHT:SQL:IS_SEARCHABLE", "ARROW:FLIGHT:SQL:DB_SCHEMA_NAME", "ARROW:FLIGHT:SQL:IS_NULLABLE"} {
				if f.Metadata.FindKey(key) < 0 {
					t.Errorf("column %s lacks %s", f.Name, key)
				}
			}
		}
	})

	t.Run("table_types", func(t *testing.T) {
		info, err := c.GetTableTypes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, recs := fsqlFetch(t, c, info)
		defer releaseRecs(recs)
		if got := fsqlStrings(recs, "table_type"); !slices.Equal(got, []string{"TABLE"}) {
			t.Fatalf("table types %v", got)
		}
	})

	t.Run("keys_are_empty_and_well_formed", func(t *testing.T) {
		ref := flightsql.TableRef{Table: "events"}
		calls := map[string]func() (*flight.FlightInfo, error){
			"primary":  func() (*flight.FlightInfo, error) { return c.GetPrimaryKeys(ctx, ref) },
			"exported": func() (*flight.FlightInfo, error) { return c.GetExportedKeys(ctx, ref) },
			"imported": func() (*flight.FlightInfo, error) { return c.GetImportedKeys(ctx, ref) },
			"cross": func() (*flight.FlightInfo, error) {
				return c.GetCrossReference(ctx, ref, flightsql.TableRef{Table: "other"})
			},
		}
		wants := map[string]*arrow.Schema{"primary": schema_ref.PrimaryKeys, "exported": schema_ref.ExportedKeys,
			"imported": schema_ref.ImportedKeys, "cross": schema_ref.CrossReference}
		for name, call := range calls {
			info, err := call()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			schema, recs := fsqlFetch(t, c, info)
			rows := int64(0)
			for _, r := range recs {
				rows += r.NumRows()
			}
			releaseRecs(recs)
			if !schema.Equal(wants[name]) || rows != 0 {
				t.Fatalf("%s keys: %d rows, schema %v", name, rows, schema)
			}
		}
	})

	t.Run("xdbc_type_info", func(t *testing.T) {
		info, err := c.GetXdbcTypeInfo(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		schema, recs := fsqlFetch(t, c, info)
		defer releaseRecs(recs)
		names := fsqlStrings(recs, "type_name")
		if !schema.Equal(schema_ref.XdbcTypeInfo) || !slices.Contains(names, "BIGINT") || !slices.Contains(names, "VARCHAR") || !slices.Contains(names, "DECIMAL") {
			t.Fatalf("type names %v", names)
		}
		varchar := int32(pb.XdbcDataType_XDBC_VARCHAR)
		info, err = c.GetXdbcTypeInfo(ctx, &varchar)
		if err != nil {
			t.Fatal(err)
		}
		_, recs2 := fsqlFetch(t, c, info)
		defer releaseRecs(recs2)
		if got := fsqlStrings(recs2, "type_name"); !slices.Equal(got, []string{"VARCHAR"}) {
			t.Fatalf("VARCHAR types %v", got)
		}
	})
}
