package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cenkalti/backoff/v5"
	"github.com/redis/go-redis/v9"
)

// RedisConfig configures the Redis catalog. The keys are the seed's
// `redis:` section; zero values take the defaults noted (those of go-redis
// where not noted).
type RedisConfig struct {
	// Mode is standalone (default), sentinel or cluster.
	Mode string `yaml:"mode"`
	// Addr is the standalone server (host:port). In sentinel and cluster
	// mode it may instead hold a comma-separated list of sentinel or node
	// addresses. Empty, with no sentinel_addrs or cluster_addrs: no Redis.
	Addr     string `yaml:"addr"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	DB       int    `yaml:"db"` // standalone and sentinel; a cluster has only db 0

	MasterName       string   `yaml:"master_name"` // sentinel; default "mymaster"
	SentinelAddrs    []string `yaml:"sentinel_addrs"`
	SentinelPassword string   `yaml:"sentinel_password"`
	ClusterAddrs     []string `yaml:"cluster_addrs"`

	// Namespace separates catalogs sharing one Redis; it is the hash tag of
	// every key (see doc.go). Default "default".
	Namespace string `yaml:"namespace"`

	// Connection pool, per Redis node.
	PoolSize        int           `yaml:"pool_size"`      // default 10 per CPU
	MinIdleConns    int           `yaml:"min_idle_conns"` // default 0
	DialTimeout     time.Duration `yaml:"dial_timeout"`   // default 5s
	ReadTimeout     time.Duration `yaml:"read_timeout"`   // default 3s
	WriteTimeout    time.Duration `yaml:"write_timeout"`  // default 3s
	PoolTimeout     time.Duration `yaml:"pool_timeout"`   // default read_timeout + 1s
	ConnMaxIdleTime time.Duration `yaml:"idle_timeout"`   // default 30m
	// Retries of one command on network errors, with go-redis's
	// exponential backoff between min and max.
	MaxRetries      int           `yaml:"max_retries"`       // default 3; -1: none
	MinRetryBackoff time.Duration `yaml:"min_retry_backoff"` // default 8ms
	MaxRetryBackoff time.Duration `yaml:"max_retry_backoff"` // default 512ms
}

// Enabled reports whether a Redis server is configured at all.
func (c RedisConfig) Enabled() bool {
	return c.Addr != "" || len(c.SentinelAddrs) > 0 || len(c.ClusterAddrs) > 0
}

func (c *RedisConfig) setDefaults() {
	if c.Mode == "" {
		c.Mode = "standalone"
	}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	if c.MasterName == "" {
		c.MasterName = "mymaster"
	}
	split := func(s string) []string {
		var out []string
		for _, a := range strings.Split(s, ",") {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
		}
		return out
	}
	if c.Mode == "sentinel" && len(c.SentinelAddrs) == 0 {
		c.SentinelAddrs = split(c.Addr)
	}
	if c.Mode == "cluster" && len(c.ClusterAddrs) == 0 {
		c.ClusterAddrs = split(c.Addr)
	}
}

// Validate checks the configuration.
func (c RedisConfig) Validate() error {
	c.setDefaults()
	switch c.Mode {
	case "standalone":
		if c.Addr == "" {
			return errors.New("redis.addr is required in standalone mode")
		}
	case "sentinel":
		if len(c.SentinelAddrs) == 0 {
			return errors.New("redis.sentinel_addrs is required in sentinel mode")
		}
	case "cluster":
		if len(c.ClusterAddrs) == 0 {
			return errors.New("redis.cluster_addrs is required in cluster mode")
		}
		if c.DB != 0 {
			return fmt.Errorf("redis.db %d: a Redis cluster has only db 0", c.DB)
		}
	default:
		return fmt.Errorf("redis.mode %q must be standalone, sentinel or cluster", c.Mode)
	}
	if strings.ContainsAny(c.Namespace, "{}: \t\r\n") {
		return fmt.Errorf("redis.namespace %q must not contain braces, colons or spaces", c.Namespace)
	}
	return nil
}

// NewRedisClient returns the go-redis client of cfg's mode: a plain client,
// a sentinel failover client, or a cluster client.
func NewRedisClient(cfg RedisConfig) (redis.UniversalClient, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch cfg.Mode {
	case "sentinel":
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: cfg.MasterName, SentinelAddrs: cfg.SentinelAddrs, SentinelPassword: cfg.SentinelPassword,
			Username: cfg.Username, Password: cfg.Password, DB: cfg.DB,
			PoolSize: cfg.PoolSize, MinIdleConns: cfg.MinIdleConns, DialTimeout: cfg.DialTimeout,
			ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, PoolTimeout: cfg.PoolTimeout,
			ConnMaxIdleTime: cfg.ConnMaxIdleTime, MaxRetries: cfg.MaxRetries,
			MinRetryBackoff: cfg.MinRetryBackoff, MaxRetryBackoff: cfg.MaxRetryBackoff,
		}), nil
	case "cluster":
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: cfg.ClusterAddrs, Username: cfg.Username, Password: cfg.Password,
			PoolSize: cfg.PoolSize, MinIdleConns: cfg.MinIdleConns, DialTimeout: cfg.DialTimeout,
			ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, PoolTimeout: cfg.PoolTimeout,
			ConnMaxIdleTime: cfg.ConnMaxIdleTime, MaxRetries: cfg.MaxRetries,
			MinRetryBackoff: cfg.MinRetryBackoff, MaxRetryBackoff: cfg.MaxRetryBackoff,
		}), nil
	}
	return redis.NewClient(&redis.Options{
		Addr: cfg.Addr, Username: cfg.Username, Password: cfg.Password, DB: cfg.DB,
		PoolSize: cfg.PoolSize, MinIdleConns: cfg.MinIdleConns, DialTimeout: cfg.DialTimeout,
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, PoolTimeout: cfg.PoolTimeout,
		ConnMaxIdleTime: cfg.ConnMaxIdleTime, MaxRetries: cfg.MaxRetries,
		MinRetryBackoff: cfg.MinRetryBackoff, MaxRetryBackoff: cfg.MaxRetryBackoff,
	}), nil
}

// Redis is the cluster catalog: every node of a cluster shares one
// namespace of one Redis deployment. Writes are optimistic transactions
// (WATCH the version, read, MULTI ... INCR version ... EXEC), retried with
// backoff when another writer got in between; reads are MULTI/EXEC
// snapshots. Every call checks the catalog identity (see Identified).
type Redis struct {
	client redis.UniversalClient
	cfg    RedisConfig
	keys   redisKeys
	hook   *errorHook

	mu         sync.Mutex
	id         string // the identity this handle is bound to; "" until known
	maxVersion uint64 // highest version seen: a lower one means a rollback
}

// redisKeys are the key names of one namespace; doc.go draws the layout.
type redisKeys struct{ id, version, tables, filesPrefix string }

func keysOf(ns string) redisKeys {
	p := "miniodb:{" + ns + "}:"
	return redisKeys{id: p + "id", version: p + "version", tables: p + "tables", filesPrefix: p + "files:"}
}

func (k redisKeys) files(table string) string { return k.filesPrefix + table }

// OpenRedis connects to cfg's Redis and reads the catalog identity. A
// catalog without identity (new, or wiped) refuses every call until InitID.
func OpenRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	client, err := NewRedisClient(cfg)
	if err != nil {
		return nil, err
	}
	cfg.setDefaults()
	r := &Redis{client: client, cfg: cfg, keys: keysOf(cfg.Namespace), hook: &errorHook{}}
	client.AddHook(r.hook)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("connect to redis (%s %s): %w", cfg.Mode, r.where(), err)
	}
	id, err := r.ID(ctx)
	if err != nil {
		client.Close()
		return nil, err
	}
	r.id = id
	return r, nil
}

func (r *Redis) where() string {
	switch r.cfg.Mode {
	case "sentinel":
		return fmt.Sprintf("master %s via %s", r.cfg.MasterName, strings.Join(r.cfg.SentinelAddrs, ","))
	case "cluster":
		return strings.Join(r.cfg.ClusterAddrs, ",")
	}
	return fmt.Sprintf("%s db %d", r.cfg.Addr, r.cfg.DB)
}

// Describe names the Redis deployment and namespace, for messages.
func (r *Redis) Describe() string {
	return fmt.Sprintf("redis %s (%s), namespace %q", r.where(), r.cfg.Mode, r.cfg.Namespace)
}

// Close closes the connection pool.
func (r *Redis) Close() error { return r.client.Close() }

// ID implements Identified.
func (r *Redis) ID(ctx context.Context) (string, error) {
	id, err := r.client.Get(ctx, r.keys.id).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read catalog identity: %w", err)
	}
	return id, nil
}

// InitID implements Identified.
func (r *Redis) InitID(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("catalog: empty identity")
	}
	if _, err := r.client.SetNX(ctx, r.keys.id, id, 0).Result(); err != nil {
		return fmt.Errorf("write catalog identity: %w", err)
	}
	got, err := r.ID(ctx)
	if err != nil {
		return err
	}
	if got != id {
		return fmt.Errorf("%w: %s already has identity %s, not %s", ErrCatalogLost, r.Describe(), got, id)
	}
	r.mu.Lock()
	r.id = id
	r.mu.Unlock()
	return nil
}

// floor returns the highest version this handle has seen so far: any read
// that starts now must see at least that much.
func (r *Redis) floor() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxVersion
}

// check compares the stored identity with the one this handle is bound to,
// and the stored version with floor, the highest version seen before the
// read started. (Comparing with the highest seen at check time would fail
// a slow read that a faster, later one overtook.)
func (r *Redis) check(storedID string, version, floor uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.id == "":
		return fmt.Errorf("%w: %s has no catalog identity", ErrCatalogLost, r.Describe())
	case storedID == "":
		return fmt.Errorf("%w: %s lost its catalog identity %s (flushed?)", ErrCatalogLost, r.Describe(), r.id)
	case storedID != r.id:
		return fmt.Errorf("%w: %s has identity %s, this node uses %s", ErrCatalogLost, r.Describe(), storedID, r.id)
	case version < floor:
		return fmt.Errorf("%w: version of %s went back from %d to %d (Redis lost acknowledged writes)", ErrCatalogLost, r.Describe(), floor, version)
	}
	r.maxVersion = max(r.maxVersion, version)
	return nil
}

func (r *Redis) noteVersion(v uint64) {
	r.mu.Lock()
	r.maxVersion = max(r.maxVersion, v)
	r.mu.Unlock()
}

// snapshot reads id, version and whatever queue adds in one MULTI/EXEC,
// and returns the version it read.
func (r *Redis) snapshot(ctx context.Context, queue func(p redis.Pipeliner)) (uint64, error) {
	floor := r.floor()
	var idCmd, verCmd *redis.StringCmd
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		idCmd, verCmd = p.Get(ctx, r.keys.id), p.Get(ctx, r.keys.version)
		queue(p)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("read catalog: %w", err)
	}
	return r.checkCmds(idCmd, verCmd, floor)
}

func (r *Redis) checkCmds(idCmd, verCmd *redis.StringCmd, floor uint64) (uint64, error) {
	id, err := idCmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, err
	}
	v, err := parseVersion(verCmd)
	if err != nil {
		return 0, err
	}
	return v, r.check(id, v, floor)
}

func parseVersion(cmd *redis.StringCmd) (uint64, error) {
	s, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("catalog version %q: %w", s, err)
	}
	return v, nil
}

// update runs one optimistic transaction: WATCH id and version, check them,
// let prepare read what it needs and return the writes, then MULTI, the
// writes, INCR version, EXEC. A transaction that lost a race (another
// writer changed the version) is retried with backoff.
func (r *Redis) update(ctx context.Context, prepare func(tx *redis.Tx) (func(p redis.Pipeliner), error)) error {
	txn := func(tx *redis.Tx) error {
		floor := r.floor()
		idCmd, verCmd := tx.Get(ctx, r.keys.id), tx.Get(ctx, r.keys.version)
		if _, err := r.checkCmds(idCmd, verCmd, floor); err != nil {
			return err
		}
		writes, err := prepare(tx)
		if err != nil {
			return err
		}
		var incr *redis.IntCmd
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			writes(p)
			incr = p.Incr(ctx, r.keys.version)
			return nil
		})
		if err == nil {
			r.noteVersion(uint64(incr.Val()))
		}
		return err
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = 2*time.Millisecond, 200*time.Millisecond
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		err := r.client.Watch(ctx, txn, r.keys.id, r.keys.version)
		if errors.Is(err, redis.TxFailedErr) {
			return struct{}{}, err // lost a race: try again
		}
		if err != nil {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, nil
	}, backoff.WithBackOff(bo), backoff.WithMaxTries(100), backoff.WithMaxElapsedTime(0))
	return err
}

// getTable reads and decodes one table record inside a transaction.
func (r *Redis) getTable(ctx context.Context, tx *redis.Tx, name string) (Table, error) {
	b, err := tx.HGet(ctx, r.keys.tables, name).Bytes()
	if errors.Is(err, redis.Nil) {
		return Table{}, fmt.Errorf("%w: %s", ErrTableNotFound, name)
	}
	if err != nil {
		return Table{}, err
	}
	return decodeTable(b)
}

func (r *Redis) listFiles(ctx context.Context, tx *redis.Tx, table string) ([]File, error) {
	m, err := tx.HGetAll(ctx, r.keys.files(table)).Result()
	if err != nil {
		return nil, err
	}
	return decodeFiles(table, m)
}

func decodeFiles(table string, m map[string]string) ([]File, error) {
	files := make([]File, 0, len(m))
	for _, v := range m {
		var f File
		if err := json.Unmarshal([]byte(v), &f); err != nil {
			return nil, fmt.Errorf("decode file of table %s: %w", table, err)
		}
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Key < files[j].Key })
	return files, nil
}

// CreateTable implements Catalog.
func (r *Redis) CreateTable(ctx context.Context, t Table) error {
	rec, err := encodeTable(t)
	if err != nil {
		return err
	}
	return r.update(ctx, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		exists, err := tx.HExists(ctx, r.keys.tables, t.Name).Result()
		if err != nil {
			return nil, err
		}
		if exists {
			return nil, fmt.Errorf("%w: %s", ErrTableExists, t.Name)
		}
		return func(p redis.Pipeliner) {
			p.Del(ctx, r.keys.files(t.Name)) // no leftovers of an earlier table of that name
			p.HSet(ctx, r.keys.tables, t.Name, rec)
		}, nil
	})
}

// Table implements Catalog.
func (r *Redis) Table(ctx context.Context, name string) (Table, error) {
	var cmd *redis.StringCmd
	if _, err := r.snapshot(ctx, func(p redis.Pipeliner) { cmd = p.HGet(ctx, r.keys.tables, name) }); err != nil {
		return Table{}, err
	}
	b, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return Table{}, fmt.Errorf("%w: %s", ErrTableNotFound, name)
	}
	if err != nil {
		return Table{}, err
	}
	return decodeTable(b)
}

// Tables implements Catalog.
func (r *Redis) Tables(ctx context.Context) ([]Table, error) {
	var cmd *redis.MapStringStringCmd
	if _, err := r.snapshot(ctx, func(p redis.Pipeliner) { cmd = p.HGetAll(ctx, r.keys.tables) }); err != nil {
		return nil, err
	}
	out := make([]Table, 0, len(cmd.Val()))
	for _, v := range cmd.Val() {
		t, err := decodeTable([]byte(v))
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// UpdateTable implements Catalog.
func (r *Redis) UpdateTable(ctx context.Context, name string, schema *arrow.Schema, cfg TableConfig) error {
	return r.update(ctx, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		t, err := r.getTable(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		t.Schema, t.Config = schema, cfg
		rec, err := encodeTable(t)
		if err != nil {
			return nil, err
		}
		return func(p redis.Pipeliner) { p.HSet(ctx, r.keys.tables, name, rec) }, nil
	})
}

// ReplaceTable implements Catalog.
func (r *Redis) ReplaceTable(ctx context.Context, name, node, incarnation string, schema *arrow.Schema, flushedLSN uint64) (removed []File, err error) {
	err = r.update(ctx, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		t, err := r.getTable(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		if removed, err = r.listFiles(ctx, tx, name); err != nil {
			return nil, err
		}
		t.Schema, t.Flushed, t.Incarnation = schema, withFlushed(t.Flushed, node, flushedLSN), incarnation
		rec, err := encodeTable(t)
		if err != nil {
			return nil, err
		}
		return func(p redis.Pipeliner) {
			p.Del(ctx, r.keys.files(name))
			p.HSet(ctx, r.keys.tables, name, rec)
		}, nil
	})
	return removed, err
}

// DropTable implements Catalog.
func (r *Redis) DropTable(ctx context.Context, name string) (removed []File, err error) {
	err = r.update(ctx, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		if _, err := r.getTable(ctx, tx, name); err != nil {
			return nil, err
		}
		if removed, err = r.listFiles(ctx, tx, name); err != nil {
			return nil, err
		}
		return func(p redis.Pipeliner) {
			p.Del(ctx, r.keys.files(name))
			p.HDel(ctx, r.keys.tables, name)
		}, nil
	})
	return removed, err
}

// CommitFlush implements Catalog.
func (r *Redis) CommitFlush(ctx context.Context, table, node string, files []File, flushedLSN uint64) error {
	return r.commitFlush(ctx, table, node, files, flushedLSN, nil)
}

// commitFlush is CommitFlush with more writes (extra) in its transaction.
func (r *Redis) commitFlush(ctx context.Context, table, node string, files []File, flushedLSN uint64, extra func(redis.Pipeliner)) error {
	fields := make([]any, 0, 2*len(files))
	for _, f := range files {
		b, err := json.Marshal(f)
		if err != nil {
			return err
		}
		fields = append(fields, f.Key, b)
	}
	return r.update(ctx, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		t, err := r.getTable(ctx, tx, table)
		if err != nil {
			return nil, err
		}
		if have := t.FlushedLSN(node); have >= flushedLSN {
			return nil, fmt.Errorf("%w: table %s covers LSN %d of node %s, flush %d", ErrStaleFlush, table, have, node, flushedLSN)
		}
		if f, stale := t.staleFile(files); stale {
			return nil, fmt.Errorf("%w: table %s was replaced: file %s belongs to incarnation %s, the table is %s", ErrStaleFlush, table, f.Key, f.Incarnation, t.Incarnation)
		}
		if f, dup := t.overlapping(files, node); dup {
			return nil, fmt.Errorf("%w: table %s: file %s holds LSN %d of node %s, which the table covers already", ErrStaleFlush, table, f.Key, f.MinLSN, node)
		}
		t.Flushed = withFlushed(t.Flushed, node, flushedLSN)
		rec, err := encodeTable(t)
		if err != nil {
			return nil, err
		}
		return func(p redis.Pipeliner) {
			if len(fields) > 0 {
				p.HSet(ctx, r.keys.files(table), fields...)
			}
			p.HSet(ctx, r.keys.tables, table, rec)
			if extra != nil {
				extra(p)
			}
		}, nil
	})
}

// Files implements Catalog.
func (r *Redis) Files(ctx context.Context, table string) ([]File, error) {
	var exists *redis.BoolCmd
	var all *redis.MapStringStringCmd
	_, err := r.snapshot(ctx, func(p redis.Pipeliner) {
		exists, all = p.HExists(ctx, r.keys.tables, table), p.HGetAll(ctx, r.keys.files(table))
	})
	if err != nil {
		return nil, err
	}
	if !exists.Val() {
		return nil, fmt.Errorf("%w: %s", ErrTableNotFound, table)
	}
	return decodeFiles(table, all.Val())
}

// Version implements Catalog.
func (r *Redis) Version(ctx context.Context) (uint64, error) {
	return r.snapshot(ctx, func(redis.Pipeliner) {})
}
