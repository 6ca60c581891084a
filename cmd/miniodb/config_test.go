package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	writeFile(t, file, `
server:
  grpc_port: "127.0.0.1:9000"
  node_id: "from-file"
buffer:
  buffer_size: 5000
  flush_interval: 10s
tables:
  default_config:
    buffer_size: 7000
  logs:
    buffer_size: 10
    flush_interval: 5s
    shard_key: user_id
`)
	tests := []struct {
		name  string
		env   []string
		check func(t *testing.T, c Config)
	}{
		{"defaults_without_file", nil, func(t *testing.T, c Config) {
			d := defaultConfig()
			if c.Server.GRPCPort != "127.0.0.1:8080" || c.Server.DataDir != "./data" || c.Buffer.BufferSize != d.Buffer.BufferSize {
				t.Fatalf("defaults = %+v", c.Server)
			}
		}},
		{"file_over_defaults", nil, func(t *testing.T, c Config) {
			if c.Server.GRPCPort != "127.0.0.1:9000" || c.Server.NodeID != "from-file" || c.Buffer.FlushInterval != 10*time.Second {
				t.Fatalf("file not applied: %+v %+v", c.Server, c.Buffer)
			}
			if b := c.effectiveBuffer(); b.BufferSize != 7000 {
				t.Fatalf("tables.default_config.buffer_size not applied: %d", b.BufferSize)
			}
			o := c.tableOverrides()["logs"]
			if o.BufferSize != 10 || o.FlushIntervalSeconds != 5 || o.ShardKey != "user_id" {
				t.Fatalf("tables.logs = %+v", o)
			}
		}},
		{"env_over_file", []string{"MINIODB_SERVER_NODE_ID=from-env", "MINIODB_BUFFER_FLUSH_INTERVAL=2m", "MINIODB_SERVER_INSECURE=true", "OTHER=x"}, func(t *testing.T, c Config) {
			if c.Server.NodeID != "from-env" || c.Buffer.FlushInterval != 2*time.Minute || !c.Server.Insecure {
				t.Fatalf("env not applied: %+v %+v", c.Server, c.Buffer)
			}
			if c.Server.GRPCPort != "127.0.0.1:9000" {
				t.Fatalf("env changed an unset key: %s", c.Server.GRPCPort)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := file
			if tt.name == "defaults_without_file" {
				path = ""
			}
			c, err := loadConfig(path, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml string
		env        []string
		want       string // in the error
	}{
		{"unknown_key", "server:\n  grpc_prot: x\n", nil, "grpc_prot"},
		{"bad_duration", "buffer:\n  flush_interval: soon\n", nil, "`soon` into time.Duration"},
		{"bad_env_number", "", []string{"MINIODB_BUFFER_BUFFER_SIZE=many"}, "MINIODB_BUFFER_BUFFER_SIZE"},
		{"public_address_without_insecure", "server:\n  grpc_port: \"0.0.0.0:8080\"\n", nil, "--insecure"},
		{"zero_partitions", "storage:\n  partitions: 0\n", nil, "storage.partitions"},
		{"negative_buffer", "buffer:\n  buffer_size: -1\n", nil, "buffer.buffer_size"},
		{"redis_bad_mode", "redis:\n  mode: ring\n  addr: \"127.0.0.1:6379\"\n", nil, "redis.mode"},
		{"redis_cluster_db", "redis:\n  mode: cluster\n  cluster_addrs: [\"127.0.0.1:7000\"]\n  db: 2\n", nil, "only db 0"},
		{"redis_sentinel_without_sentinels", "redis:\n  mode: sentinel\n  master_name: m\n", []string{"MINIODB_REDIS_PASSWORD=x", "MINIODB_REDIS_CLUSTER_ADDRS=127.0.0.1:1"}, "sentinel_addrs"},
		{"redis_namespace_with_brace", "redis:\n  addr: \"127.0.0.1:6379\"\n  namespace: \"a}b\"\n", nil, "redis.namespace"},
		{"minio_endpoint_with_scheme", "minio:\n  endpoint: \"http://127.0.0.1:9000\"\n", nil, "without scheme"},
		{"minio_without_keys", "minio:\n  endpoint: \"127.0.0.1:9000\"\n", nil, "access_key_id"},
		{"backup_without_primary", "backup:\n  minio:\n    endpoint: \"127.0.0.1:9001\"\n", nil, "backup.minio.endpoint"},
		{"bad_env_list_kind", "", []string{"MINIODB_MINIO_BREAKER_FAILURES=-1"}, "MINIODB_MINIO_BREAKER_FAILURES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".yaml")
			writeFile(t, path, tt.yaml)
			c, err := loadConfig(path, tt.env)
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestServeCheckConfig(t *testing.T) {
	cmd := newRootCmd()
	var out strings.Builder
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"serve", "--check-config", "--grpc-addr", "0.0.0.0:8080", "--insecure"})
	if err := cmd.Execute(); err != nil || !strings.Contains(out.String(), "configuration ok") {
		t.Fatalf("check-config = %q, %v", out.String(), err)
	}
	cmd = newRootCmd()
	cmd.SetArgs([]string{"serve", "--check-config", "--grpc-addr", "0.0.0.0:8080"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--insecure") {
		t.Fatalf("a public address without --insecure passed: %v", err)
	}
}

// The seed's redis, minio and backup sections parse as written there, and
// every key of them (nested ones too) can come from the environment.
func TestConfigStores(t *testing.T) {
	file := filepath.Join(t.TempDir(), "seed.yaml")
	writeFile(t, file, `
redis:
  mode: "standalone"
  addr: "localhost:6379"
  password: ""
  db: 0
minio:
  endpoint: "localhost:9000"
  access_key_id: "minioadmin"
  secret_access_key: "minioadmin"
  bucket: "olap-data"
  max_conns_per_host: 32
  breaker_open_timeout: 7s
  unsigned_payload: true
backup:
  enabled: true
  interval: 3600
  minio:
    endpoint: "backup-minio:9000"
    bucket: "olap-backup"
`)
	tests := []struct {
		name  string
		env   []string
		check func(t *testing.T, c Config)
	}{
		{"seed_sections", nil, func(t *testing.T, c Config) {
			if !c.Redis.Enabled() || c.Redis.Addr != "localhost:6379" || c.MinIO.Bucket != "olap-data" || c.MinIO.AccessKeyID != "minioadmin" ||
				!c.MinIO.UnsignedPayload {
				t.Fatalf("redis %+v minio %+v", c.Redis, c.MinIO)
			}
			if !c.Backup.Enabled || c.Backup.Interval != 3600 {
				t.Fatalf("backup %+v", c.Backup)
			}
		}},
		{"backup_pool_inherits_primary", nil, func(t *testing.T, c Config) {
			b := c.backupS3()
			if b == nil || b.Endpoint != "backup-minio:9000" || b.Bucket != "olap-backup" || b.AccessKeyID != "minioadmin" ||
				b.SecretAccessKey != "minioadmin" || b.MaxConnsPerHost != 32 || b.BreakerOpenTimeout != 7*time.Second ||
				b.UnsignedPayload { // a setting for the primary's network, not inherited
				t.Fatalf("backup pool = %+v", b)
			}
		}},
		{"nested_env", []string{
			"MINIODB_REDIS_MODE=cluster", "MINIODB_REDIS_CLUSTER_ADDRS=127.0.0.1:7000, 127.0.0.1:7001",
			"MINIODB_MINIO_SECRET_ACCESS_KEY=from-env", "MINIODB_MINIO_BREAKER_FAILURES=9", "MINIODB_MINIO_IDLE_CONN_TIMEOUT=1m",
			"MINIODB_BACKUP_MINIO_ENDPOINT=127.0.0.1:9100", "MINIODB_BACKUP_MINIO_ACCESS_KEY_ID=bk", "MINIODB_BACKUP_MINIO_SECRET_ACCESS_KEY=bs",
		}, func(t *testing.T, c Config) {
			if c.Redis.Mode != "cluster" || strings.Join(c.Redis.ClusterAddrs, "|") != "127.0.0.1:7000|127.0.0.1:7001" {
				t.Fatalf("redis from env: %+v", c.Redis)
			}
			if c.MinIO.SecretAccessKey != "from-env" || c.MinIO.BreakerFailures != 9 || c.MinIO.IdleConnTimeout != time.Minute {
				t.Fatalf("minio from env: %+v", c.MinIO)
			}
			if b := c.backupS3(); b.Endpoint != "127.0.0.1:9100" || b.AccessKeyID != "bk" || b.SecretAccessKey != "bs" {
				t.Fatalf("backup from env: %+v", b)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(file, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

// Without redis and minio sections the node stays embedded.
func TestConfigEmbeddedByDefault(t *testing.T) {
	c := defaultConfig()
	if c.Redis.Enabled() || c.MinIO.Endpoint != "" || c.backupS3() != nil {
		t.Fatalf("defaults configure external stores: %+v %+v", c.Redis, c.MinIO)
	}
}

// The README's Redis and MinIO example is a valid configuration.
func TestReadmeStoresConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "readme.yaml")
	writeFile(t, path, readmeBlock(t, "yaml"))
	c, err := loadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.Redis.Enabled() || c.MinIO.Endpoint == "" || c.backupS3() == nil || c.backupS3().AccessKeyID != "minioadmin" {
		t.Fatalf("README config: redis %+v minio %+v", c.Redis, c.MinIO)
	}
}
