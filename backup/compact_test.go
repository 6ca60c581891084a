package backup

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/oklog/ulid/v2"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
)

// flushLike writes a Parquet object as the flush does and returns its
// catalog entry.
func flushLike(t *testing.T, s stores, table string, part int, day string, from, n int64, lsn uint64) catalog.File {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, testSchema)
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		b.Field(1).(*array.StringBuilder).Append("v" + strconv.FormatInt(i, 10))
	}
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	key := fmt.Sprintf("tables/%s/shard=%d/date=%s/%s.parquet", table, part, day, ulid.Make())
	body, err := writeParquet(testSchema, []arrow.RecordBatch{rec}, map[string]string{keyTable: table, keyPartition: strconv.Itoa(part),
		keyDay: day, keyMinLSN: strconv.FormatUint(lsn, 10), keyMaxLSN: strconv.FormatUint(lsn, 10), keyNode: "n1"})
	must(t, err)
	must(t, s.bucket.Put(context.Background(), key, bytes.NewReader(body), int64(len(body))))
	return catalog.File{Key: key, Table: table, Partition: part, Day: day, Rows: n, Bytes: int64(len(body)),
		SchemaHash: ingest.SchemaHash(testSchema), MinLSN: lsn, MaxLSN: lsn, Node: "n1",
		Stats: ingest.FileStats(testSchema, catalog.TableConfig{}, []arrow.RecordBatch{rec})}
}

// Small files of one partition and day merge into one; the rows, LSN
// range and stats cover the sources; the sources go after the grace
// period; a rebuild while they still exist does not count them twice.
func TestCompactionMergesSmallFiles(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "ev", Schema: testSchema}))
			var files []catalog.File
			for i := range int64(5) {
				files = append(files, flushLike(t, s, "ev", 0, "2026-01-02", i*10, 10, uint64(i+1)))
			}
			files = append(files, flushLike(t, s, "ev", 1, "2026-01-02", 100, 10, 6)) // alone in its partition
			must(t, s.cat.CommitFlush(ctx, "ev", "n1", files, 6))

			clock := time.Now()
			ret := NewRetention(RetentionConfig{Grace: time.Minute, Now: func() time.Time { return clock }}, s.cat, s.cat, s.bucket)
			c := NewCompactor(CompactConfig{MinFiles: 2}, s.cat, s.cat, s.bucket, ret)
			res, err := c.Pass(ctx)
			must(t, err)
			if res.Merged != 5 || res.Written != 1 || ret.Pending() != 5 {
				t.Fatalf("pass = %+v, pending %d", res, ret.Pending())
			}
			after, _ := s.cat.Files(ctx, "ev")
			if len(after) != 2 {
				t.Fatalf("files after compaction = %+v", after)
			}
			var m catalog.File
			for _, f := range after {
				if f.Partition == 0 {
					m = f
				}
			}
			st, _ := m.StatsFor("id")
			if m.Rows != 50 || m.MinLSN != 1 || m.MaxLSN != 5 || st.Min != "0" || st.Max != "49" || m.SchemaHash != files[0].SchemaHash {
				t.Fatalf("merged file = %+v", m)
			}
			_, batches, err := readAll(ctx, s.bucket, m)
			must(t, err)
			var sum, rows int64
			for _, b := range batches {
				ids := b.Column(0).(*array.Int64)
				for i := range ids.Len() {
					sum += ids.Value(i)
				}
				rows += b.NumRows()
				b.Release()
			}
			if rows != 50 || sum != 49*50/2 {
				t.Fatalf("merged rows %d sum %d", rows, sum)
			}
			again, err := c.Pass(ctx)
			must(t, err)
			if again.Merged != 0 {
				t.Fatalf("second pass merged again: %+v", again)
			}

			// Rebuild during the grace period: the sources are still there.
			fresh := open(t)
			rb := New(Config{Locker: fresh.locker}, fresh.cat, s.bucket, nil)
			rres, err := rb.Rebuild(ctx, RebuildOptions{})
			must(t, err)
			if len(rres.Tables) != 1 || rres.Tables[0].Rows != 60 || rres.Tables[0].Files != 2 || len(rres.Ignored) != 5 {
				t.Fatalf("rebuild during grace = %+v", rres)
			}

			clock = clock.Add(2 * time.Minute)
			pr, err := ret.Pass(ctx)
			must(t, err)
			if pr.Deleted != 5 {
				t.Fatalf("sources deleted = %d, want 5", pr.Deleted)
			}
		})
	}
}
