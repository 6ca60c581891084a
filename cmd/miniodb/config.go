package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/objstore"
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
	// TableManagement and Metrics are the seed's table_management and
	// metrics sections.
	TableManagement TableManagementConfig `yaml:"table_management"`
	Metrics         MetricsConfig         `yaml:"metrics"`
	// Redis is the seed's redis section: when an address is set, the
	// catalog lives in Redis instead of the embedded bbolt file.
	Redis catalog.RedisConfig `yaml:"redis"`
	// MinIO is the seed's minio section: when an endpoint is set, objects
	// live there instead of under <data_dir>/objects.
	MinIO  objstore.S3Config `yaml:"minio"`
	Backup BackupConfig      `yaml:"backup"`
	// Cluster is how this node appears to the others (cluster.go).
	Cluster ClusterConfig `yaml:"cluster"`
	// Security is authentication and authorization (security.go).
	Security SecurityConfig `yaml:"security"`
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
	// RESTPort is the address of the REST API and /metrics; "" serves none.
	RESTPort string `yaml:"rest_port"`
	// MaxRequestBytes bounds one REST body or OlapService request.
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// MaxMessageBytes bounds one gRPC message either way (a DoPut batch);
	// a larger one is refused with RESOURCE_EXHAUSTED.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// StreamIdleTimeout ends a result stream whose client has not taken a
	// message (gRPC) or a write (REST) for this long; 0: never
	// (flight.StallGuard).
	StreamIdleTimeout time.Duration `yaml:"stream_idle_timeout"`
}

// TableManagementConfig is the seed's table_management section, enforced
// on every path that creates tables (ingest.TablePolicy).
type TableManagementConfig struct {
	AutoCreateTables bool   `yaml:"auto_create_tables"` // a write may create a missing table
	DefaultTable     string `yaml:"default_table"`      // table of rows that name none (row APIs)
	MaxTables        int    `yaml:"max_tables"`         // 0: no limit
	TableNamePattern string `yaml:"table_name_pattern"` // narrows the built-in name rule
}

// MetricsConfig places the Prometheus endpoint on the REST port.
type MetricsConfig struct {
	Enabled bool   `yaml:"enabled"`
	Path    string `yaml:"path"`
}

// validateAPI checks the REST, table_management and metrics keys.
func (c Config) validateAPI() error {
	if c.Server.RESTPort != "" {
		host, _, err := net.SplitHostPort(c.Server.RESTPort)
		if err != nil {
			return fmt.Errorf("server.rest_port %q: %w", c.Server.RESTPort, err)
		}
		if !c.Server.Insecure && !c.authEnabled() && !isLoopback(host) {
			return fmt.Errorf("server.rest_port %q is not a loopback address and no authentication is configured (security.mode: auth); pass --insecure to serve it anyway", c.Server.RESTPort)
		}
	}
	if _, err := regexp.Compile(c.TableManagement.TableNamePattern); err != nil {
		return fmt.Errorf("table_management.table_name_pattern: %w", err)
	}
	if c.TableManagement.MaxTables < 0 {
		return fmt.Errorf("table_management.max_tables %d must not be negative", c.TableManagement.MaxTables)
	}
	if c.Metrics.Enabled && !strings.HasPrefix(c.Metrics.Path, "/") {
		return fmt.Errorf("metrics.path %q must start with /", c.Metrics.Path)
	}
	return nil
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
	// Replicate says where an ingest must be durable before it is
	// acknowledged: "local" (default: this node's disk) or "objstore"
	// (this node's disk and the object store, so that another node can
	// replay the rows if this one dies for good; ingest/ship.go).
	Replicate string `yaml:"replicate"`
}

// shipped reports whether wal.replicate is objstore.
func (w WALConfig) shipped() bool { return w.Replicate == "objstore" }

// QueryConfig sizes DuckDB.
type QueryConfig struct {
	Threads       int    `yaml:"threads"`
	MemoryLimit   string `yaml:"memory_limit"`
	MaxConcurrent int    `yaml:"max_concurrent"`
	// Timeout bounds one query from planning to its last batch (Flight
	// SQL, REST, OlapService); 0: no bound (security_limits.go).
	Timeout time.Duration `yaml:"timeout"`
	// MaxConcurrentPerUser bounds the queries one authenticated user or
	// API key runs at once; more wait in line. 0: no bound.
	MaxConcurrentPerUser int `yaml:"max_concurrent_per_user"`
	// MaxTempDirectorySize bounds DuckDB's spill files ("10GB"; "0B": no
	// spilling, a query beyond memory_limit fails). Empty: the disk's free
	// space. memory_limit and this are database-wide in DuckDB 1.5: all
	// running queries share them (query/doc.go, Limits).
	MaxTempDirectorySize string `yaml:"max_temp_directory_size"`
	// MaxResultRows and MaxResultBytes cap what one query streams (Flight
	// SQL DoGet, REST, OlapService); beyond them the stream ends with
	// RESOURCE_EXHAUSTED (HTTP 413). 0: no cap (the default).
	MaxResultRows  int64 `yaml:"max_result_rows"`
	MaxResultBytes int64 `yaml:"max_result_bytes"`
}

// CacheConfig bounds the local read cache and the memory cache.
type CacheConfig struct {
	MaxBytes int64 `yaml:"max_bytes"`
	// MemoryBytes bounds the Arrow batches of files a node keeps in
	// memory, from which SELECT * and bare-column scans stream without
	// DuckDB (package hotcache): files it flushed, and files a SELECT *
	// decoded while there was free room; 0: none.
	MemoryBytes int64 `yaml:"memory_bytes"`
}

// BackupConfig is the seed's backup section. MinIO is the backup endpoint
// and bucket (the seed's "backup pool"); its empty credentials and pool
// settings are those of the minio section.
type BackupConfig struct {
	Enabled  bool  `yaml:"enabled"`
	Interval int64 `yaml:"interval"` // seconds between metadata backups (the seed's unit)
	Keep     int   `yaml:"keep"`     // metadata backups kept, oldest deleted first; 0 keeps all
	// RetentionInterval is how often files past their table's
	// retention_days are removed (default 1h); GracePeriod is how long
	// their objects stay for queries that planned them (default 10m).
	RetentionInterval time.Duration `yaml:"retention_interval"`
	GracePeriod       time.Duration `yaml:"grace_period"`
	// Compaction merges small files of a table/partition/day every
	// CompactionInterval (default 1h; negative disables) into files of
	// about CompactionTargetBytes (default 64 MiB) once there are
	// CompactionMinFiles (default 4) of them.
	CompactionInterval    time.Duration `yaml:"compaction_interval"`
	CompactionTargetBytes int64         `yaml:"compaction_target_bytes"`
	CompactionMinFiles    int           `yaml:"compaction_min_files"`
	// DataInterval is how often, with a backup endpoint (minio), the
	// objects of backup_enabled tables not yet copied are copied; default
	// 1m.
	DataInterval time.Duration     `yaml:"data_interval"`
	MinIO        objstore.S3Config `yaml:"minio"`
}

// backupS3 returns the backup endpoint's config with the primary's
// settings filled in, nil when no backup endpoint is configured.
func (c Config) backupS3() *objstore.S3Config {
	b := c.Backup.MinIO
	if b.Endpoint == "" {
		return nil
	}
	p := c.MinIO
	if b.AccessKeyID == "" && b.SecretAccessKey == "" {
		b.AccessKeyID, b.SecretAccessKey = p.AccessKeyID, p.SecretAccessKey
	}
	if b.Bucket == "" {
		b.Bucket = "olap-backup"
	}
	fill := func(dst *int, src int) {
		if *dst == 0 {
			*dst = src
		}
	}
	fillDur := func(dst *time.Duration, src time.Duration) {
		if *dst == 0 {
			*dst = src
		}
	}
	fill(&b.MaxIdleConns, p.MaxIdleConns)
	fill(&b.MaxIdleConnsPerHost, p.MaxIdleConnsPerHost)
	fill(&b.MaxConnsPerHost, p.MaxConnsPerHost)
	fill(&b.RetryMaxAttempts, p.RetryMaxAttempts)
	fillDur(&b.IdleConnTimeout, p.IdleConnTimeout)
	fillDur(&b.DialTimeout, p.DialTimeout)
	fillDur(&b.ResponseHeaderTimeout, p.ResponseHeaderTimeout)
	fillDur(&b.RetryInitialInterval, p.RetryInitialInterval)
	fillDur(&b.RetryMaxInterval, p.RetryMaxInterval)
	fillDur(&b.BreakerOpenTimeout, p.BreakerOpenTimeout)
	if b.BreakerFailures == 0 {
		b.BreakerFailures = p.BreakerFailures
	}
	if b.PartSize == 0 {
		b.PartSize = p.PartSize
	}
	return &b
}

// LogConfig selects log output.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or console
	// SlowQueryThreshold logs queries slower than it at warn; 0 disables.
	SlowQueryThreshold time.Duration `yaml:"slow_query_threshold"`
}

func defaultConfig() Config {
	return Config{
		Server: ServerConfig{GRPCPort: "127.0.0.1:8080", NodeID: "node-1", DataDir: "./data", DrainTimeout: 30 * time.Second,
			RESTPort: "127.0.0.1:8081", MaxRequestBytes: 32 << 20, MaxMessageBytes: 256 << 20, StreamIdleTimeout: 10 * time.Minute},
		Buffer:  BufferConfig{BufferSize: 100_000, FlushInterval: 30 * time.Second, MaxMemory: 1 << 30},
		Storage: StorageConfig{Partitions: 8},
		WAL:     WALConfig{SegmentSize: 64 << 20},
		Cache:   CacheConfig{MaxBytes: 8 << 30, MemoryBytes: 1 << 30},
		Log:     LogConfig{Level: "info", Format: "json", SlowQueryThreshold: time.Second},
		TableManagement: TableManagementConfig{AutoCreateTables: true, DefaultTable: "default", MaxTables: 1000,
			TableNamePattern: ingest.TableNamePattern},
		Metrics: MetricsConfig{Enabled: true, Path: "/metrics"},
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
// variable; nested sections add their name (MINIODB_BACKUP_MINIO_ENDPOINT)
// and lists are comma-separated (MINIODB_REDIS_CLUSTER_ADDRS=a:1,b:2).
func applyEnv(cfg *Config, environ []string) error {
	vars := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "MINIODB_") {
			vars[k] = v
		}
	}
	root := reflect.ValueOf(cfg).Elem()
	for i := range root.NumField() {
		if section := root.Field(i); section.Kind() == reflect.Struct {
			if err := applyEnvStruct(section, "MINIODB_"+strings.ToUpper(yamlName(root.Type().Field(i))), vars); err != nil {
				return err
			}
		}
	}
	return nil
}

func applyEnvStruct(v reflect.Value, prefix string, vars map[string]string) error {
	for j := range v.NumField() {
		f := v.Type().Field(j)
		tag := yamlName(f)
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		if v.Field(j).Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			if err := applyEnvStruct(v.Field(j), name, vars); err != nil {
				return err
			}
			continue
		}
		if s, ok := vars[name]; ok {
			if err := setScalar(v.Field(j), s); err != nil {
				return fmt.Errorf("environment %s: %w", name, err)
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
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case reflect.Uint32:
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list of %s", v.Type().Elem())
		}
		var items []string
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		v.Set(reflect.ValueOf(items))
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
	if !c.Server.Insecure && !c.authEnabled() && !isLoopback(host) {
		return fmt.Errorf("server.grpc_port %q is not a loopback address and no authentication is configured (security.mode: auth); pass --insecure to serve it anyway", c.Server.GRPCPort)
	}
	if c.Server.DataDir == "" {
		return errors.New("server.data_dir must be set")
	}
	if c.Storage.Partitions <= 0 || c.Storage.Partitions > 4096 {
		return fmt.Errorf("storage.partitions %d must be in 1..4096", c.Storage.Partitions)
	}
	if !catalog.ValidNodeID(c.Server.NodeID) {
		return fmt.Errorf("server.node_id %q: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)", c.Server.NodeID)
	}
	if err := c.Cluster.validate(); err != nil {
		return err
	}
	if c.Redis.Enabled() && c.authEnabled() && len(c.Cluster.Secret) < 16 {
		return errors.New("cluster.secret must be set (16 characters or more, the same on every node): with security.mode auth and a shared redis catalog, nodes authenticate each other with it")
	}
	switch c.WAL.Replicate {
	case "", "local", "objstore":
	default:
		return fmt.Errorf("wal.replicate %q must be local or objstore", c.WAL.Replicate)
	}
	if c.Buffer.BufferSize <= 0 {
		return fmt.Errorf("buffer.buffer_size %d must be positive", c.Buffer.BufferSize)
	}
	if c.Buffer.FlushInterval <= 0 {
		return fmt.Errorf("buffer.flush_interval %s must be positive", c.Buffer.FlushInterval)
	}
	if err := c.validateAPI(); err != nil {
		return err
	}
	if err := c.validateSecurity(); err != nil {
		return err
	}
	return c.validateStores()
}

// validateStores checks the redis, minio and backup sections.
func (c Config) validateStores() error {
	if c.Redis.Enabled() {
		if err := c.Redis.Validate(); err != nil {
			return err
		}
	}
	if err := c.MinIO.Validate(); err != nil {
		return err
	}
	if b := c.backupS3(); b != nil {
		if c.MinIO.Endpoint == "" {
			return errors.New("backup.minio.endpoint needs a minio section: the backup pool backs up the primary object store")
		}
		if err := b.Validate(); err != nil {
			return fmt.Errorf("backup.%w", err)
		}
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
