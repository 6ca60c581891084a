package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/miniodb/miniodb/objstore"
)

// timedBatch makes rows id [from, from+n) whose timestamp is at.
func timedBatch(from, n int64, at time.Time) arrow.RecordBatch {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "timestamp", Type: ts}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(at.UnixMicro()))
	}
	return b.NewRecordBatch()
}

// A running node removes files past retention_days: queries stop seeing
// them at the next pass, their objects go after the grace period, recent
// days and other tables stay, and ingest goes on meanwhile.
func TestBackupRetentionOnServe(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/miniodb.yaml"
	writeFile(t, cfg, "buffer:\n  flush_interval: 200ms\nbackup:\n  retention_interval: 1s\n  grace_period: 3s\ntables:\n  events:\n    retention_days: 30\n")
	s := startServer(t, dir+"/data", "--config", cfg)
	c := s.client()
	ctx := context.Background()
	send := func(table string, from, n int64, at time.Time) {
		rec := timedBatch(from, n, at)
		defer rec.Release()
		if _, err := ingestRecs(ctx, c, table, modeCreateAppend, rec); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	send("events", 0, 100, now.AddDate(0, 0, -90))
	send("events", 100, 10, now)
	send("other", 0, 50, now.AddDate(-3, 0, 0))
	oldObjects := func() int {
		n := 0
		for _, k := range listObjects(t, dir+"/data/objects", "tables/events/") {
			if strings.Contains(k, "date="+now.AddDate(0, 0, -90).Format(time.DateOnly)) {
				n++
			}
		}
		return n
	}
	waitUntil(t, 20*time.Second, "old rows flushed", func() bool { return oldObjects() > 0 })
	waitUntil(t, 20*time.Second, "old rows leave the queries", func() bool { return countRows(t, c, "events") == 10 })
	if oldObjects() == 0 {
		t.Log("objects already deleted: the grace period ran out before the first check")
	}
	for range 20 { // ingest goes on during the passes
		send("events", 1000, 1, now)
	}
	waitUntil(t, 20*time.Second, "old objects deleted after the grace period", func() bool { return oldObjects() == 0 })
	if n := countRows(t, c, "events"); n != 30 {
		t.Fatalf("events rows = %d, want 30", n)
	}
	if n := countRows(t, c, "other"); n != 50 {
		t.Fatalf("a table without retention_days lost rows: %d", n)
	}
}

// listObjects lists the keys under prefix of a file object store.
func listObjects(t *testing.T, root, prefix string) []string {
	t.Helper()
	b, err := objstore.NewFileBucket(root)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := b.List(context.Background(), prefix, func(o objstore.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}
