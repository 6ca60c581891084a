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
