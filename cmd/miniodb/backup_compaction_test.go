package main

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"
)

// A running node compacts many small flushes into a few files while
// queries run: every answer during and after compaction is the one before
// it, ingest goes on, and the sources are deleted after the grace period.
func TestBackupCompactionOnServe(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/miniodb.yaml"
	writeFile(t, cfg, "buffer:\n  buffer_size: 50\n  flush_interval: 100ms\nstorage:\n  partitions: 2\n"+
		"backup:\n  compaction_interval: 1s\n  compaction_min_files: 4\n  grace_period: 2s\n")
	s := startServer(t, dir+"/data", "--config", cfg)
	c := s.client()
	for b := range int64(30) {
		ingestIDs(t, c, "events", b*50, 50)
		time.Sleep(120 * time.Millisecond) // one flush each
	}
	want := answers(t, c, "events")
	before := len(listObjects(t, dir+"/data/objects", "tables/events/"))
	if before < 20 {
		t.Fatalf("only %d objects: the flushes were not small", before)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wrong []map[string][]int64
	queries := 0
	wg.Go(func() {
		for ctx.Err() == nil {
			got := answers(t, c, "events")
			mu.Lock()
			queries++
			if !reflect.DeepEqual(got, want) {
				wrong = append(wrong, got)
			}
			mu.Unlock()
		}
	})
	waitUntil(t, 30*time.Second, "compaction and deletion of the sources", func() bool {
		return len(listObjects(t, dir+"/data/objects", "tables/events/")) <= 4
	})
	cancel()
	wg.Wait()
	if len(wrong) > 0 || queries == 0 {
		t.Fatalf("%d of %d answers during compaction differ from %v, e.g. %v", len(wrong), queries, want, wrong[0])
	}
	ingestIDs(t, c, "events", 10_000, 5) // ingest goes on
	if n := countRows(t, c, "events"); n != 1505 {
		t.Fatalf("rows after compaction and one more ingest = %d, want 1505", n)
	}
	s.stop()
	s.restart() // the compacted catalog is what a restart loads
	if got := answers(t, s.client(), "events"); got["events"][0] != 1505 {
		t.Fatalf("after restart: %v", got)
	}
	t.Logf("%d objects compacted to %d; %d queries during compaction", before, len(listObjects(t, dir+"/data/objects", "tables/events/")), queries)
}
