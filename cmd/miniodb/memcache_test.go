package main

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// metricValue reads one unlabelled metric from a node's /metrics.
func metricValue(t *testing.T, s *apiServer, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(metricsText(t, s.rest))
	if m == nil {
		t.Fatalf("/metrics lacks %s", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sortedRows runs sql and returns its schema and rows as sorted text.
func sortedRows(t *testing.T, s *apiServer, sql string) (*arrow.Schema, []string) {
	t.Helper()
	schema, recs, err := queryAll(context.Background(), s.flight, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer releaseRecs(recs)
	var rows []string
	for _, rec := range recs {
		for r := range int(rec.NumRows()) {
			var cells []string
			for _, c := range rec.Columns() {
				cells = append(cells, c.ValueStr(r))
			}
			rows = append(rows, strings.Join(cells, "|"))
		}
	}
	slices.Sort(rows)
	return schema, rows
}

// TestMemoryCacheScan: SELECT * of rows the node has just flushed streams
// them from the memory cache, with the schema and rows DuckDB gives for
// the same table read from its files; after a restart the cache is empty,
// the scan decodes the files, with the same answer, and fills the cache
// for the next one.
func TestMemoryCacheScan(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, cfg, "buffer:\n  buffer_size: 1000\n  flush_interval: 200ms\n")
	s := startAPIServer(t, dir, "--config", cfg)
	ctx := context.Background()
	for b := range int64(3) {
		rec := idBatch(b*1000, 1000)
		_, err := ingestRecs(ctx, s.flight, "m", modeCreateAppend, rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 30*time.Second, "flush", func() bool {
		return metricValue(t, s, "miniodb_memory_cache_files") > 0 &&
			strings.Contains(metricsText(t, s.rest), `miniodb_table_buffered_rows{table="m"} 0`)
	})
	// WHERE true is not a verbatim scan: DuckDB reads the files.
	wantSchema, want := sortedRows(t, s, "SELECT * FROM m WHERE true")
	if len(want) != 3000 {
		t.Fatalf("DuckDB answered %d rows, want 3000", len(want))
	}
	for _, tc := range []struct{ sql, first string }{{"SELECT * FROM m", "id"}, {"SELECT v, id FROM m", "v"}} {
		before := metricValue(t, s, "miniodb_memory_cache_hits_total")
		schema, got := sortedRows(t, s, tc.sql)
		if schema.NumFields() != 2 || schema.Field(0).Name != tc.first || len(got) != 3000 {
			t.Fatalf("%s: schema %s, %d rows", tc.sql, schema, len(got))
		}
		if tc.first == "id" && (!schema.Equal(wantSchema) || !slices.Equal(got, want)) {
			t.Fatalf("%s from memory: schema %s; DuckDB: %s; or rows differ", tc.sql, schema, wantSchema)
		}
		if hits := metricValue(t, s, "miniodb_memory_cache_hits_total") - before; hits == 0 {
			t.Fatalf("%s: no file streamed from memory", tc.sql)
		}
	}
	s.stop()
	s.restart()
	before := metricValue(t, s, "miniodb_memory_cache_misses_total")
	schema, got := sortedRows(t, s, "SELECT * FROM m")
	if !schema.Equal(wantSchema) || !slices.Equal(got, want) {
		t.Fatalf("after restart: schema %s, %d rows; want %s, %d rows", schema, len(got), wantSchema, len(want))
	}
	if metricValue(t, s, "miniodb_memory_cache_misses_total") == before {
		t.Fatal("after restart the scan found files in memory")
	}
	// That scan decoded the files and handed them to the cache: the next
	// one streams them from memory.
	if metricValue(t, s, "miniodb_memory_cache_files") == 0 {
		t.Fatal("the scan after the restart left the memory cache empty")
	}
	hits := metricValue(t, s, "miniodb_memory_cache_hits_total")
	if schema, got := sortedRows(t, s, "SELECT * FROM m"); !schema.Equal(wantSchema) || !slices.Equal(got, want) {
		t.Fatalf("from the warmed cache: schema %s, %d rows; want %s, %d rows", schema, len(got), wantSchema, len(want))
	}
	if metricValue(t, s, "miniodb_memory_cache_hits_total") == hits {
		t.Fatal("the second scan after the restart read no file from memory")
	}
}
