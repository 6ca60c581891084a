package main

import (
	"context"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// parquetFiles lists the object keys under the data folder's object store.
func parquetFiles(t testing.TB, dataDir string) []string {
	t.Helper()
	var keys []string
	root := filepath.Join(dataDir, "objects")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			rel, _ := filepath.Rel(root, p)
			keys = append(keys, filepath.ToSlash(rel))
		}
		return nil
	})
	return keys
}

var objectKeyRE = regexp.MustCompile(`^tables/[a-zA-Z][a-zA-Z0-9_]*/shard=\d+/date=\d{4}-\d{2}-\d{2}/[0-9A-Z]{26}\.parquet$`)

func TestSigtermFlushesAndRestartKeepsRows(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	c := s.client()
	b := idBatch(0, 3000)
	defer b.Release()
	if _, err := ingestRecs(context.Background(), c, "kept", modeCreate, b); err != nil {
		t.Fatal(err)
	}
	if files := parquetFiles(t, dir); len(files) != 0 {
		t.Fatalf("flushed before SIGTERM: %v", files)
	}
	s.stop()
	files := parquetFiles(t, dir)
	if len(files) == 0 {
		t.Fatal("SIGTERM did not flush the buffer to Parquet")
	}
	for _, k := range files {
		if !objectKeyRE.MatchString(k) {
			t.Errorf("object key %q does not follow tables/<table>/shard=<p>/date=<day>/<ulid>.parquet", k)
		}
	}
	s.restart()
	c = s.client()
	got := queryInts(t, c, "SELECT count(*), sum(id), count(DISTINCT id) FROM kept")
	if got[0] != 3000 || got[1] != 3000*2999/2 || got[2] != 3000 {
		t.Fatalf("after restart: %v", got)
	}
}

func TestSigkillReplaysWALExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	c := s.client()
	ctx := context.Background()
	for i := int64(0); i < 5; i++ {
		b := idBatch(i*100, 100)
		if _, err := ingestRecs(ctx, c, "replayed", modeCreateAppend, b); err != nil {
			t.Fatal(err)
		}
		b.Release()
	}
	s.kill()
	s.restart()
	c = s.client()
	if got := queryInts(t, c, "SELECT count(*), count(DISTINCT id) FROM replayed"); got[0] != 500 || got[1] != 500 {
		t.Fatalf("after SIGKILL and replay: %v, want [500 500]", got)
	}
	// A second restart must not replay anything twice either, also after
	// the replayed rows were flushed.
	s.stop()
	s.restart()
	c = s.client()
	if got := queryInts(t, c, "SELECT count(*), count(DISTINCT id) FROM replayed"); got[0] != 500 || got[1] != 500 {
		t.Fatalf("after flush and second restart: %v, want [500 500]", got)
	}
}

// TestFlushBySizeKeepsEveryRowVisible ingests with a small buffer_size so
// flushes run while queries read, and checks every acknowledged row is seen
// exactly once at every moment.
func TestFlushBySizeKeepsEveryRowVisible(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "buffer:\n  buffer_size: 1000\n  flush_interval: 1h\n")
	s := startServer(t, filepath.Join(dir, "data"), "--config", cfg)
	c := s.client()
	ctx := context.Background()
	var acked int64
	for i := int64(0); i < 40; i++ {
		b := idBatch(i*250, 250)
		n, err := ingestRecs(ctx, c, "flowing", modeCreateAppend, b)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
		acked += n
		got := queryInts(t, c, "SELECT count(*), count(DISTINCT id) FROM flowing")
		if got[0] != acked || got[1] != acked {
			t.Fatalf("after %d acknowledged rows the table shows %v", acked, got)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(parquetFiles(t, filepath.Join(dir, "data"))) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if len(parquetFiles(t, filepath.Join(dir, "data"))) == 0 {
		t.Fatal("no flush happened although buffer_size was exceeded many times")
	}
}

func TestFlushByInterval(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "buffer:\n  flush_interval: 1s\n")
	s := startServer(t, filepath.Join(dir, "data"), "--config", cfg)
	b := idBatch(0, 10)
	defer b.Release()
	if _, err := ingestRecs(context.Background(), s.client(), "ticking", modeCreate, b); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(parquetFiles(t, filepath.Join(dir, "data"))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("flush_interval of 1s did not flush within 15s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFlushByMemoryCap sets buffer_size and flush_interval out of reach and
// a small memory cap: the cap alone must make the buffers flush.
func TestFlushByMemoryCap(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "buffer:\n  buffer_size: 100000000\n  flush_interval: 1h\n  max_memory: 1048576\n  max_buffered: 1073741824\n")
	s := startServer(t, filepath.Join(dir, "data"), "--config", cfg)
	c := s.client()
	for i := int64(0); i < 10; i++ {
		b := wideBatch(i*20000, 20000) // ~0.7 MiB each
		_, err := ingestRecs(context.Background(), c, "capped", modeCreateAppend, b)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(parquetFiles(t, filepath.Join(dir, "data"))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("7 MiB buffered over a 1 MiB cap and nothing flushed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := queryInts(t, c, "SELECT count(*), count(DISTINCT k) FROM capped"); got[0] != 200000 || got[1] != 200000 {
		t.Fatalf("after memory-pressure flushes: %v", got)
	}
}
