package backup

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestFormatDocumented pins the names of docs/format/metadata-backup.md:
// every JSON field of the snapshot and manifest, the object keys, the
// lock key and the footer keys the rebuild reads.
func TestFormatDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "format", "metadata-backup.md"))
	must(t, err)
	doc := string(b)
	s := New(Config{}, nil, nil, nil)
	names := []string{
		s.objectKey("<name>"), s.manifestKey("<name>"), DefaultPrefix,
		RedisLocker{Namespace: "<ns>"}.LockKey(restoreLock), "backup.lock",
		keyTable, keyPartition, keyDay, keyMinLSN, keyMaxLSN, keyNode, keyIncarnation, keyReplaces, keyRecoveredFrom, `"format":2`, `"format":1`,
	}
	for _, v := range []any{Snapshot{}, TableSnapshot{}, Manifest{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			names = append(names, `"`+tag+`"`)
		}
	}
	for _, n := range names {
		if !strings.Contains(doc, n) {
			t.Errorf("docs/format/metadata-backup.md does not name %s", n)
		}
	}
}

// A format 1 snapshot (single node, one flushed_lsn per table) reads as the
// position of the node that took it.
func TestSnapshotFormat1Upgrade(t *testing.T) {
	doc := `{"format":1,"name":"backup_20240115_103000_a1b2c3","node_id":"node-1",
	  "tables":[{"name":"events","flushed_lsn":42,"files":[]},{"name":"empty","files":[]}]}`
	var snap Snapshot
	if err := json.Unmarshal([]byte(doc), &snap); err != nil {
		t.Fatal(err)
	}
	snap.upgradeFormat1()
	if snap.Format != FormatVersion || snap.Tables[0].Flushed["node-1"] != 42 || len(snap.Tables[0].Flushed) != 1 ||
		snap.Tables[0].LegacyFlushedLSN != 0 || snap.Tables[1].Flushed != nil {
		t.Fatalf("upgraded: %+v", snap)
	}
}
