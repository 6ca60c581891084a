package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
	"github.com/miniodb/miniodb/objstore"
)

// With a backup endpoint, the objects of backup_enabled tables are copied
// to the backup bucket in the background; after the table is dropped (its
// objects deleted) and created again, RecoverData brings its rows back,
// once, and TriggerBackup copies on demand.
func TestBackupDataRecoverAfterDrop(t *testing.T) {
	env := newStoreEnv(t)
	backupBucket := env.bucket + "-bk"
	cfg := env.config(t, fmt.Sprintf("buffer:\n  buffer_size: 100\n  flush_interval: 200ms\ntables:\n  events:\n    backup_enabled: true\n"+
		"backup:\n  data_interval: 300ms\n  minio:\n    endpoint: %q\n    bucket: %q\n", env.minio.Endpoint, backupBucket))
	s := startAPIServer(t, t.TempDir(), "--config", cfg)
	ctx := context.Background()
	ingestIDs(t, s.flight, "events", 0, 300)
	ingestIDs(t, s.flight, "other", 0, 10) // not backup_enabled
	cat := env.catalog(t)
	dst, err := objstore.NewS3Bucket(ctx, objstore.S3Config{Endpoint: env.minio.Endpoint, AccessKeyID: env.minio.AccessKey,
		SecretAccessKey: env.minio.SecretKey, Bucket: backupBucket}, nil)
	if err != nil {
		t.Fatal(err)
	}
	backedUp := func(prefix string) int {
		n := 0
		dst.List(ctx, prefix, func(objstore.ObjectInfo) error { n++; return nil })
		return n
	}
	waitUntil(t, 30*time.Second, "events flushed and copied", func() bool {
		files, err := cat.Files(ctx, "events")
		return err == nil && catalogRows(t, cat, "events") == 300 && backedUp("tables/events/") == len(files)
	})
	if n := backedUp("tables/other/"); n != 0 {
		t.Fatalf("%d objects of a table without backup_enabled were copied", n)
	}
	tb, err := s.olap.TriggerBackup(ctx, &olapv1.TriggerBackupRequest{Table: "other"})
	if err != nil || !tb.Success {
		t.Fatalf("TriggerBackup(other) = %v, %v", tb, err)
	}
	waitUntil(t, 10*time.Second, "other copied on demand", func() bool { return backedUp("tables/other/") > 0 || tb.FilesBackedUp == 0 })

	if _, err := s.flight.ExecuteUpdate(ctx, "DROP TABLE events"); err != nil {
		t.Fatal(err)
	}
	ingestIDs(t, s.flight, "events", 1000, 1)
	if n := countRows(t, s.flight, "events"); n != 1 {
		t.Fatalf("rows after drop and re-create = %d", n)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	rd, err := s.olap.RecoverData(ctx, &olapv1.RecoverDataRequest{Table: "events",
		RecoveryMode: &olapv1.RecoverDataRequest_TimeRange{TimeRange: &olapv1.TimeRangeFilter{StartDate: today, EndDate: today}}})
	if err != nil || !rd.Success || len(rd.RecoveredKeys) == 0 {
		t.Fatalf("RecoverData = %v, %v", rd, err)
	}
	if n := countRows(t, s.flight, "events"); n != 301 {
		t.Fatalf("rows after recovery = %d, want 301", n)
	}
	again, err := s.olap.RecoverData(ctx, &olapv1.RecoverDataRequest{Table: "events"})
	if err != nil || len(again.RecoveredKeys) != 0 {
		t.Fatalf("second RecoverData = %v, %v", again, err)
	}
	byID, err := s.olap.RecoverData(ctx, &olapv1.RecoverDataRequest{Table: "events",
		RecoveryMode: &olapv1.RecoverDataRequest_IdRange{IdRange: &olapv1.IdRangeFilter{Ids: []string{"1"}}}})
	if err != nil || len(byID.RecoveredKeys) != 0 {
		t.Fatalf("RecoverData by an id already back = %v, %v", byID, err)
	}
	s.stop()
	s.restart() // the recovered files are in the catalog, not only in memory
	if n := countRows(t, s.client(), "events"); n != 301 {
		t.Fatalf("rows after restart = %d, want 301", n)
	}
}
