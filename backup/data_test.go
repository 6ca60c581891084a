package backup

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
)

// Objects of backup_enabled tables are copied once; a pass after a failed
// or missed copy catches up; Recover brings back what the catalog lost, by
// day range, once, leaving compaction sources out.
func TestDataBackupAndRecover(t *testing.T) {
	ctx := context.Background()
	s := backends(t)["bolt_file"](t)
	dst, err := objstore.NewFileBucket(filepath.Join(t.TempDir(), "backup"))
	must(t, err)
	must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "ev", Schema: testSchema, Config: catalog.TableConfig{BackupEnabled: true}}))
	must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "nob", Schema: testSchema}))
	var files []catalog.File
	for i, day := range []string{"2026-01-01", "2026-01-02", "2026-01-02", "2026-01-03"} {
		files = append(files, flushLike(t, s, "ev", 0, day, int64(i)*10, 10, uint64(i+1)))
	}
	must(t, s.cat.CommitFlush(ctx, "ev", "n1", files, 4))
	must(t, s.cat.CommitFlush(ctx, "nob", "n1", []catalog.File{flushLike(t, s, "nob", 0, "2026-01-01", 0, 5, 5)}, 5))

	counts := map[string]int{}
	d := NewDataBackup(DataConfig{Observe: func(table, st string) { counts[table+"/"+st]++ }}, s.cat, s.bucket, dst, s.cat)
	res, err := d.Pass(ctx, PassOptions{})
	must(t, err)
	if res.Copied != 4 || counts["ev/success"] != 4 || counts["nob/success"] != 0 {
		t.Fatalf("first pass = %+v %v", res, counts)
	}
	if res, _ := d.Pass(ctx, PassOptions{}); res.Copied != 0 {
		t.Fatalf("second pass copied %d again", res.Copied)
	}
	// Files leave the catalog (retention, a mistake): recover two days.
	_, err = s.cat.ReplaceFiles(ctx, "ev", []string{files[0].Key, files[1].Key, files[2].Key}, nil)
	must(t, err)
	for _, f := range files[:3] {
		must(t, s.bucket.Delete(ctx, f.Key))
	}
	rec, err := d.Recover(ctx, RecoverOptions{Table: "ev", FromDay: "2026-01-02", ToDay: "2026-01-02"})
	must(t, err)
	if !reflect.DeepEqual(rec.Keys, []string{files[1].Key, files[2].Key}) || rec.Rows != 20 {
		t.Fatalf("recover = %+v", rec)
	}
	got, _ := s.cat.Files(ctx, "ev")
	if len(got) != 3 {
		t.Fatalf("files after recovery = %d, want 3", len(got))
	}
	for _, f := range got {
		if f.Key == files[1].Key && (f.Rows != 10 || f.MinLSN != 2 || len(f.Stats) == 0) {
			t.Fatalf("recovered entry = %+v", f)
		}
		if ok, _ := objstore.Exists(ctx, s.bucket, f.Key); !ok {
			t.Fatalf("recovered object %s is not in the primary", f.Key)
		}
	}
	if again, err := d.Recover(ctx, RecoverOptions{Table: "ev", FromDay: "2026-01-02", ToDay: "2026-01-02"}); err != nil || len(again.Keys) != 0 {
		t.Fatalf("second recovery = %+v, %v", again, err)
	}
	all, err := d.Recover(ctx, RecoverOptions{Table: "ev"})
	must(t, err)
	if len(all.Keys) != 1 || all.Keys[0] != files[0].Key {
		t.Fatalf("recover of the rest = %+v", all)
	}
	if _, err := d.Recover(ctx, RecoverOptions{Table: "nope"}); err == nil {
		t.Fatal("recovery into a missing table succeeded")
	}
}
