package query

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/ingest"
)

// oneTable is a Source with an empty table t (id BIGINT, s VARCHAR).
type oneTable struct{}

var oneTableSchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)

func (oneTable) Snapshot(_ context.Context, table string) (*ingest.Snapshot, error) {
	if table != "t" {
		return nil, ingest.ErrTableNotFound
	}
	return &ingest.Snapshot{Table: "t", Schema: oneTableSchema}, nil
}

func (oneTable) TableSchema(table string) (*arrow.Schema, error) {
	if table != "t" {
		return nil, ingest.ErrTableNotFound
	}
	return oneTableSchema, nil
}

// Describe names the scanned table of a plain scan, judging functions by
// what DuckDB's duckdb_functions() says they are.
func TestDescribeScanOf(t *testing.T) {
	cfg := Config{CacheDir: t.TempDir(), TempDir: t.TempDir(), Threads: 2}
	e, err := Open(cfg, oneTable{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for sql, want := range map[string]string{
		"SELECT id, s FROM t WHERE id % 3 = 0":        "t",
		"SELECT upper(s), id * 2 FROM main.t":         "t",
		"SELECT id FROM t WHERE id > $1":              "t",
		"SELECT count(*) FROM t":                      "",
		"SELECT sum(id) FROM t WHERE id > 0":          "",
		"SELECT first(s) FROM t":                      "",
		"SELECT id FROM t ORDER BY id":                "",
		"SELECT id, rank() OVER (ORDER BY id) FROM t": "",
		"SELECT 1": "",
	} {
		st, err := e.Describe(context.Background(), sql, nil)
		if err != nil {
			t.Fatalf("Describe(%q): %v", sql, err)
		}
		if st.ScanOf != want {
			t.Errorf("Describe(%q).ScanOf = %q, want %q", sql, st.ScanOf, want)
		}
	}
}
