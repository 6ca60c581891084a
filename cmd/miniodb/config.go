package main

import (
	"errors"
	"fmt"
	"github.com/miniodb/miniodb/catalog"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole node configuration. Keys follow the seed's
// config.yaml where they apply. Precedence: defaults < YAML file <
// environment (MINIODB_<SECTION>_<KEY>, e.g. MINIODB_SERVER_GRPC_PORT) <
// flags.
type Config struct {
	Server  ServerConfig  `yaml:"server"`
	Buffer  BufferConfig  `yaml:"buffer"`
	Storage StorageConfig `yaml:"storage"`
	WAL     WALConfig     `yaml:"wal"`
	Query   QueryConfig   `yaml:"query"`
	Cache   CacheConfig   `yaml:"cache"`
	Log     LogConfig     `yaml:"log"`
	// Tables holds per-table settings in the seed's layout; the entry
	// "default_config" applies to every table.
	Tables map[string]TableSettings `yaml:"tables"`
}

// TableSettings is one entry of the tables section.
type TableSettings struct {
	BufferSize    int64             `yaml:"buffer_size"`
	FlushInterval time.Duration     `yaml:"flush_interval"`
	RetentionDays int64             `yaml:"retention_days"`
	BackupEnabled bool              `yaml:"backup_enabled"`
	ShardKey      string            `yaml:"shard_key"`
	TimeColumn    string            `yaml:"time_column"`
	Properties    map[string]string `yaml:"properties"`
}

// effectiveBuffer returns the buffer defaults with tables.default_config
// applied over the buffer section.
func (c Config) effectiveBuffer() BufferConfig {
	b := c.Buffer
	if d, ok := c.Tables["default_config"]; ok {
		if d.BufferSize > 0 {
			b.BufferSize = d.BufferSize
		}
		if d.FlushInterval > 0 {
			b.FlushInterval = d.FlushInterval
		}
	}
	return b
}

// ServerConfig is the seed's server section.
type ServerConfig struct {
	GRPCPort string `yaml:"grpc_port"` // address of Flight SQL; ":8080" means all interfaces
	NodeID   string `yaml:"node_id"`
	DataDir  string `yaml:"data_dir"`
	Insecure bool   `yaml:"insecure"` // allow a non-loopback address without authentication
	// DrainTimeout bounds how long SIGTERM waits for in-flight requests.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// BufferConfig is the seed's buffer section.
type BufferConfig struct {
	BufferSize    int64         `yaml:"buffer_size"`    // rows per table before a flush
	FlushInterval time.Duration `yaml:"flush_interval"` // age before a flush
	MaxMemory     int64         `yaml:"max_memory"`     // bytes; above it the largest tables flush
	MaxBuffered   int64         `yaml:"max_buffered"`   // bytes; above it ingest is refused
	FlushWorkers  int           `yaml:"worker_pool_size"`
}

// StorageConfig places rows.
type StorageConfig struct {
	Partitions int `yaml:"partitions"`
}

// WALConfig sizes the write-ahead log.
type WALConfig struct {
	SegmentSize int64 `yaml:"segment_size"`
	MaxBytes    int64 `yaml:"max_bytes"`
}

// QueryConfig sizes DuckDB.
type QueryConfig struct {
	Threads       int    `yaml:"threads"`
	MemoryLimit   string `yaml:"memory_limit"`
	MaxConcurrent int    `yaml:"max_concurrent"`
}

// CacheConfig bounds the local read cache.
type CacheConfig struct {
	MaxBytes int64 `yaml:"max_bytes"`
}

// LogConfig selects log output.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or console
}

func defaultConfig() Config {
	return Config{
		Server:  ServerConfig{GRPCPort: "127.0.0.1:8080", NodeID: "node-1", DataDir: "./data", DrainTimeout: 30 * time.Second},
		Buffer:  BufferConfig{BufferSize: 100_000, FlushInterval: 30 * time.Second, MaxMemory: 1 << 30},
		Storage: StorageConfig{Partitions: 8},
		WAL:     WALConfig{SegmentSize: 64 << 20},
		Cache:   CacheConfig{MaxBytes: 8 << 30},
		Log:     LogConfig{Level: "info", Format: "json"},
	}
}

// loadConfig applies the YAML file (if any) and then the environment over
// the defaults.
func loadConfig(path string, environ []string) (Config, error) {
	cfg := defaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // io.EOF: empty file
			return cfg, fmt.Errorf("parse config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// applyEnv sets every scalar field named by a MINIODB_<SECTION>_<KEY>
// variable.
func applyEnv(cfg *Config, environ []string) error {
	vars := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "MINIODB_") {
			vars[k] = v
		}
	}
	root := reflect.ValueOf(cfg).Elem()
	for i := range root.NumField() {
		section := root.Field(i)
		stag := yamlName(root.Type().Field(i))
		if section.Kind() != reflect.Struct {
			continue
		}
		for j := range section.NumField() {
			name := "MINIODB_" + strings.ToUpper(stag+"_"+yamlName(section.Type().Field(j)))
			if v, ok := vars[name]; ok {
				if err := setScalar(section.Field(j), v); err != nil {
					return fmt.Errorf("environment %s: %w", name, err)
				}
			}
		}
	}
	return nil
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func setScalar(v reflect.Value, s string) error {
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	default:
		return fmt.Errorf("unsupported kind %s", v.Kind())
	}
	return nil
}

// Validate checks the configuration as a whole.
func (c Config) Validate() error {
	host, _, err := net.SplitHostPort(c.Server.GRPCPort)
	if err != nil {
		return fmt.Errorf("server.grpc_port %q: %w", c.Server.GRPCPort, err)
	}
	if !c.Server.Insecure && !isLoopback(host) {
		return fmt.Errorf("server.grpc_port %q is not a loopback address and no authentication is configured; pass --insecure to serve it anyway", c.Server.GRPCPort)
	}
	if c.Server.DataDir == "" {
		return errors.New("server.data_dir must be set")
	}
	if c.Storage.Partitions <= 0 || c.Storage.Partitions > 4096 {
		return fmt.Errorf("storage.partitions %d must be in 1..4096", c.Storage.Partitions)
	}
	if c.Buffer.BufferSize <= 0 {
		return fmt.Errorf("buffer.buffer_size %d must be positive", c.Buffer.BufferSize)
	}
	if c.Buffer.FlushInterval <= 0 {
		return fmt.Errorf("buffer.flush_interval %s must be positive", c.Buffer.FlushInterval)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tableOverrides turns the per-table entries of the tables section into
// the ingest service's overrides.
func (c Config) tableOverrides() map[string]catalog.TableConfig {
	out := map[string]catalog.TableConfig{}
	for name, t := range c.Tables {
		if name == "default_config" {
			continue
		}
		out[name] = catalog.TableConfig{
			BufferSize: t.BufferSize, FlushIntervalSeconds: int64(t.FlushInterval / time.Second),
			RetentionDays: t.RetentionDays, BackupEnabled: t.BackupEnabled, ShardKey: t.ShardKey,
			TimeColumn: t.TimeColumn, Properties: t.Properties,
		}
	}
	return out
}
