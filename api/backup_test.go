package api

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/catalog"
)

// TestRESTMetadataBackup: a backup taken over REST is listed, validates,
// and can be planned as a restore; a real restore on a live node is
// refused with the command to run instead, and changes nothing.
func TestRESTMetadataBackup(t *testing.T) {
	e := newEnv(t, envOpts{})
	v := newValidator(t)
	e.run(t, v, []exchange{
		{name: "create_table", method: "POST", path: "/v1/tables", status: 200, body: `{"table_name":"users"}`},
		{name: "write", method: "POST", path: "/v1/data", status: 200, body: `{"table":"users","id":"u1","payload":{"age":3}}`},
	})
	if err := e.ingest.FlushAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	var name string
	e.run(t, v, []exchange{{name: "backup", method: "POST", path: "/v1/metadata/backup", status: 200, check: func(t *testing.T, body []byte) {
		var r struct {
			Backup struct {
				Name  string
				Files int
				Rows  int64
			}
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Backup.Files != 1 || r.Backup.Rows != 1 {
			t.Fatalf("backup response %s (%v)", body, err)
		}
		name = r.Backup.Name
	}}})
	e.run(t, v, []exchange{
		{name: "list", method: "GET", path: "/v1/metadata/backups", status: 200, check: jsonCheck(map[string]any{"total": 1, "backups.0.name": name})},
		{name: "validate", method: "POST", path: "/v1/metadata/validate", status: 200, body: `{"backup_file":"` + name + `.json"}`,
			check: jsonCheck(map[string]any{"valid": true, "checksum_ok": true, "files": 1})},
		{name: "validate_bad_name", method: "POST", path: "/v1/metadata/validate", status: 400, body: `{"backup_file":"../x"}`},
		{name: "recover_dry_run", method: "POST", path: "/v1/metadata/recover", status: 200,
			body:  `{"backup_file":"` + name + `","mode":"dry_run"}`,
			check: jsonCheck(map[string]any{"result.dry_run": true, "result.tables_replaced.0": "users", "result.files_restored": 1})},
		{name: "recover_live_refused", method: "POST", path: "/v1/metadata/recover", status: 412,
			body: `{"backup_file":"` + name + `","mode":"complete","force_overwrite":true}`, contains: []string{"miniodb backup restore " + name}},
		{name: "recover_bad_mode", method: "POST", path: "/v1/metadata/recover", status: 400, body: `{"backup_file":"` + name + `","mode":"sideways"}`},
		{name: "recover_unknown_field", method: "POST", path: "/v1/metadata/recover", status: 400, body: `{"backup_file":"x","nope":1}`},
		{name: "status", method: "GET", path: "/v1/metadata/status", status: 200,
			check: jsonCheck(map[string]any{"backups": 1, "tables": 1, "rows": 1, "last_backup.name": name})},
	})
}

// TestMetadataWithoutBackupService: a node without a backup service says
// so (501) rather than pretending.
func TestMetadataWithoutBackupService(t *testing.T) {
	svc := New(Config{}, Deps{Telemetry: &Telemetry{m: NewMetrics("n")}})
	for _, r := range svc.routes() {
		if len(r.path) > 12 && r.path[:12] == "/v1/metadata" {
			if err := r.h(nil, nil); err != errUnimplementedBackup {
				t.Errorf("%s %s without backups: %v", r.method, r.path, err)
			}
		}
	}
	if _, err := svc.TriggerBackup(t.Context(), nil); err != errUnimplementedBackup {
		t.Errorf("TriggerBackup without backups: %v", err)
	}
}

// TestRESTRecoverDataByID: over /v1/backup/*, rows lost with a dropped
// table come back by id and by id pattern, once, without doubling a row
// that is back in the buffer (a row written again with another timestamp
// is another row); queries see them at once; bad requests get 400/404
// naming what is wrong.
func TestRESTRecoverDataByID(t *testing.T) {
	e := newEnv(t, envOpts{dataBackup: true})
	v := newValidator(t)
	const t1, t2 = "2026-01-02T03:04:05Z", "2026-01-03T00:00:00Z"
	write := func(ts string, ids ...string) []exchange {
		var out []exchange
		for _, id := range ids {
			out = append(out, exchange{name: "write_" + id, method: "POST", path: "/v1/data", status: 200,
				body: `{"table":"users","id":"` + id + `","timestamp":"` + ts + `","payload":{"age":3}}`})
		}
		return out
	}
	count := func(n, distinct int) exchange {
		return exchange{name: fmt.Sprintf("count_%d", n), method: "POST", path: "/v1/query", status: 200,
			body:  `{"sql":"SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM users"}`,
			check: jsonCheck(map[string]any{"rows": []any{map[string]any{"n": n, "d": distinct}}})}
	}
	recover := func(name, body string, rows int) exchange {
		return exchange{name: name, method: "POST", path: "/v1/backup/recover", status: 200, body: body,
			contains: []string{fmt.Sprintf("(%d rows) recovered into users", rows)}, check: jsonCheck(map[string]any{"success": true})}
	}
	e.run(t, v, append([]exchange{{name: "create_table", method: "POST", path: "/v1/tables", status: 200, body: `{"table_name":"users"}`}},
		write(t1, "u1", "u2", "u3", "u4", "u5")...))
	if err := e.ingest.FlushAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.run(t, v, []exchange{
		{name: "backup_table", method: "POST", path: "/v1/backup/trigger", status: 200, body: `{"table":"users"}`,
			check: func(t *testing.T, b []byte) {
				var r struct {
					FilesBackedUp int `json:"files_backed_up"`
				}
				if err := json.Unmarshal(b, &r); err != nil || r.FilesBackedUp < 1 {
					t.Fatalf("backup answered %s", b)
				}
			}},
		{name: "backup_by_id_again", method: "POST", path: "/v1/backup/trigger", status: 200, body: `{"table":"users","id":"u3"}`,
			check: jsonCheck(map[string]any{"files_backed_up": 0}), contains: []string{"id u3"}},
		{name: "drop", method: "DELETE", path: "/v1/tables/users?cascade=true", status: 200},
		{name: "create_again", method: "POST", path: "/v1/tables", status: 200, body: `{"table_name":"users"}`},
	})
	// u1 is written again as it was, u2 with another timestamp; both stay
	// in the buffer.
	e.run(t, v, append(write(t1, "u1"), write(t2, "u2")...))
	e.run(t, v, []exchange{
		recover("by_ids", `{"table":"users","id_range":{"ids":["u1","u2","u9"]}}`, 1),
		count(3, 2),
		recover("by_ids_again", `{"table":"users","id_range":{"ids":["u1","u2","u9"]}}`, 0),
		recover("by_pattern", `{"table":"users","id_range":{"id_pattern":"u*"}}`, 3),
		count(6, 5),
		recover("by_day_and_id", `{"table":"users","time_range":{"start_date":"2026-01-02","end_date":"2026-01-02","ids":["u3"]}}`, 0),
		recover("by_day", `{"table":"users","time_range":{}}`, 0),
		count(6, 5),
		{name: "unknown_table", method: "POST", path: "/v1/backup/recover", status: 404, body: `{"table":"nope","id_range":{"ids":["1"]}}`, contains: []string{"nope"}},
		{name: "no_table", method: "POST", path: "/v1/backup/recover", status: 400, body: `{"id_range":{"ids":["1"]}}`, contains: []string{"table is empty"}},
		{name: "empty_id_set", method: "POST", path: "/v1/backup/recover", status: 400, body: `{"table":"users","id_range":{}}`, contains: []string{"id_range", "no ids"}},
		{name: "empty_id", method: "POST", path: "/v1/backup/recover", status: 400, body: `{"table":"users","id_range":{"ids":["u1",""]}}`, contains: []string{"ids[1]"}},
		{name: "bad_day", method: "POST", path: "/v1/backup/recover", status: 400, body: `{"table":"users","time_range":{"start_date":"yesterday"}}`, contains: []string{"yesterday"}},
		{name: "unknown_field", method: "POST", path: "/v1/backup/recover", status: 400, body: `{"table":"users","ids":["1"]}`},
		{name: "trigger_unknown_table", method: "POST", path: "/v1/backup/trigger", status: 404, body: `{"table":"nope","id":"1"}`, contains: []string{"nope"}},
	})
	// A table without an id column cannot be selected by id.
	noID := arrow.NewSchema([]arrow.Field{{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	if _, err := e.ingest.CreateTable(t.Context(), "noid", noID, catalog.TableConfig{}, false); err != nil {
		t.Fatal(err)
	}
	e.run(t, v, []exchange{
		{name: "recover_no_id_column", method: "POST", path: "/v1/backup/recover", status: 400,
			body: `{"table":"noid","id_range":{"ids":["1"]}}`, contains: []string{"noid", "no id column"}},
		{name: "trigger_no_id_column", method: "POST", path: "/v1/backup/trigger", status: 400,
			body: `{"table":"noid","id":"1"}`, contains: []string{"noid", "no id column"}},
	})
}
