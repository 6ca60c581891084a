package backup

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
	"github.com/miniodb/miniodb/testenv"
)

// stores is one catalog + object store pair under test.
type stores struct {
	cat    catalog.Catalog
	bucket objstore.Bucket
	locker Locker
}

// backends returns the embedded pair (bbolt + folder) and the real one
// (Redis + MinIO); newCat opens a fresh, empty catalog on the same store.
func backends(t *testing.T) map[string]func(t *testing.T) stores {
	return map[string]func(t *testing.T) stores{
		"bolt_file": func(t *testing.T) stores {
			dir := t.TempDir()
			cat, err := catalog.OpenBolt(filepath.Join(dir, "catalog.db"))
			must(t, err)
			t.Cleanup(func() { cat.Close() })
			b, err := objstore.NewFileBucket(filepath.Join(dir, "objects"))
			must(t, err)
			return stores{cat: cat, bucket: b, locker: FileLocker{Path: filepath.Join(dir, "backup.lock")}}
		},
		"redis_minio": func(t *testing.T) stores {
			r, m := testenv.Redis(t), testenv.MinIO(t)
			ctx := context.Background()
			cfg := catalog.RedisConfig{Addr: r.Addr, Namespace: testenv.Name("ns")}
			cat, err := catalog.OpenRedis(ctx, cfg)
			must(t, err)
			t.Cleanup(func() { cat.Close() })
			must(t, cat.InitID(ctx, catalog.NewID()))
			b, err := objstore.NewS3Bucket(ctx, objstore.S3Config{Endpoint: m.Endpoint, AccessKeyID: m.AccessKey,
				SecretAccessKey: m.SecretKey, Bucket: testenv.Name("data")}, nil)
			must(t, err)
			client, err := catalog.NewRedisClient(cfg)
			must(t, err)
			t.Cleanup(func() { client.Close() })
			return stores{cat: cat, bucket: b, locker: RedisLocker{Client: client, Namespace: cfg.Namespace}}
		},
	}
}

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "v", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// fill creates tables a (2 files) and b (no files) with their objects.
func fill(t *testing.T, s stores) {
	ctx := context.Background()
	must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "a", Schema: testSchema,
		Config:    catalog.TableConfig{RetentionDays: 30, BackupEnabled: true, Properties: map[string]string{"owner": "me"}},
		CreatedAt: time.Unix(1700000000, 0).UTC()}))
	must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "b", Schema: testSchema, CreatedAt: time.Unix(1700000001, 0).UTC()}))
	var files []catalog.File
	for i, k := range []string{"tables/a/shard=0/date=2024-01-01/x1.parquet", "tables/a/shard=1/date=2024-01-02/x2.parquet"} {
		must(t, s.bucket.Put(ctx, k, bytes.NewReader([]byte("parquet")), 7))
		files = append(files, catalog.File{Key: k, Table: "a", Partition: i, Day: "2024-01-0" + string(rune('1'+i)), Rows: 10, Bytes: 7,
			MinLSN: uint64(10 * i), MaxLSN: uint64(10*i + 5), Node: "n1", CreatedAt: time.Unix(1700000100, 0).UTC()})
	}
	must(t, s.cat.CommitFlush(ctx, "a", "n1", files, 42))
}

// dump is the catalog as comparable data.
func dump(t *testing.T, c catalog.Catalog) map[string]any {
	ctx := context.Background()
	tables, err := c.Tables(ctx)
	must(t, err)
	out := map[string]any{}
	for _, tb := range tables {
		files, err := c.Files(ctx, tb.Name)
		must(t, err)
		if files == nil {
			files = []catalog.File{}
		}
		out[tb.Name] = []any{catalog.SchemaOrEmpty(tb.Schema).String(), tb.Config, tb.Flushed, tb.CreatedAt.UTC(), files}
	}
	return out
}

func TestSnapshotRestore(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			src := open(t)
			fill(t, src)
			want := dump(t, src.cat)
			svc := New(Config{NodeID: "n1", Locker: src.locker}, src.cat, src.bucket, nil)

			m, err := svc.Create(ctx, CreateOptions{Description: "before upgrade"})
			must(t, err)
			if m.Tables != 2 || m.Files != 2 || m.Rows != 20 || m.Description != "before upgrade" || m.SHA256 == "" {
				t.Fatalf("manifest = %+v", m)
			}
			list, err := svc.List(ctx)
			must(t, err)
			if len(list) != 1 || list[0].Name != m.Name {
				t.Fatalf("List = %+v", list)
			}
			v, err := svc.Validate(ctx, m.Name+".json")
			must(t, err)
			if !v.Valid || !v.ChecksumOK || v.Files != 2 {
				t.Fatalf("Validate = %+v", v)
			}
			st, err := svc.Status(ctx)
			must(t, err)
			if st.Backups != 1 || st.Tables != 2 || st.Rows != 20 || st.LastBackup == nil {
				t.Fatalf("Status = %+v", st)
			}

			t.Run("complete_into_empty_catalog", func(t *testing.T) {
				dst := open(t)
				rs := New(Config{Locker: dst.locker}, dst.cat, src.bucket, nil)
				res, err := rs.Restore(ctx, RestoreOptions{Name: m.Name, Mode: ModeComplete})
				must(t, err)
				if len(res.Created) != 2 || res.Files != 2 || res.MissingObjects != 0 {
					t.Fatalf("Restore = %+v", res)
				}
				if got := dump(t, dst.cat); !reflect.DeepEqual(got, want) {
					t.Fatalf("restored catalog:\n got %v\nwant %v", got, want)
				}
			})
			t.Run("complete_refuses_non_empty_without_force", func(t *testing.T) {
				_, err := svc.Restore(ctx, RestoreOptions{Name: m.Name})
				if !errors.Is(err, ErrNotEmpty) {
					t.Fatalf("Restore into a full catalog: %v, want ErrNotEmpty", err)
				}
			})
			t.Run("dry_run_changes_nothing", func(t *testing.T) {
				must(t, src.cat.CreateTable(ctx, catalog.Table{Name: "c", Schema: testSchema}))
				defer src.cat.DropTable(ctx, "c")
				before := dump(t, src.cat)
				res, err := svc.Restore(ctx, RestoreOptions{Name: m.Name, Mode: ModeDryRun})
				must(t, err)
				if !res.DryRun || len(res.Dropped) != 1 || res.Dropped[0] != "c" || len(res.Replaced) != 2 {
					t.Fatalf("dry run = %+v", res)
				}
				if got := dump(t, src.cat); !reflect.DeepEqual(got, before) {
					t.Fatal("dry run changed the catalog")
				}
			})
			t.Run("merge_adds_missing_tables_only", func(t *testing.T) {
				_, err := src.cat.DropTable(ctx, "b")
				must(t, err)
				must(t, src.cat.UpdateTable(ctx, "a", testSchema, catalog.TableConfig{RetentionDays: 7}))
				res, err := svc.Restore(ctx, RestoreOptions{Name: m.Name, Mode: ModeMerge})
				must(t, err)
				if !reflect.DeepEqual(res.Created, []string{"b"}) || !reflect.DeepEqual(res.Skipped, []string{"a"}) {
					t.Fatalf("merge = %+v", res)
				}
				a, _ := src.cat.Table(ctx, "a")
				if a.Config.RetentionDays != 7 {
					t.Fatal("merge without force_overwrite replaced an existing table")
				}
			})
			t.Run("complete_force_with_backup_current", func(t *testing.T) {
				res, err := svc.Restore(ctx, RestoreOptions{Name: m.Name, Mode: ModeComplete, ForceOverwrite: true, BackupCurrent: true})
				must(t, err)
				if res.CurrentBackup == "" {
					t.Fatalf("no backup of the current catalog: %+v", res)
				}
				if got := dump(t, src.cat); !reflect.DeepEqual(got, want) {
					t.Fatalf("after complete restore:\n got %v\nwant %v", got, want)
				}
				_, snap, err := svc.Load(ctx, res.CurrentBackup)
				must(t, err)
				if len(snap.Tables) != 2 || snap.Tables[0].Config.RetentionDays != 7 {
					t.Fatalf("backup of the current catalog = %+v", snap.Tables)
				}
			})
			t.Run("lock_held_by_another_restore", func(t *testing.T) {
				unlock, err := src.locker.TryLock(ctx, restoreLock, "another node", time.Minute)
				must(t, err)
				_, err = svc.Restore(ctx, RestoreOptions{Name: m.Name, DryRun: true})
				unlock()
				if !errors.Is(err, ErrLocked) {
					t.Fatalf("restore while locked: %v, want ErrLocked", err)
				}
				_, err = svc.Restore(ctx, RestoreOptions{Name: m.Name, DryRun: true})
				must(t, err)
			})
			t.Run("validate_reports_missing_object_and_corruption", func(t *testing.T) {
				must(t, src.bucket.Delete(ctx, "tables/a/shard=0/date=2024-01-01/x1.parquet"))
				v, err := svc.Validate(ctx, m.Name)
				must(t, err)
				if v.Valid || len(v.MissingObjects) != 1 {
					t.Fatalf("Validate after delete = %+v", v)
				}
				body := []byte(`{"format":1}`)
				must(t, src.bucket.Put(ctx, DefaultPrefix+m.Name+".json", bytes.NewReader(body), int64(len(body))))
				v, err = svc.Validate(ctx, m.Name)
				must(t, err)
				if v.Valid || v.ChecksumOK || len(v.Errors) != 1 {
					t.Fatalf("Validate of a corrupt backup = %+v", v)
				}
				if _, err := svc.Restore(ctx, RestoreOptions{Name: m.Name, DryRun: true}); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("restore of a corrupt backup: %v", err)
				}
				if _, err := svc.Validate(ctx, "backup_nope"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("validate of a missing backup: %v", err)
				}
			})
		})
	}
}

func TestKeepPrunesOldest(t *testing.T) {
	s := backends(t)["bolt_file"](t)
	fill(t, s)
	ctx := context.Background()
	svc := New(Config{Keep: 2}, s.cat, s.bucket, nil)
	var names []string
	for range 4 {
		m, err := svc.Create(ctx, CreateOptions{})
		must(t, err)
		names = append(names, m.Name)
		time.Sleep(1100 * time.Millisecond) // names are per second
	}
	list, err := svc.List(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Name != names[3] || list[1].Name != names[2] {
		t.Fatalf("after 4 backups with keep 2: %+v", list)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
