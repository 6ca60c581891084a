package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Start-up deletes objects no catalog entry references once they are older
// than the grace, and keeps younger ones (another node's upload on its way
// to a commit) and every referenced one.
func TestCollectGarbageSparesYoungAndReferenced(t *testing.T) {
	dir := t.TempDir()
	e := openDDLEnv(t, dir)
	ctx := context.Background()
	files := e.flushedTable("t")
	e.close()

	objects := filepath.Join(dir, "objects")
	old := time.Now().Add(-2 * time.Hour)
	put := func(key string, modified time.Time) {
		path := filepath.Join(objects, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("PAR1"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, modified, modified); err != nil {
			t.Fatal(err)
		}
	}
	put("tables/t/shard=0/date=2024-01-01/old-orphan.parquet", old)
	put("tables/t/shard=0/date=2024-01-01/young-orphan.parquet", time.Now())
	put("tables/gone/shard=1/date=2024-01-01/old-orphan.parquet", old)
	referenced := filepath.Join(objects, filepath.FromSlash(files[0].Key))
	if err := os.Chtimes(referenced, old, old); err != nil {
		t.Fatal(err)
	}

	_, svc := openService(t, dir, Config{})
	defer svc.Close(ctx)
	tests := []struct {
		key  string
		kept bool
	}{
		{"tables/t/shard=0/date=2024-01-01/old-orphan.parquet", false},
		{"tables/gone/shard=1/date=2024-01-01/old-orphan.parquet", false},
		{"tables/t/shard=0/date=2024-01-01/young-orphan.parquet", true},
		{files[0].Key, true},
	}
	for _, tt := range tests {
		_, err := os.Stat(filepath.Join(objects, filepath.FromSlash(tt.key)))
		if kept := err == nil; kept != tt.kept {
			t.Errorf("%s: kept=%v, want %v", tt.key, kept, tt.kept)
		}
	}
}
