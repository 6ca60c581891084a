package backup

import (
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
		keyTable, keyPartition, keyDay, keyMinLSN, keyMaxLSN, keyReplaces, `"format":1`,
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
