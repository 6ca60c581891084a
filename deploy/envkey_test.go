package deploy

import "testing"

// TestEnvKey pins the variable-to-key check the manifest tests rely on: a
// variable the binary would silently ignore must not pass.
func TestEnvKey(t *testing.T) {
	base := []byte("server:\n  data_dir: /tmp/h10_unused\n")
	for _, tc := range []struct {
		name, value, want string
	}{
		{"MINIODB_SERVER_NODE_ID", "miniodb-0", "server.node_id"},
		{"MINIODB_CLUSTER_ADVERTISE_REST_ADDR", "miniodb-0.svc:8081", "cluster.advertise_rest_addr"},
		{"MINIODB_TABLE_MANAGEMENT_MAX_TABLES", "10", "table_management.max_tables"},
		{"MINIODB_BACKUP_MINIO_BUCKET", "olap-backup", "backup.minio.bucket"},
		{"MINIODB_REDIS_PASSWORD", "secret", "redis.password"},
		{"MINIODB_SERVER_NODEID", "miniodb-0", ""},      // misspelt: the binary ignores it
		{"MINIODB_CLUSTER_ADVERTISE", "x:1", ""},        // a key prefix, not a key
		{"MINIODB_SERVER_NODE_ID_SUFFIX", "node-1", ""}, // longer than any key
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := findEnvKey(t, base, map[string]string{tc.name: tc.value}, tc.name)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("%s: key %q (found %v), want %q", tc.name, got, ok, tc.want)
			}
		})
	}
}
