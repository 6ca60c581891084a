package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
	"github.com/miniodb/miniodb/auth"
	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
)

// Store is the node's table registry and write path (an *ingest.Service).
type Store interface {
	StatsSource
	TableStats(name string) (ingest.TableStats, bool)
	TableSchema(name string) (*arrow.Schema, error)
	CreateTable(ctx context.Context, name string, schema *arrow.Schema, cfg catalog.TableConfig, ifNotExists bool) (bool, error)
	DropTable(ctx context.Context, name string, ifExists bool) (bool, error)
	WidenColumn(ctx context.Context, table, column string) error
}

// TableCatalog reads the catalog's table records (for creation times).
type TableCatalog interface {
	Table(ctx context.Context, name string) (catalog.Table, error)
	Tables(ctx context.Context) ([]catalog.Table, error)
}

// Config configures the API service. Zero values take the defaults noted.
type Config struct {
	NodeID   string
	Version  string
	GRPCAddr string // advertised by GetNodes
	RESTAddr string // advertised by GetNodes
	Bucket   string // where objects live, shown in stats and metrics
	// DefaultTable takes the rows that name no table
	// (table_management.default_table); default "default".
	DefaultTable string
	// Defaults are tables.default_config: the retention_days and
	// backup_enabled a table shows when neither it nor the config file's
	// entry for it sets them.
	Defaults catalog.TableConfig
	// MaxRows bounds the rows of one REST write; default 100000.
	MaxRows int
	// MaxResultBytes bounds the JSON of one Query RPC answer (REST streams
	// and has no bound); default 64 MiB.
	MaxResultBytes int64
	// MetricsPath serves Prometheus metrics on the REST port; "" serves
	// none.
	MetricsPath string
	// HealthTimeout bounds each component's health probe; default 5s.
	HealthTimeout time.Duration
	// StreamIdleTimeout ends a REST query answer whose client has not
	// taken one batch's write for this long; 0: never.
	StreamIdleTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.DefaultTable == "" {
		c.DefaultTable = "default"
	}
	if c.MaxRows <= 0 {
		c.MaxRows = 100_000
	}
	if c.MaxResultBytes <= 0 {
		c.MaxResultBytes = 64 << 20
	}
	if c.HealthTimeout <= 0 {
		c.HealthTimeout = 5 * time.Second
	}
}

// Deps are the services the API adapts. Ingest and Query should be the
// measured ones (Telemetry.Ingester, Telemetry.Runner) that Flight SQL
// uses too, so every path is counted alike.
type Deps struct {
	Store     Store
	Ingest    Ingester
	Query     Runner
	Catalog   TableCatalog
	Cache     CacheSource       // may be nil
	Pools     func() []PoolStat // may be nil
	Checks    []Check           // health probes
	Telemetry *Telemetry        // required
	Log       *zap.Logger       // required
	Mem       memory.Allocator  // default: memory.DefaultAllocator
	Now       func() time.Time  // default: time.Now
	Backups   Backups           // metadata backups; nil answers Unimplemented
	Data      DataBackups       // data backup and recovery; nil answers Unimplemented
	// Auth, when set, authorizes each table a call touches (auth.go);
	// nil: no checks.
	Auth *auth.Authenticator
	// Members lists the cluster's nodes (a *shard.Members); nil: this
	// node alone.
	Members Members
}

// Members is the cluster's node registry as last read.
type Members interface {
	Nodes() []catalog.Node
	Self() catalog.Node
}

// Service is the seed's OlapService and its REST twin over one node's
// services.
type Service struct {
	olapv1.UnimplementedOlapServiceServer
	cfg     Config
	d       Deps
	started time.Time
}

// New returns the API service.
func New(cfg Config, d Deps) *Service {
	cfg.setDefaults()
	if d.Mem == nil {
		d.Mem = memory.DefaultAllocator
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{cfg: cfg, d: d, started: d.Now()}
}

// Write stores one row; it returns once the row is durable.
func (s *Service) Write(ctx context.Context, req *olapv1.WriteRequest) (*olapv1.WriteResponse, error) {
	r, err := rowFromProto(req)
	if err != nil {
		return nil, err
	}
	n, err := s.write(ctx, []row{r})
	if err != nil {
		return nil, toStatus(err)
	}
	return writeResponse(n, []row{r}, s.cfg.DefaultTable), nil
}

func writeResponse(n int64, rows []row, def string) *olapv1.WriteResponse {
	t := rows[0].table
	if t == "" {
		t = def
	}
	return &olapv1.WriteResponse{Success: true, RowsWritten: n, Message: fmt.Sprintf("%d row(s) written to %s", n, t)}
}

// write stores rows, one durable ingest per table in the order the tables
// first appear. Rows of different tables are not one transaction: when a
// table fails, the tables before it stay written and the error says so.
func (s *Service) write(ctx context.Context, rows []row) (int64, error) {
	var order []string
	byTable := map[string][]row{}
	for _, r := range rows {
		if r.table == "" {
			r.table = s.cfg.DefaultTable
		}
		if _, ok := byTable[r.table]; !ok {
			order = append(order, r.table)
		}
		byTable[r.table] = append(byTable[r.table], r)
	}
	for _, table := range order { // all before any, so a refusal writes nothing
		if err := s.allow(ctx, table, auth.Write); err != nil {
			return 0, err
		}
	}
	now := s.d.Now().UTC()
	var total int64
	for i, table := range order {
		n, err := s.writeTable(ctx, table, byTable[table], now)
		if err != nil {
			if i > 0 {
				st := status.Convert(toStatus(err))
				return total, status.Errorf(st.Code(), "%s (the rows of %s, %d in all, were written)", st.Message(), strings.Join(order[:i], ", "), total)
			}
			return 0, err
		}
		total += n
	}
	return total, nil
}

// writeTable ingests the rows of one table as one transaction. When the
// table's schema changed between planning and ingest (a concurrent write
// added a column), it plans once more.
func (s *Service) writeTable(ctx context.Context, table string, rows []row, now time.Time) (int64, error) {
	for attempt := 0; ; attempt++ {
		have, err := s.d.Store.TableSchema(table)
		if err != nil && !errors.Is(err, ingest.ErrTableNotFound) {
			return 0, err
		}
		cols, err := planColumns(table, have, rows, now)
		if err != nil {
			return 0, err
		}
		for _, c := range cols {
			if c.widen {
				if err := s.d.Store.WidenColumn(ctx, table, c.name); err != nil {
					return 0, err
				}
			}
		}
		n, err := s.ingestRows(ctx, table, cols, rows)
		if err != nil && errors.Is(err, ingest.ErrInvalid) && attempt == 0 && s.schemaChanged(table, have) {
			continue
		}
		return n, err
	}
}

func (s *Service) ingestRows(ctx context.Context, table string, cols []column, rows []row) (int64, error) {
	rec := buildBatch(s.d.Mem, cols, rows)
	defer rec.Release()
	rdr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		return 0, fmt.Errorf("write table %s: %w", table, err)
	}
	defer rdr.Release()
	return s.d.Ingest.Ingest(ctx, ingest.Request{Table: table, IfMissing: ingest.CreateIfMissing, IfExists: ingest.Append, Batches: rdr})
}

func (s *Service) schemaChanged(table string, had *arrow.Schema) bool {
	now, err := s.d.Store.TableSchema(table)
	if err != nil || had == nil {
		return err == nil // created meanwhile
	}
	return !now.Equal(had)
}

// Query runs one read-only SELECT and returns its rows as a JSON array.
func (s *Service) Query(ctx context.Context, req *olapv1.QueryRequest) (*olapv1.QueryResponse, error) {
	st, err := s.run(ctx, req.GetSql())
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var buf bytes.Buffer
	buf.WriteByte('[')
	w := newJSONRows(&buf, st.Schema())
	for st.Next() {
		if err := w.write(st.RecordBatch()); err != nil {
			return nil, status.Errorf(codes.Internal, "encode result: %v", err)
		}
		if int64(buf.Len()) > s.cfg.MaxResultBytes {
			return nil, status.Errorf(codes.ResourceExhausted,
				"the result exceeds %d bytes of JSON; add a LIMIT, or read it as Arrow (REST /v1/query with Accept: application/vnd.apache.arrow.stream, or Flight SQL)", s.cfg.MaxResultBytes)
		}
	}
	if err := st.Err(); err != nil {
		return nil, toStatus(err)
	}
	buf.WriteByte(']')
	return &olapv1.QueryResponse{ResultJson: buf.String(), Columns: columns(st.Schema()), RowCount: w.rows}, nil
}

func (s *Service) run(ctx context.Context, sql string) (Stream, error) {
	if strings.TrimSpace(sql) == "" {
		return nil, invalidf("sql is empty")
	}
	st, err := s.d.Query.Run(ctx, sql)
	if err != nil {
		return nil, toStatus(err)
	}
	return st, nil
}

// HealthCheck probes every component. The call succeeds either way; the
// status field says healthy or unhealthy.
func (s *Service) HealthCheck(ctx context.Context, _ *olapv1.HealthCheckRequest) (*olapv1.HealthCheckResponse, error) {
	return s.health(ctx), nil
}

// GetStats returns the node's buffer, query, storage, WAL, cache and pool
// statistics.
func (s *Service) GetStats(context.Context, *olapv1.GetStatsRequest) (*olapv1.GetStatsResponse, error) {
	st := s.d.Store.Stats()
	m := s.d.Telemetry.m
	resp := &olapv1.GetStatsResponse{
		Timestamp: timestamppb.New(s.d.Now()), NodeId: s.cfg.NodeID,
		UptimeSeconds: int64(s.d.Now().Sub(s.started) / time.Second),
		BufferStats: &olapv1.BufferStats{BufferedBytes: st.BufferedBytes, MaxMemoryBytes: st.MaxMemory,
			DefaultBufferSize: st.BufferSize, DefaultFlushIntervalSeconds: int64(st.FlushInterval / time.Second),
			Flushes: m.flushCount.Load(), FlushErrors: m.flushErrs.Load()},
		QueryStats: &olapv1.QueryStats{TotalQueries: m.queries.Load(), FailedQueries: m.queryErrors.Load(),
			ActiveQueries: m.active.Load(), SlowQueries: m.slow.Load(),
			SlowQueryThresholdMs: float64(s.d.Telemetry.cfg.SlowQuery.Microseconds()) / 1000},
		StorageStats: &olapv1.StorageStats{Tables: int64(len(st.Tables)), Bucket: s.cfg.Bucket},
		WalStats:     &olapv1.WalStats{Bytes: st.WALBytes, LastLsn: st.WALLastLSN, DurableLsn: st.WALDurableLSN},
		Pools:        s.pools(),
	}
	if n := m.queries.Load(); n > 0 {
		resp.QueryStats.AvgLatencyMs = float64(m.queryNanos.Load()) / float64(n) / 1e6
	}
	for _, t := range st.Tables {
		resp.BufferStats.BufferedRows += t.BufferedRows
		resp.StorageStats.Files += int64(t.Files)
		resp.StorageStats.FileBytes += t.FileBytes
		resp.StorageStats.Rows += t.FileRows + t.BufferedRows
	}
	if s.d.Cache != nil {
		c := s.d.Cache.Stats()
		resp.CacheStats = &olapv1.CacheStats{Bytes: c.Bytes, MaxBytes: c.MaxBytes, Objects: c.Objects,
			Hits: c.Hits, Misses: c.Misses, Evictions: c.Evictions}
	}
	return resp, nil
}

func (s *Service) pools() []*olapv1.PoolStatus {
	var out []*olapv1.PoolStatus
	if s.d.Pools == nil {
		return out
	}
	for _, p := range s.d.Pools() {
		out = append(out, &olapv1.PoolStatus{Name: p.Name, Active: p.Active, Idle: p.Idle, Max: p.Max,
			Hits: p.Hits, Misses: p.Misses, Timeouts: p.Timeouts, Waits: p.Waits, Kind: p.Kind, Endpoint: p.Endpoint,
			State: p.State, Requests: p.Requests, Failures: p.Failures, LastError: p.LastErr})
	}
	return out
}

// GetNodes lists the cluster's nodes from the registry, live or not.
// Status is "healthy" for a node whose lease is live ("unhealthy" for
// this node when its own health checks fail), "draining" for one shutting
// down and "down" for one whose lease expired; last_seen is the lease's
// end for other nodes and now for this one.
func (s *Service) GetNodes(ctx context.Context, _ *olapv1.GetNodesRequest) (*olapv1.GetNodesResponse, error) {
	h := s.health(ctx)
	self := &olapv1.NodeInfo{Id: s.cfg.NodeID, Status: h.Status, Type: "ingest,query", Address: s.cfg.GRPCAddr,
		RestAddress: s.cfg.RESTAddr, LastSeen: timestamppb.New(s.d.Now())}
	if s.d.Members == nil {
		return &olapv1.GetNodesResponse{Nodes: []*olapv1.NodeInfo{self}, Total: 1}, nil
	}
	me := s.d.Members.Self()
	self.Id, self.Address, self.RestAddress = me.ID, me.Addr, me.RESTAddr
	var out []*olapv1.NodeInfo
	seenSelf := false
	for _, n := range s.d.Members.Nodes() {
		info := &olapv1.NodeInfo{Id: n.ID, Type: "ingest,query", Address: n.Addr, RestAddress: n.RESTAddr,
			LastSeen: timestamppb.New(n.LeaseExpires)}
		switch n.State {
		case catalog.NodeUp:
			info.Status = "healthy"
		default:
			info.Status = string(n.State)
		}
		if n.ID == me.ID {
			seenSelf = true
			if n.State == catalog.NodeUp {
				info.Status = self.Status
			}
			info.LastSeen = self.LastSeen
		}
		out = append(out, info)
	}
	if !seenSelf {
		out = append(out, self)
	}
	return &olapv1.GetNodesResponse{Nodes: out, Total: int32(len(out))}, nil
}

// CreateTable creates a table with the row API's columns (id, timestamp;
// payload fields add theirs on write) and the given config.
func (s *Service) CreateTable(ctx context.Context, req *olapv1.CreateTableRequest) (*olapv1.CreateTableResponse, error) {
	name := req.GetTableName()
	if name == "" {
		return nil, invalidf("table_name is empty")
	}
	if err := s.allow(ctx, name, auth.Admin); err != nil {
		return nil, err
	}
	NoteTable(ctx, name)
	created, err := s.d.Store.CreateTable(ctx, name, rowSchema(), configFromProto(req.GetConfig()), req.GetIfNotExists())
	if err != nil {
		return nil, toStatus(err)
	}
	msg := fmt.Sprintf("table %s created", name)
	if !created {
		msg = fmt.Sprintf("table %s already exists", name)
	}
	return &olapv1.CreateTableResponse{Success: true, Message: msg}, nil
}

// DropTable drops a table. Without cascade a table that holds rows is
// refused (FailedPrecondition); with it the rows and objects go too.
func (s *Service) DropTable(ctx context.Context, req *olapv1.DropTableRequest) (*olapv1.DropTableResponse, error) {
	name := req.GetTableName()
	if name == "" {
		return nil, invalidf("table_name is empty")
	}
	if err := s.allow(ctx, name, auth.Admin); err != nil {
		return nil, err
	}
	NoteTable(ctx, name)
	st, ok := s.d.Store.TableStats(name)
	if ok {
		noteKnownTable(ctx, name)
	}
	if ok && !req.GetCascade() {
		if rows := st.FileRows + st.BufferedRows; rows > 0 {
			return nil, status.Errorf(codes.FailedPrecondition, "table %q holds %d rows; drop it with cascade=true to delete them too", name, rows)
		}
	}
	dropped, err := s.d.Store.DropTable(ctx, name, req.GetIfExists())
	if err != nil {
		return nil, toStatus(err)
	}
	if !dropped {
		return &olapv1.DropTableResponse{Success: true, Message: fmt.Sprintf("table %s does not exist", name)}, nil
	}
	return &olapv1.DropTableResponse{Success: true, Message: fmt.Sprintf("table %s dropped", name), FilesDeleted: int32(st.Files)}, nil
}

// ListTables lists the tables whose names match the pattern (all when it
// is empty).
func (s *Service) ListTables(ctx context.Context, req *olapv1.ListTablesRequest) (*olapv1.ListTablesResponse, error) {
	pattern := req.GetPattern()
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, invalidf("pattern %q: %v", pattern, err)
	}
	created := map[string]time.Time{}
	if recs, err := s.d.Catalog.Tables(ctx); err == nil {
		for _, t := range recs {
			created[t.Name] = t.CreatedAt
		}
	} else {
		s.d.Log.Warn("list tables: creation times unavailable", zap.String("request_id", RequestID(ctx)), zap.Error(err))
	}
	resp := &olapv1.ListTablesResponse{Tables: []*olapv1.TableInfo{}}
	for _, t := range s.d.Store.Stats().Tables {
		if ok, _ := path.Match(pattern, t.Name); (pattern == "" || ok) && auth.Visible(ctx, s.d.Auth, t.Name) {
			resp.Tables = append(resp.Tables, s.tableInfo(t, created[t.Name]))
		}
	}
	resp.Total = int32(len(resp.Tables))
	return resp, nil
}

// DescribeTable returns a table's config in force, columns and statistics.
func (s *Service) DescribeTable(ctx context.Context, req *olapv1.DescribeTableRequest) (*olapv1.DescribeTableResponse, error) {
	name := req.GetTableName()
	if err := s.allow(ctx, name, auth.Read); err != nil {
		return nil, err
	}
	NoteTable(ctx, name)
	st, ok := s.d.Store.TableStats(name)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "table %q does not exist", name)
	}
	noteKnownTable(ctx, name)
	var created time.Time
	if rec, err := s.d.Catalog.Table(ctx, name); err == nil {
		created = rec.CreatedAt
	}
	info := s.tableInfo(st, created)
	return &olapv1.DescribeTableResponse{TableInfo: info, Stats: info.Stats}, nil
}

func (s *Service) tableInfo(t ingest.TableStats, created time.Time) *olapv1.TableInfo {
	cfg := t.Effective
	if cfg.RetentionDays <= 0 {
		cfg.RetentionDays = s.cfg.Defaults.RetentionDays
	}
	cfg.BackupEnabled = cfg.BackupEnabled || s.cfg.Defaults.BackupEnabled
	info := &olapv1.TableInfo{
		Name: t.Name, Config: configToProto(cfg), Status: "active",
		Stats: &olapv1.TableStats{RecordCount: t.FileRows + t.BufferedRows, FileCount: int64(t.Files),
			SizeBytes: t.FileBytes, BufferedRows: t.BufferedRows, BufferedBytes: t.BufferedBytes},
		Columns: columns(catalog.SchemaOrEmpty(t.Schema)),
	}
	if !created.IsZero() {
		info.CreatedAt = timestamppb.New(created)
	}
	return info
}

func configFromProto(c *olapv1.TableConfig) catalog.TableConfig {
	return catalog.TableConfig{
		BufferSize: int64(c.GetBufferSize()), FlushIntervalSeconds: int64(c.GetFlushIntervalSeconds()),
		RetentionDays: int64(c.GetRetentionDays()), BackupEnabled: c.GetBackupEnabled(),
		ShardKey: c.GetShardKey(), TimeColumn: c.GetTimeColumn(), Properties: c.GetProperties(),
	}
}

func configToProto(c catalog.TableConfig) *olapv1.TableConfig {
	props := c.Properties
	if props == nil {
		props = map[string]string{}
	}
	return &olapv1.TableConfig{
		BufferSize: clamp32(c.BufferSize), FlushIntervalSeconds: clamp32(c.FlushIntervalSeconds),
		RetentionDays: clamp32(c.RetentionDays), BackupEnabled: c.BackupEnabled,
		ShardKey: c.ShardKey, TimeColumn: c.TimeColumn, Properties: props,
	}
}

func clamp32(v int64) int32 { return int32(min(max(v, -1<<31), 1<<31-1)) }
