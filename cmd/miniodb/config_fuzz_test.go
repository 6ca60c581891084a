package main

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfig parses arbitrary YAML and environment values as the node's
// configuration: a config or an error, never a panic, and Validate never
// panics on what parsed.
func FuzzConfig(f *testing.F) {
	f.Add("server:\n  grpc_port: \"127.0.0.1:8080\"\nbuffer:\n  buffer_size: 10\n", "MINIODB_SERVER_NODE_ID=n2")
	f.Add("security:\n  mode: auth\n  jwt_secret: \"0123456789abcdef0123456789abcdef\"\n  users:\n    - {name: a, password_hash: \"x\"}\n", "")
	f.Add("tables:\n  t: {buffer_size: -1, flush_interval: 1s}\nredis:\n  addr: \":\"\n", "MINIODB_REDIS_CLUSTER_ADDRS=a:1,,b:2")
	f.Add("security:\n  enable_tls: true\n", "MINIODB_SECURITY_MODE=auth")
	f.Add("{", "MINIODB_BUFFER_BUFFER_SIZE=x")
	f.Add("minio:\n  endpoint: \"127.0.0.1:9000\"\n", "MINIODB_WAL_MAX_BYTES=99999999999999999999")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, yaml, env string) {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(p, []string{env})
		if err != nil {
			return
		}
		cfg.Validate()
	})
}
