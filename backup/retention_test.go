package backup

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
)

// Files past retention_days leave the catalog at once and their objects
// only after the grace period; other tables and recent days stay.
func TestRetentionRemovesThenDeletesAfterGrace(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			put := func(table, day string, lsn uint64) catalog.File {
				k := "tables/" + table + "/shard=0/date=" + day + "/" + day + ".parquet"
				must(t, s.bucket.Put(ctx, k, bytes.NewReader([]byte("x")), 1))
				return catalog.File{Key: k, Table: table, Day: day, Rows: 5, Bytes: 1, MinLSN: lsn, MaxLSN: lsn}
			}
			must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "short", Schema: testSchema, Config: catalog.TableConfig{RetentionDays: 2}}))
			must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "forever", Schema: testSchema}))
			must(t, s.cat.CommitFlush(ctx, "short", "n1", []catalog.File{put("short", "2026-03-01", 1), put("short", "2026-03-07", 2),
				put("short", "2026-03-08", 3), put("short", "2026-03-10", 4)}, 4))
			must(t, s.cat.CommitFlush(ctx, "forever", "n1", []catalog.File{put("forever", "2020-01-01", 5)}, 5))

			var mu sync.Mutex
			var forgotten []string
			clock := now
			r := NewRetention(RetentionConfig{Grace: time.Minute, Now: func() time.Time { return clock },
				Forget: func(k string) { mu.Lock(); forgotten = append(forgotten, k); mu.Unlock() }}, s.cat, s.cat, s.bucket)
			res, err := r.Pass(ctx)
			must(t, err)
			if res.Files != 2 || res.Rows != 10 || res.Deleted != 0 || r.Pending() != 2 {
				t.Fatalf("first pass = %+v, pending %d", res, r.Pending())
			}
			files, _ := s.cat.Files(ctx, "short")
			if len(files) != 2 || files[0].Day != "2026-03-08" {
				t.Fatalf("files kept = %+v", files)
			}
			old := "tables/short/shard=0/date=2026-03-01/2026-03-01.parquet"
			if ok, _ := objstore.Exists(ctx, s.bucket, old); !ok {
				t.Fatal("object deleted before its grace period")
			}
			clock = now.Add(2 * time.Minute)
			res, err = r.Pass(ctx)
			must(t, err)
			if res.Files != 0 || res.Deleted != 2 || r.Pending() != 0 || len(forgotten) != 2 {
				t.Fatalf("second pass = %+v, forgotten %v", res, forgotten)
			}
			if ok, _ := objstore.Exists(ctx, s.bucket, old); ok {
				t.Fatal("object still there after its grace period")
			}
			if f, _ := s.cat.Files(ctx, "forever"); len(f) != 1 {
				t.Fatalf("a table without retention lost files: %+v", f)
			}
			// The config file's default and per-table override apply too.
			r2 := NewRetention(RetentionConfig{DefaultDays: 365, Days: map[string]int64{"short": 1}, Now: func() time.Time { return clock }}, s.cat, s.cat, s.bucket)
			res, err = r2.Pass(ctx)
			must(t, err)
			if res.Files != 2 || len(res.Tables) != 2 {
				t.Fatalf("pass with defaults = %+v", res)
			}
		})
	}
}
