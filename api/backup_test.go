package api

import (
	"encoding/json"
	"testing"
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
