package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"

	"github.com/miniodb/miniodb/backup"
	"github.com/miniodb/miniodb/catalog"
)

// backupCLI runs `miniodb backup <args>` and decodes its JSON answer into
// out (when not nil); it fails the test unless the exit status is wantOK.
func backupCLI(t *testing.T, wantOK bool, out any, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"backup"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if (err == nil) != wantOK {
		t.Fatalf("miniodb backup %s: err=%v (want ok=%v)\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, wantOK, stdout, stderr.String())
	}
	if out != nil && len(stdout) > 0 {
		if err := json.Unmarshal(stdout, out); err != nil {
			t.Fatalf("miniodb backup %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, stdout)
		}
	}
	return string(stdout) + stderr.String()
}

// answers are the query results a restore or rebuild must keep: per table
// its row count, id sum and a checksum over every row.
func answers(t *testing.T, c *flightsql.Client, tables ...string) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	for _, tb := range tables {
		out[tb] = queryInts(t, c, fmt.Sprintf("SELECT count(*) FROM %s", tb))
		out[tb] = append(out[tb], queryInts(t, c, fmt.Sprintf("SELECT coalesce(sum(id), 0)::BIGINT FROM %s", tb))...)
		out[tb] = append(out[tb], queryInts(t, c, fmt.Sprintf("SELECT coalesce(bit_xor(hash(id, v)) %% 9223372036854775807, 0)::BIGINT FROM %s", tb))...)
	}
	return out
}

// catalogFiles is a table's file index without creation times (a rebuild
// takes them from the object names, to the millisecond).
func catalogFiles(t *testing.T, cat catalog.Catalog, table string) []catalog.File {
	t.Helper()
	files, err := cat.Files(context.Background(), table)
	if err != nil {
		t.Fatalf("files of %s: %v", table, err)
	}
	for i := range files {
		files[i].CreatedAt = time.Time{}
	}
	return files
}

func ingestIDs(t *testing.T, c *flightsql.Client, table string, from, n int64) {
	t.Helper()
	rec := idBatch(from, n)
	defer rec.Release()
	if _, err := ingestRecs(context.Background(), c, table, modeCreateAppend, rec); err != nil {
		t.Fatalf("ingest into %s: %v", table, err)
	}
}

// Redis loses the catalog (FLUSHALL) after flushes and with rows still only
// in the WAL; `backup rebuild-catalog` recreates it from the Parquet
// objects (and the newest backup's table configs), under the node's
// catalog identity, and the node starts again with every row exactly once.
func TestBackupRebuildCatalogAfterFlushAll(t *testing.T) {
	env := newStoreEnv(t)
	dir := t.TempDir()
	cfg := env.config(t, "buffer:\n  buffer_size: 1000\n  flush_interval: 300ms\ntables:\n  events:\n    retention_days: 9\n")
	s := startServer(t, dir, "--config", cfg)
	c := s.client()
	for b := range int64(3) {
		ingestIDs(t, c, "events", b*1000, 1000)
	}
	ingestIDs(t, c, "logs", 0, 500)
	cat := env.catalog(t)
	waitUntil(t, 30*time.Second, "flush", func() bool {
		return catalogRows(t, cat, "events") == 3000 && catalogRows(t, cat, "logs") == 500
	})
	var m backup.Manifest
	backupCLI(t, true, &m, "create", "--config", cfg, "--data-dir", dir, "--description", "before the disaster")
	if m.Tables != 2 || m.Rows != 3500 {
		t.Fatalf("backup manifest = %+v", m)
	}
	// One more batch after the backup, flushed, and one only in the WAL.
	ingestIDs(t, c, "events", 3000, 1000)
	waitUntil(t, 30*time.Second, "flush", func() bool { return catalogRows(t, cat, "events") == 4000 })
	wantFiles := map[string][]catalog.File{"events": catalogFiles(t, cat, "events"), "logs": catalogFiles(t, cat, "logs")}
	events, _ := cat.Table(context.Background(), "events")
	s.stop()
	s.restart() // WAL is empty now; the next batch stays in it
	c = s.client()
	ingestIDs(t, c, "logs", 500, 7)
	want := answers(t, c, "events", "logs")
	s.kill()

	env.redis.Do("FLUSHALL")
	serveFails(t, dir, "--config", cfg) // refused, as before

	var dry backup.RebuildResult
	backupCLI(t, true, &dry, "rebuild-catalog", "--dry-run", "--config", cfg, "--data-dir", dir)
	if keys := env.redis.Do("KEYS", "*"); keys != "" {
		t.Fatalf("a dry run wrote into Redis: %s", keys)
	}
	var res backup.RebuildResult
	backupCLI(t, true, &res, "rebuild-catalog", "--config", cfg, "--data-dir", dir)
	if res.Backup != m.Name || len(res.Tables) != 2 || res.Tables[0].Rows != 4000 || res.Tables[1].Rows != 500 || !reflect.DeepEqual(res.Tables, dry.Tables) {
		t.Fatalf("rebuild = %+v\ndry run = %+v", res, dry)
	}
	backupCLI(t, false, nil, "rebuild-catalog", "--config", cfg, "--data-dir", dir) // not into a full catalog

	cat2 := env.catalog(t)
	marker, _, _ := readMarker(dir)
	if id, _ := cat2.ID(context.Background()); id != marker.ID {
		t.Fatalf("rebuilt catalog identity %q, node's marker %q", id, marker.ID)
	}
	must(t, cat2.InitID(context.Background(), marker.ID))
	for tb, files := range wantFiles {
		if got := catalogFiles(t, cat2, tb); !reflect.DeepEqual(got, files) {
			t.Errorf("rebuilt files of %s:\n got %+v\nwant %+v", tb, got, files)
		}
	}
	got, _ := cat2.Table(context.Background(), "events")
	if !maps.Equal(got.Flushed, events.Flushed) || got.Config.RetentionDays != events.Config.RetentionDays || !got.Schema.Equal(events.Schema) {
		t.Errorf("rebuilt table events = %+v, want %+v", got, events)
	}

	s.restart()
	if after := answers(t, s.client(), "events", "logs"); !reflect.DeepEqual(after, want) {
		t.Fatalf("answers after rebuild %v, before %v", after, want)
	}
}

// A metadata backup restored into an empty Redis (FLUSHALL): list,
// validate, a dry run that writes nothing, the restore under the node's
// identity, and the same answers from the restarted node. A second
// complete restore is refused without force_overwrite.
func TestBackupRestoreIntoEmptyRedis(t *testing.T) {
	env := newStoreEnv(t)
	dir := t.TempDir()
	cfg := env.config(t, "buffer:\n  buffer_size: 500\n  flush_interval: 300ms\n")
	s := startServer(t, dir, "--config", cfg)
	c := s.client()
	ingestIDs(t, c, "events", 0, 2000)
	ingestIDs(t, c, "users", 0, 300)
	cat := env.catalog(t)
	waitUntil(t, 30*time.Second, "flush", func() bool {
		return catalogRows(t, cat, "events") == 2000 && catalogRows(t, cat, "users") == 300
	})
	want := answers(t, c, "events", "users")
	s.stop()

	var m backup.Manifest
	backupCLI(t, true, &m, "create", "--config", cfg, "--data-dir", dir)
	var list []backup.Manifest
	backupCLI(t, true, &list, "list", "--config", cfg, "--data-dir", dir)
	if len(list) != 1 || list[0].Name != m.Name || list[0].Files == 0 {
		t.Fatalf("list = %+v", list)
	}
	var v backup.Validation
	backupCLI(t, true, &v, "validate", m.Name, "--config", cfg, "--data-dir", dir)
	if !v.Valid || v.Files != m.Files {
		t.Fatalf("validate = %+v", v)
	}

	env.redis.Do("FLUSHALL")
	var dry backup.RestoreResult
	backupCLI(t, true, &dry, "restore", m.Name, "--dry-run", "--config", cfg, "--data-dir", dir)
	if !dry.DryRun || len(dry.Created) != 2 {
		t.Fatalf("dry run = %+v", dry)
	}
	if keys := env.redis.Do("KEYS", "*"); keys != "" {
		t.Fatalf("a dry run wrote into Redis: %s", keys)
	}
	var res backup.RestoreResult
	backupCLI(t, true, &res, "restore", m.Name, "--config", cfg, "--data-dir", dir)
	if len(res.Created) != 2 || res.Files != m.Files || res.MissingObjects != 0 {
		t.Fatalf("restore = %+v", res)
	}
	out := backupCLI(t, false, nil, "restore", m.Name, "--config", cfg, "--data-dir", dir)
	mustContain(t, out, "force_overwrite")
	var forced backup.RestoreResult
	backupCLI(t, true, &forced, "restore", m.Name, "--force-overwrite", "--backup-current", "--config", cfg, "--data-dir", dir)
	if forced.CurrentBackup == "" || len(forced.Replaced) != 2 {
		t.Fatalf("forced restore = %+v", forced)
	}

	s.restart()
	if after := answers(t, s.client(), "events", "users"); !reflect.DeepEqual(after, want) {
		t.Fatalf("answers after restore %v, before %v", after, want)
	}
}

// The embedded node serves /v1/metadata/* and takes scheduled backups
// (backup.enabled, backup.interval in seconds).
func TestBackupRESTAndSchedule(t *testing.T) {
	dir := t.TempDir()
	cfgPath := dir + "/miniodb.yaml"
	writeFile(t, cfgPath, "backup:\n  enabled: true\n  interval: 1\n  keep: 3\nbuffer:\n  flush_interval: 200ms\n")
	s := startServer(t, dir+"/data", "--config", cfgPath, "--rest-addr", freeAddr(t))
	rest := s.restAddr()
	ingestIDs(t, s.client(), "events", 0, 100)
	get := func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+rest+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(b, &out)
		out["http_status"] = float64(resp.StatusCode)
		return out
	}
	made := get("POST", "/v1/metadata/backup", `{"description":"manual"}`)
	if made["http_status"] != 200.0 || made["success"] != true {
		t.Fatalf("POST /v1/metadata/backup = %v", made)
	}
	name := made["backup"].(map[string]any)["name"].(string)
	waitUntil(t, 20*time.Second, "scheduled backups", func() bool {
		st := get("GET", "/v1/metadata/status", "")
		return st["scheduled"] == true && st["backups"] == 3.0
	})
	if v := get("POST", "/v1/metadata/validate", `{"backup_file":"`+name+`"}`); v["http_status"] == 200.0 && v["valid"] != true {
		t.Fatalf("validate = %v", v) // may be pruned already (keep 3): then 404
	}
	if r := get("POST", "/v1/metadata/recover", `{"backup_file":"nope"}`); r["http_status"] != 404.0 {
		t.Fatalf("recover of a missing backup = %v", r)
	}
	if l := get("GET", "/v1/metadata/backups", ""); l["total"] != 3.0 {
		t.Fatalf("backups kept = %v, want 3", l["total"])
	}
}

// The embedded catalog (bbolt) lost: rebuild-catalog recreates it from the
// objects in the data folder, with the schema, FlushedLSN and answers the
// node had; a restore needs force to overwrite it.
func TestBackupRebuildEmbeddedCatalog(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	c := s.client()
	ingestIDs(t, c, "events", 0, 1500)
	ingestIDs(t, c, "events", 1500, 10)
	want := answers(t, c, "events")
	s.stop() // flushes
	var m backup.Manifest
	backupCLI(t, true, &m, "create", "--data-dir", dir)
	if err := os.Remove(filepath.Join(dir, "catalog.db")); err != nil {
		t.Fatal(err)
	}
	var res backup.RebuildResult
	backupCLI(t, true, &res, "rebuild-catalog", "--data-dir", dir)
	if res.Backup != m.Name || len(res.Tables) != 1 || res.Tables[0].Rows != 1510 {
		t.Fatalf("rebuild = %+v", res)
	}
	out := backupCLI(t, false, nil, "restore", m.Name, "--data-dir", dir)
	mustContain(t, out, "force_overwrite")
	s.restart()
	if got := answers(t, s.client(), "events"); !reflect.DeepEqual(got, want) {
		t.Fatalf("answers after rebuild %v, before %v", got, want)
	}
	ingestIDs(t, s.client(), "events", 2000, 5) // the rebuilt catalog takes new flushes
	if n := countRows(t, s.client(), "events"); n != 1515 {
		t.Fatalf("rows after one more ingest: %d", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
