package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestFullScanStreams scans 6 M rows from Parquet and checks that the
// server streams them: its peak resident memory during the scan grows by
// far less than the result's size.
func TestFullScanStreams(t *testing.T) {
	const rows, per = 6_000_000, 65536
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	var recs []arrow.RecordBatch
	for from := int64(0); from < rows; from += per {
		recs = append(recs, wideBatch(from, min(per, rows-from)))
	}
	n, err := ingestRecs(ctx, c, "big", modeCreate, recs...)
	var resultBytes int64
	for _, r := range recs {
		for _, col := range r.Columns() {
			for _, b := range col.Data().Buffers() {
				if b != nil {
					resultBytes += int64(b.Len())
				}
			}
		}
	}
	releaseRecs(recs)
	if err != nil || n != rows {
		t.Fatalf("ingest = %d, %v", n, err)
	}
	s.stop() // flush to Parquet, then scan from a fresh process
	s.restart()
	c = s.client()
	before, _ := s.rssKiB()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0); err != nil {
		t.Fatalf("reset peak RSS: %v", err)
	}
	start := time.Now()
	rdr := openStream(t, c, "SELECT * FROM big")
	var got int64
	var first time.Duration
	for rdr.Next() {
		if got == 0 {
			first = time.Since(start)
		}
		got += rdr.RecordBatch().NumRows()
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	rdr.Release()
	total := time.Since(start)
	_, peak := s.rssKiB()
	growMiB := (peak - before) / 1024
	t.Logf("scan of %d rows (%d MiB as Arrow): first batch after %v, all after %v; server RSS %d MiB before, peak growth %d MiB",
		got, resultBytes>>20, first, total, before/1024, growMiB)
	if got != rows {
		t.Fatalf("scan returned %d rows, want %d", got, rows)
	}
	if growMiB > 300 {
		t.Fatalf("server peak RSS grew by %d MiB during the scan of a %d MiB result: not streamed", growMiB, resultBytes>>20)
	}
}

// wideBatch makes rows [from, from+n) of (k int64, qty int64, price
// float64, note utf8).
func wideBatch(from, n int64) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.PrimitiveTypes.Int64},
		{Name: "qty", Type: arrow.PrimitiveTypes.Int64},
		{Name: "price", Type: arrow.PrimitiveTypes.Float64},
		{Name: "note", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		b.Field(1).(*array.Int64Builder).Append(i % 50)
		b.Field(2).(*array.Float64Builder).Append(float64(i%1000) / 7)
		b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("note-%d", i%997))
	}
	return b.NewRecordBatch()
}
