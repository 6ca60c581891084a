//go:build duckdb_arrow

package tpch

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// arrowSession is one DuckDB connection with the TPC-H views, queried
// through duckdb-go's Arrow API, the way the service exports results.
type arrowSession struct {
	db     *sql.DB
	conn   *sql.Conn
	schema *arrow.Schema // of the last query
}

func newArrowSession(t *testing.T, dir string) *arrowSession {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := &arrowSession{db: db, conn: conn}
	t.Cleanup(s.close)
	if err := createViews(ctx, conn, dir); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *arrowSession) close() {
	s.conn.Close()
	s.db.Close()
}

// query runs sql through the Arrow API and canonicalizes the records.
func (s *arrowSession) query(ctx context.Context, query string) (*Result, error) {
	var res *Result
	err := s.conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rdr, err := ar.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rdr.Release()
		var recs []arrow.RecordBatch
		defer func() {
			for _, r := range recs {
				r.Release()
			}
		}()
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		if err := rdr.Err(); err != nil {
			return err
		}
		s.schema = rdr.Schema()
		res, err = Canonicalize(s.schema, recs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("arrow query: %w", err)
	}
	return res, nil
}

func TestArrowMatchesReference(t *testing.T) {
	dir := testData(t)
	qs, err := Queries(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := newArrowSession(t, dir)
	ctx := context.Background()
	for _, q := range qs {
		want, err := Reference(ctx, dir, q.SQL)
		if err != nil {
			t.Fatalf("%s reference: %v", q.Name, err)
		}
		got, err := s.query(ctx, q.SQL)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		if q.Name == "q01" {
			t.Logf("q01 arrow schema: %s", s.schema)
		}
		if err := Compare(want, got, q.Ordered); err != nil {
			t.Errorf("%s: arrow vs reference: %v", q.Name, err)
		}
		if len(got.Rows) != len(want.Rows) || len(got.Rows) == 0 {
			t.Errorf("%s: %d arrow rows, %d reference rows", q.Name, len(got.Rows), len(want.Rows))
		}
	}
}

// typesQuery has one column of each type the canonical form covers, and a
// second row of NULLs.
const typesQuery = `SELECT * FROM (VALUES
 (1::TINYINT, 2::SMALLINT, 3::INTEGER, 4::BIGINT,
  170141183460469231731687303715884105727::HUGEINT, 5::UTINYINT, 18446744073709551615::UBIGINT,
  1.5::FLOAT, 2.25::DOUBLE, 123.4::DECIMAL(4,1), 12345678901234567890.1234567890::DECIMAL(38,10),
  42::DECIMAL(10,0), 7.25::DECIMAL(18,2),
  DATE '1995-03-15', TIMESTAMP '2020-01-02 03:04:05.123456', TIMESTAMPTZ '2020-01-02 03:04:05+02',
  TIME '12:34:56.5', true, '', 'it''s'),
 (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL)) AS t(
  ti, si, i, bi, hi, uti, ubi, f, d, dec41, dec3810, dec100, dec182,
  dt, ts, tstz, tm, b, empty, quoted)`

func TestCanonicalTypes(t *testing.T) {
	dir := testData(t)
	ctx := context.Background()
	want, err := Reference(ctx, dir, typesQuery)
	if err != nil {
		t.Fatal(err)
	}
	got, err := newArrowSession(t, dir).query(ctx, typesQuery)
	if err != nil {
		t.Fatal(err)
	}
	if err := Compare(want, got, true); err != nil {
		t.Fatalf("arrow vs reference: %v", err)
	}
	t.Logf("reference row: %s", rowString(want.Rows[0]))
	t.Logf("arrow row:     %s", rowString(got.Rows[0]))
	checkTypesRow(t, want.Rows[0])
	checkTypesRow(t, got.Rows[0])
	for c, v := range got.Rows[1] {
		if v.Kind != KindNull {
			t.Errorf("column %s: want NULL, got %s", got.Columns[c], v)
		}
	}
}

func checkTypesRow(t *testing.T, row []Value) {
	t.Helper()
	want := map[int]string{
		4:  "170141183460469231731687303715884105727",
		6:  "18446744073709551615",
		9:  "123.4",
		11: "42",
		13: "DATE '1995-03-15'",
		14: "TIMESTAMP '2020-01-02 03:04:05.123456'",
		15: "TIMESTAMP '2020-01-02 01:04:05'",
		16: "TIME '12:34:56.5'",
		17: "true",
		18: `""`,
		19: `"it's"`,
	}
	for c, s := range want {
		if got := row[c].String(); got != s {
			t.Errorf("column %d: got %s, want %s", c, got, s)
		}
	}
	if row[11].Kind != KindInt || row[4].Kind != KindInt || row[12].Kind != KindFloat {
		t.Errorf("kinds: hugeint %d, decimal(10,0) %d, decimal(18,2) %d", row[4].Kind, row[11].Kind, row[12].Kind)
	}
}
