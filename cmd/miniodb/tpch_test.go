package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/miniodb/miniodb/bench/tpch"
)

// TestTPCH generates the 8 TPC-H tables (SF 0.01), ingests them through
// Flight SQL bulk ingest, runs the 22 queries through Flight SQL and compares
// every answer with DuckDB's on the same Parquet files.
func TestTPCH(t *testing.T) {
	data, queries := tpchData(t)
	s := startServer(t, t.TempDir())
	c := s.client()
	for _, table := range tpch.Tables() {
		loadParquet(t, s, filepath.Join(data, table+".parquet"), table)
	}
	// First every row is in the buffers (SF 0.01 stays under buffer_size);
	// after SIGTERM every row is in Parquet files.
	t.Run("buffers", func(t *testing.T) { runTPCH(t, c, data, queries) })
	s.stop()
	if len(parquetFiles(t, s.dataDir)) == 0 {
		t.Fatal("SIGTERM flushed nothing")
	}
	s.restart()
	t.Run("parquet", func(t *testing.T) { runTPCH(t, s.client(), data, queries) })
}

// tpchData generates the TPC-H tables (SF 0.01) into a folder of the test
// and returns it with the 22 queries.
func tpchData(t *testing.T) (string, []tpch.Query) {
	t.Helper()
	python := os.Getenv("MINIODB_PYTHON")
	if python == "" {
		python = "python3"
	}
	data := filepath.Join(t.TempDir(), "tpch")
	if err := tpch.Ensure(context.Background(), python, data, 0.01); err != nil {
		t.Fatalf("generate TPC-H data (run `make test`, which installs the pinned Python packages): %v", err)
	}
	queries, err := tpch.Queries(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) != 22 {
		t.Fatalf("%d TPC-H queries, want 22", len(queries))
	}
	return data, queries
}

func runTPCH(t *testing.T, c *flightsql.Client, data string, queries []tpch.Query) {
	ctx := context.Background()
	for _, q := range queries {
		t.Run(q.Name, func(t *testing.T) {
			want, err := tpch.Reference(ctx, data, q.SQL)
			if err != nil {
				t.Fatalf("reference: %v", err)
			}
			schema, recs, err := queryAll(ctx, c, q.SQL)
			if err != nil {
				t.Fatalf("through Flight SQL: %v", err)
			}
			defer releaseRecs(recs)
			got, err := tpch.Canonicalize(schema, recs)
			if err != nil {
				t.Fatal(err)
			}
			if err := tpch.Compare(want, got, q.Ordered); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// loadParquet bulk-ingests a Parquet file, batch by batch, in one DoPut.
func loadParquet(t *testing.T, s *server, path, table string) {
	t.Helper()
	rr, rows := parquetBatches(t, path)
	n, err := s.client().ExecuteIngest(context.Background(), rr, ingestOpts(table, modeCreate))
	if err != nil || n != rows {
		t.Fatalf("ingest %s: %d rows of %d, %v", table, n, rows, err)
	}
}

// parquetBatches reads a Parquet file in 8192-row batches; it returns the
// reader (released when the test ends) and the file's row count.
func parquetBatches(t *testing.T, path string) (pqarrow.RecordReader, int64) {
	t.Helper()
	f, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fr, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{BatchSize: 8192}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rr.Release)
	return rr, f.NumRows()
}
