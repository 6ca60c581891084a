package backup

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
	"github.com/miniodb/miniodb/testenv"
)

// recoveryStores is a catalog, a primary bucket and a backup bucket:
// bbolt with two folders, and Redis with two buckets of one MinIO server.
func recoveryStores(t *testing.T) map[string]func(t *testing.T) (stores, objstore.Bucket) {
	return map[string]func(t *testing.T) (stores, objstore.Bucket){
		"bolt_file": func(t *testing.T) (stores, objstore.Bucket) {
			s := backends(t)["bolt_file"](t)
			dst, err := objstore.NewFileBucket(filepath.Join(t.TempDir(), "backup"))
			must(t, err)
			return s, dst
		},
		"redis_minio": func(t *testing.T) (stores, objstore.Bucket) {
			r, m := testenv.Redis(t), testenv.MinIO(t)
			ctx := context.Background()
			cat, err := catalog.OpenRedis(ctx, catalog.RedisConfig{Addr: r.Addr, Namespace: testenv.Name("ns")})
			must(t, err)
			t.Cleanup(func() { cat.Close() })
			must(t, cat.InitID(ctx, catalog.NewID()))
			bucket := func(name string) objstore.Bucket {
				b, err := objstore.NewS3Bucket(ctx, objstore.S3Config{Endpoint: m.Endpoint, AccessKeyID: m.AccessKey,
					SecretAccessKey: m.SecretKey, Bucket: testenv.Name(name)}, nil)
				must(t, err)
				return b
			}
			return stores{cat: cat, bucket: bucket("data")}, bucket("backup")
		},
	}
}

// liveIDs counts the ids of every row in the table's catalog files, and
// sums a checksum over (id, v).
func liveIDs(t *testing.T, s stores, table string) (map[int64]int, uint64) {
	t.Helper()
	ctx := context.Background()
	files, err := s.cat.Files(ctx, table)
	must(t, err)
	ids := map[int64]int{}
	var sum uint64
	for _, f := range files {
		_, batches, err := readAll(ctx, s.bucket, f)
		must(t, err)
		for _, b := range batches {
			id, v := b.Column(0).(*array.Int64), b.Column(1).(*array.String)
			for i := range int(b.NumRows()) {
				ids[id.Value(i)]++
				sum += uint64(id.Value(i))*31 + uint64(len(v.Value(i)))
			}
			b.Release()
		}
	}
	return ids, sum
}

// wantIDs is each of ids once, and its checksum (rows written by
// flushLike: v = "v<id>").
func wantIDs(ids ...[2]int64) (map[int64]int, uint64) {
	out := map[int64]int{}
	var sum uint64
	for _, r := range ids {
		for i := r[0]; i <= r[1]; i++ {
			out[i]++
			sum += uint64(i)*31 + uint64(len("v"+strconv.FormatInt(i, 10)))
		}
	}
	return out, sum
}

// Rows lost from the table come back by id, by id pattern and day, and
// then by day range, each row exactly once, against Redis + MinIO and
// bbolt + folders: rows still in the table are not doubled, a repeat
// recovers nothing, and the day-range recovery of objects some of whose
// rows came back by id goes row by row.
func TestRecoverByIDs(t *testing.T) {
	for name, open := range recoveryStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, dst := open(t)
			must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "ev", Schema: testSchema, Config: catalog.TableConfig{BackupEnabled: true}}))
			files := []catalog.File{
				flushLike(t, s, "ev", 0, "2026-01-01", 0, 10, 1),
				flushLike(t, s, "ev", 1, "2026-01-02", 10, 10, 2),
				flushLike(t, s, "ev", 2, "2026-01-02", 20, 10, 3),
			}
			must(t, s.cat.CommitFlush(ctx, "ev", "n1", files, 3))
			d := NewDataBackup(DataConfig{}, s.cat, s.bucket, dst, s.cat)
			if res, err := d.Pass(ctx, PassOptions{}); err != nil || res.Copied != 3 {
				t.Fatalf("data backup = %+v, %v", res, err)
			}
			// Files 1 and 2 are lost; ids 10 and 11 were written again.
			_, err := s.cat.ReplaceFiles(ctx, "ev", []string{files[1].Key, files[2].Key}, nil)
			must(t, err)
			for _, f := range files[1:] {
				must(t, s.bucket.Delete(ctx, f.Key))
			}
			must(t, s.cat.CommitFlush(ctx, "ev", "n1", []catalog.File{flushLike(t, s, "ev", 1, "2026-01-03", 10, 2, 4)}, 4))

			steps := []struct {
				name        string
				opts        RecoverOptions
				objects     int
				rows        int64
				have        [][2]int64
				mustNotCopy bool
			}{
				{name: "ids", opts: RecoverOptions{IDs: []string{"10", "11", "12", "25", "99"}}, objects: 2, rows: 2,
					have: [][2]int64{{0, 12}, {25, 25}}},
				{name: "ids_again", opts: RecoverOptions{IDs: []string{"10", "11", "12", "25", "99"}},
					have: [][2]int64{{0, 12}, {25, 25}}},
				{name: "pattern_and_day", opts: RecoverOptions{IDPattern: "1?", FromDay: "2026-01-02", ToDay: "2026-01-02"}, objects: 1, rows: 7,
					have: [][2]int64{{0, 19}, {25, 25}}},
				{name: "pattern_other_day", opts: RecoverOptions{IDPattern: "2*", FromDay: "2026-01-01", ToDay: "2026-01-01"},
					have: [][2]int64{{0, 19}, {25, 25}}},
				{name: "day_range_row_by_row", opts: RecoverOptions{FromDay: "2026-01-02"}, objects: 1, rows: 9, mustNotCopy: true,
					have: [][2]int64{{0, 29}}},
				{name: "day_range_again", opts: RecoverOptions{}, have: [][2]int64{{0, 29}}},
			}
			for _, st := range steps {
				st.opts.Table = "ev"
				res, err := d.Recover(ctx, st.opts)
				if err != nil || len(res.Keys) != st.objects || res.Rows != st.rows {
					t.Fatalf("%s: recover = %+v, %v; want %d objects, %d rows", st.name, res, err, st.objects, st.rows)
				}
				for _, k := range res.Keys {
					if k == files[1].Key || k == files[2].Key || st.mustNotCopy && !strings.HasPrefix(k, "tables/ev/shard=2/date=2026-01-02/") {
						t.Fatalf("%s: recovered key %s", st.name, k)
					}
				}
				got, sum := liveIDs(t, s, "ev")
				want, wantSum := wantIDs(st.have...)
				if !reflect.DeepEqual(got, want) || sum != wantSum {
					t.Fatalf("%s: live ids = %v (checksum %d), want %v (%d)", st.name, got, sum, want, wantSum)
				}
			}
			// The recovered files carry stats, so id pruning keeps working.
			all, err := s.cat.Files(ctx, "ev")
			must(t, err)
			for _, f := range all {
				if _, ok := f.StatsFor("id"); !ok || f.Rows == 0 {
					t.Fatalf("file %+v has no id stats", f)
				}
			}
			// A rebuild counts a recovered file's rows only while its
			// source object is gone from the primary.
			rebuiltRows := func() int64 {
				res, err := New(Config{Locker: s.locker}, s.cat, s.bucket, nil).Rebuild(ctx, RebuildOptions{DryRun: true})
				must(t, err)
				if len(res.Tables) != 1 {
					t.Fatalf("rebuild = %+v", res)
				}
				return res.Tables[0].Rows
			}
			if n := rebuiltRows(); n != 30 {
				t.Fatalf("rebuild finds %d rows, want 30", n)
			}
			for _, f := range files[1:] {
				must(t, copyObject(ctx, dst, s.bucket, f.Key, f.Bytes))
			}
			if n := rebuiltRows(); n != 32 { // ids 10 and 11 are in the primary twice now
				t.Fatalf("rebuild with the sources back finds %d rows, want 32", n)
			}
		})
	}
}

// A backup by id copies only the files whose id stats may hold it.
func TestBackupByID(t *testing.T) {
	ctx := context.Background()
	s, dst := recoveryStores(t)["bolt_file"](t)
	must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "ev", Schema: testSchema}))
	must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "noid", Schema: noIDSchema}))
	files := []catalog.File{flushLike(t, s, "ev", 0, "2026-01-01", 0, 10, 1), flushLike(t, s, "ev", 0, "2026-01-01", 10, 10, 2),
		flushLike(t, s, "ev", 0, "2026-01-02", 20, 10, 3)}
	must(t, s.cat.CommitFlush(ctx, "ev", "n1", files, 3))
	d := NewDataBackup(DataConfig{}, s.cat, s.bucket, dst, s.cat)
	for _, c := range []struct {
		opts             PassOptions
		selected, copied int
	}{
		{PassOptions{Table: "ev", ID: "15"}, 1, 1},
		{PassOptions{Table: "ev", ID: "15"}, 1, 0},
		{PassOptions{Table: "ev", ID: "99"}, 0, 0},
		{PassOptions{Table: "ev", ID: "25", Day: "2026-01-01"}, 0, 0},
		{PassOptions{ID: "25"}, 0, 0}, // no table is backup_enabled
		{PassOptions{Table: "EV", ID: "25"}, 1, 1},
	} {
		res, err := d.Pass(ctx, c.opts)
		if err != nil || res.Selected != c.selected || res.Copied != c.copied {
			t.Fatalf("pass %+v = %+v, %v; want %d selected, %d copied", c.opts, res, err, c.selected, c.copied)
		}
	}
	if ok, _ := objstore.Exists(ctx, dst, files[0].Key); ok {
		t.Fatalf("%s holds no id 15 or 25 but was copied", files[0].Key)
	}
	_, err := d.Pass(ctx, PassOptions{Table: "noid", ID: "1"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "noid") {
		t.Fatalf("backup by id of a table without an id column: %v", err)
	}
}

var noIDSchema = arrow.NewSchema([]arrow.Field{{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)

// Bad requests are refused, naming what is wrong, and change nothing.
func TestRecoverByIDsRefused(t *testing.T) {
	ctx := context.Background()
	s, dst := recoveryStores(t)["bolt_file"](t)
	must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "ev", Schema: testSchema}))
	must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "noid", Schema: noIDSchema}))
	d := NewDataBackup(DataConfig{}, s.cat, s.bucket, dst, s.cat)
	for _, c := range []struct {
		name    string
		opts    RecoverOptions
		is      error
		mention string
	}{
		{"unknown_table", RecoverOptions{Table: "nope", IDs: []string{"1"}}, catalog.ErrTableNotFound, "nope"},
		{"no_table", RecoverOptions{IDs: []string{"1"}}, ErrInvalid, "table"},
		{"empty_id_set", RecoverOptions{Table: "ev", ByID: true}, ErrInvalid, "no ids"},
		{"empty_id", RecoverOptions{Table: "ev", IDs: []string{"1", ""}}, ErrInvalid, "ids[1]"},
		{"no_id_column", RecoverOptions{Table: "noid", IDs: []string{"1"}}, ErrInvalid, "noid"},
		{"bad_day", RecoverOptions{Table: "ev", IDs: []string{"1"}, FromDay: "2026-13-01"}, ErrInvalid, "2026-13-01"},
		{"days_reversed", RecoverOptions{Table: "ev", FromDay: "2026-02-01", ToDay: "2026-01-01"}, ErrInvalid, "after"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := d.Recover(ctx, c.opts)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.mention) || len(res.Keys) != 0 {
				t.Fatalf("recover = %+v, %v; want %v naming %q", res, err, c.is, c.mention)
			}
		})
	}
}

// A recovery by day range compares rows too: rows written again and
// rows a compaction that was never backed up holds are not doubled; an
// object none of whose rows is live comes back whole, under its own key.
func TestRecoverDayRangeSkipsLiveRows(t *testing.T) {
	ctx := context.Background()
	s, dst := recoveryStores(t)["bolt_file"](t)
	must(t, s.cat.CreateTable(ctx, catalog.Table{Name: "ev", Schema: testSchema}))
	files := []catalog.File{flushLike(t, s, "ev", 0, "2026-01-01", 0, 10, 1), flushLike(t, s, "ev", 1, "2026-01-01", 10, 10, 2),
		flushLike(t, s, "ev", 1, "2026-01-01", 20, 10, 3), flushLike(t, s, "ev", 2, "2026-01-02", 30, 10, 4)}
	must(t, s.cat.CommitFlush(ctx, "ev", "n1", files, 4))
	d := NewDataBackup(DataConfig{}, s.cat, s.bucket, dst, s.cat)
	_, err := d.Pass(ctx, PassOptions{Table: "ev"})
	must(t, err)
	// Files 1 and 2 are compacted into one that is not backed up; file 0
	// and 3 are lost, and ids 3 and 4 written again.
	merged := flushLike(t, s, "ev", 1, "2026-01-01", 10, 20, 3)
	_, err = s.cat.ReplaceFiles(ctx, "ev", []string{files[1].Key, files[2].Key, files[0].Key, files[3].Key}, []catalog.File{merged})
	must(t, err)
	must(t, s.cat.CommitFlush(ctx, "ev", "n1", []catalog.File{flushLike(t, s, "ev", 0, "2026-01-05", 3, 2, 5)}, 5))

	res, err := d.Recover(ctx, RecoverOptions{Table: "ev"})
	must(t, err)
	if res.Rows != 18 || len(res.Keys) != 2 || res.Keys[0] == files[0].Key || !slices.Contains(res.Keys, files[3].Key) {
		t.Fatalf("recover = %+v; want 8 new rows of file 0 in a new object, and file 3 whole", res)
	}
	got, sum := liveIDs(t, s, "ev")
	want, wantSum := wantIDs([2]int64{0, 39})
	if !reflect.DeepEqual(got, want) || sum != wantSum {
		t.Fatalf("live ids = %v, want %v", got, want)
	}
	if again, err := d.Recover(ctx, RecoverOptions{Table: "ev"}); err != nil || len(again.Keys) != 0 {
		t.Fatalf("second recovery = %+v, %v", again, err)
	}
}
