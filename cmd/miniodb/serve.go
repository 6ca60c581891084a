package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	arrowflight "github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/miniodb/miniodb/api"
	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
	"github.com/miniodb/miniodb/auth"
	"github.com/miniodb/miniodb/backup"
	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/duckwrite"
	"github.com/miniodb/miniodb/flight"
	"github.com/miniodb/miniodb/hotcache"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/objstore"
	"github.com/miniodb/miniodb/query"
	"github.com/miniodb/miniodb/shard"
)

func newServeCmd() *cobra.Command {
	var configPath, dataDir, grpcAddr, restAddr string
	var insecure, checkOnly bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a MinIODB node (embedded default: local folder + bbolt under ./data)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath, os.Environ())
			if err != nil {
				return err
			}
			fl := cmd.Flags()
			if fl.Changed("data-dir") {
				cfg.Server.DataDir = dataDir
			}
			if fl.Changed("grpc-addr") {
				cfg.Server.GRPCPort = grpcAddr
			}
			if fl.Changed("rest-addr") {
				cfg.Server.RESTPort = restAddr
			}
			if fl.Changed("insecure") {
				cfg.Server.Insecure = insecure
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			if checkOnly {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "configuration ok")
				return err
			}
			return serve(cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", os.Getenv("MINIODB_CONFIG"), "YAML configuration file (env MINIODB_CONFIG)")
	f.StringVar(&dataDir, "data-dir", "./data", "folder for the WAL, catalog, objects and cache")
	f.StringVar(&grpcAddr, "grpc-addr", "127.0.0.1:8080", "Flight SQL listen address")
	f.StringVar(&restAddr, "rest-addr", "127.0.0.1:8081", `REST API and /metrics listen address ("" serves none)`)
	f.BoolVar(&insecure, "insecure", false, "allow a non-loopback address without authentication")
	f.BoolVar(&checkOnly, "check-config", false, "validate the configuration and exit")
	return cmd
}

// node is everything one running server owns, closed in reverse order.
type node struct {
	cfg         Config
	log         *zap.Logger
	cat         catalog.Catalog
	bucket      objstore.Bucket
	cache       *objstore.Cache
	hot         *hotcache.Cache // nil: cache.memory_bytes 0
	parquet     *duckwrite.Writer
	metrics     *api.Metrics
	tel         *api.Telemetry
	ingest      *ingest.Service
	engine      *query.Engine
	grpc        *grpc.Server
	health      *health.Server
	stopHealth  func()
	auth        *auth.Authenticator // nil: security.mode none
	limiter     *auth.Limiter       // nil: no security.rate_limit
	admission   queryAdmission      // query.timeout, query.max_concurrent_per_user
	rest        *http.Server
	backups     *backup.Service
	dataBackup  api.DataBackups // nil without a backup endpoint
	stopBackup  func()
	stall       *flight.StallGuard // nil: server.stream_idle_timeout 0
	members     *shard.Members     // nil until the node has joined
	writes      api.Ingester       // every ingest path's, measured (writePath)
	stopAdopter func()             // nil unless the adopter runs (startAdopter)
	peers       *flight.Peers      // node-to-node client; nil for the embedded catalog
}

// healthInterval is how often the gRPC health service re-probes.
const healthInterval = 5 * time.Second

func serve(cfg Config) error {
	log, err := newLogger(cfg.Log)
	if err != nil {
		return err
	}
	defer log.Sync()
	ctx := context.Background()
	n, err := startNode(ctx, cfg, log)
	if err != nil {
		return err
	}
	lis, restLis, err := listen(cfg)
	if err != nil {
		n.close(ctx)
		return err
	}
	lis = n.stall.Listener(lis)
	restAddr := ""
	if restLis != nil {
		restAddr = restLis.Addr().String()
	}
	onChange := flushOnLoss(cfg.Server.NodeID, n.ingest.FlushAll, log)
	if n.members, err = joinCluster(ctx, cfg, n.cat, lis.Addr().String(), restAddr, onChange, log); err != nil {
		lis.Close()
		if restLis != nil {
			restLis.Close()
		}
		n.close(ctx)
		return err
	}
	n.startAdopter()
	n.startAPI(lis.Addr().String(), restLis)
	fields := []zap.Field{zap.String("addr", lis.Addr().String()), zap.String("data_dir", cfg.Server.DataDir)}
	if restLis != nil {
		fields = append(fields, zap.String("rest_addr", restLis.Addr().String()))
	}
	log.Info("serving Flight SQL and OlapService", fields...)
	served := make(chan error, 2)
	go func() { served <- n.grpc.Serve(lis) }()
	if restLis != nil {
		go func() {
			if err := n.rest.Serve(restLis); !errors.Is(err, http.ErrServerClosed) {
				served <- fmt.Errorf("serve REST: %w", err)
			}
		}()
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-served:
		n.close(ctx)
		return err
	case sig := <-sigs:
		log.Info("draining: a second signal exits at once", zap.String("signal", sig.String()))
		go func() {
			<-sigs
			log.Warn("second signal: exiting without flushing")
			os.Exit(2)
		}()
	}
	n.drain(cfg.Server.DrainTimeout)
	return n.close(ctx)
}

// listen opens the gRPC port and, unless server.rest_port is empty, the
// REST port.
func listen(cfg Config) (net.Listener, net.Listener, error) {
	lis, err := net.Listen("tcp", cfg.Server.GRPCPort)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	if cfg.Server.RESTPort == "" {
		return lis, nil, nil
	}
	restLis, err := net.Listen("tcp", cfg.Server.RESTPort)
	if err != nil {
		lis.Close()
		return nil, nil, fmt.Errorf("listen (REST): %w", err)
	}
	tc, err := serverTLS(cfg, "http/1.1")
	if err != nil {
		lis.Close()
		restLis.Close()
		return nil, nil, err
	}
	if tc != nil {
		restLis = tls.NewListener(restLis, tc)
	}
	return lis, restLis, nil
}

func startNode(ctx context.Context, cfg Config, log *zap.Logger) (*node, error) {
	dir := cfg.Server.DataDir
	cat, bucket, err := openStores(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cacheDir, err := filepath.Abs(filepath.Join(dir, "cache"))
	if err != nil {
		return nil, err
	}
	cache, err := objstore.NewCache(objstore.CacheConfig{Dir: cacheDir, MaxBytes: cfg.Cache.MaxBytes}, bucket)
	if err != nil {
		cat.Close()
		return nil, err
	}
	n := &node{cfg: cfg, log: log, cat: cat, bucket: bucket, cache: cache, metrics: api.NewMetrics(cfg.Server.NodeID)}
	n.tel = api.NewTelemetry(api.TelemetryConfig{Log: log, Metrics: n.metrics, SlowQuery: slowQuery(cfg.Log),
		MaxRequestBytes: cfg.Server.MaxRequestBytes, MaxQueries: maxQueries(cfg.Query), TableExists: n.tableExists})
	buf := cfg.effectiveBuffer()
	// One memory cache: flushes fill it, verbatim scans read it. Nil
	// interfaces, not a nil *hotcache.Cache, when it is off.
	var hot ingest.HotFiles
	var memory query.MemoryFiles
	if cfg.Cache.MemoryBytes > 0 {
		c := hotcache.New(cfg.Cache.MemoryBytes, nil)
		hot, memory, n.hot = c, c, c
	}
	// The flush writes Parquet with DuckDB's writer (package duckwrite).
	if n.parquet, err = duckwrite.Open(); err != nil {
		cat.Close()
		return nil, err
	}
	n.ingest, err = ingest.Open(ctx, ingest.Config{
		WALDir: filepath.Join(dir, "wal"), NodeID: cfg.Server.NodeID, RefreshInterval: cfg.refreshInterval(), WALSegmentSize: cfg.WAL.SegmentSize, WALMaxBytes: cfg.WAL.MaxBytes,
		Partitions: cfg.Storage.Partitions, BufferSize: buf.BufferSize, FlushInterval: buf.FlushInterval,
		MaxMemory: buf.MaxMemory, MaxBuffered: buf.MaxBuffered, FlushConcurrency: buf.FlushWorkers,
		Overrides: cfg.tableOverrides(), Policy: tablePolicy(cfg.TableManagement), Observer: n.metrics,
		ShipWAL: cfg.WAL.shipped(), Decisions: decider(cat), PrepareTimeout: cfg.Cluster.PrepareTimeout, DecisionTTL: cfg.Cluster.decisionTTL(),
		Hot: hot, Parquet: n.parquet,
	}, cat, bucket, cache, log)
	if err != nil {
		n.parquet.Close()
		cat.Close()
		return nil, err
	}
	tmp, _ := filepath.Abs(filepath.Join(dir, "duckdb_tmp"))
	src, err := n.querySource()
	if err != nil {
		n.close(ctx)
		return nil, err
	}
	n.writes = n.tel.Ingester(n.writePath())
	n.engine, err = query.Open(query.Config{CacheDir: cacheDir, TempDir: tmp, Threads: cfg.Query.Threads,
		MemoryLimit: cfg.Query.MemoryLimit, MaxConcurrent: cfg.Query.MaxConcurrent, MaxTempSize: cfg.Query.MaxTempDirectorySize,
		MaxResultRows: cfg.Query.MaxResultRows, MaxResultBytes: cfg.Query.MaxResultBytes, Memory: memory}, api.NoteTables(src), cache)
	if err != nil {
		n.close(ctx)
		return nil, err
	}
	n.admission = queryAdmission{slots: auth.NewSlots(cfg.Query.MaxConcurrentPerUser), timeout: cfg.Query.Timeout}
	if n.auth, err = newAuthenticator(cfg); err != nil {
		n.close(ctx)
		return nil, err
	}
	key, err := handleKey(ctx, cat, cfg.Cluster.Secret)
	if err != nil {
		n.close(ctx)
		return nil, err
	}
	srv := flight.NewServer(flightIngester{n.ingest, n.writes}, flightQuerier{n.engine, n.tel, n.admission},
		flight.Config{Version: version, Auth: n.auth, Splitter: n.scanSplitter(), HandleKey: key})
	// NOTE: server.max_message_bytes is well above grpc-go's default 4 MiB:
	// 64K-row batches exceed it. A larger message gets grpc-go's own
	// RESOURCE_EXHAUSTED "received message larger than max (n vs. limit)",
	// written as the receive fails, so its text cannot name the setting.
	msgMax := cfg.Server.MaxMessageBytes
	opts := append(n.tel.GRPCOptions(), grpc.MaxRecvMsgSize(msgMax), grpc.MaxSendMsgSize(msgMax))
	opts = append(opts, flight.ServerOptions()...)
	n.stall = flight.NewStallGuard(cfg.Server.StreamIdleTimeout)
	opts = append(opts, grpc.ChainStreamInterceptor(n.stall.StreamInterceptor()))
	if n.auth != nil {
		unary, stream := flight.AuthInterceptors(n.auth, cfg.Cluster.Secret)
		opts = append(opts, grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream))
	}
	if n.limiter = auth.NewLimiter(cfg.Security.RateLimit); n.limiter != nil {
		unary, stream := flight.RateLimitInterceptors(n.limiter)
		opts = append(opts, grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream))
	}
	tc, err := serverTLS(cfg, "h2")
	if err != nil {
		n.close(ctx)
		return nil, err
	}
	if tc != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	n.grpc = grpc.NewServer(opts...)
	arrowflight.RegisterFlightServiceServer(n.grpc, flight.WithPeers(srv.FlightService(), n.ingest, cfg.Cluster.Secret))
	sources := api.Sources{Bucket: bucketName(cfg), Store: n.ingest, Cache: cache, Pools: n.pools}
	if n.hot != nil {
		sources.Memory = n.hot
	}
	n.metrics.Watch(sources)
	n.backups, n.dataBackup, n.stopBackup = startBackups(cfg, cat, bucket, n.ingest, cache.Forget, n.metrics.BackupFile, log)
	return n, nil
}

// startAPI registers the OlapService and the gRPC health service on the
// gRPC server (before it serves) and builds the REST server.
func (n *node) startAPI(grpcAddr string, restLis net.Listener) {
	engine := api.RunnerFunc(func(ctx context.Context, sql string) (api.Stream, error) {
		st, err := n.engine.Query(ctx, sql, nil)
		if err != nil {
			return nil, err
		}
		return st, nil
	})
	runner := n.tel.Runner(api.RunnerFunc(func(ctx context.Context, sql string) (api.Stream, error) {
		if err := flight.AuthorizeSQL(ctx, n.auth, n.engine, sql); err != nil {
			return nil, err
		}
		ctx, err := n.admission.admit(ctx)
		if err != nil {
			return nil, err
		}
		return engine(ctx, sql)
	}))
	cfg := n.cfg
	apiCfg := api.Config{NodeID: cfg.Server.NodeID, Version: version, GRPCAddr: grpcAddr, Bucket: bucketName(cfg),
		DefaultTable: cfg.TableManagement.DefaultTable, Defaults: tableDefaults(cfg), StreamIdleTimeout: cfg.Server.StreamIdleTimeout}
	if cfg.Metrics.Enabled {
		apiCfg.MetricsPath = cfg.Metrics.Path
	}
	if restLis != nil {
		apiCfg.RESTAddr = restLis.Addr().String()
	}
	walDir := filepath.Join(cfg.Server.DataDir, "wal")
	svc := api.New(apiCfg, api.Deps{
		Store: n.ingest, Ingest: n.writes, Query: runner, Catalog: n.cat, Cache: n.cache,
		Pools: n.pools, Telemetry: n.tel, Log: n.log, Auth: n.auth, Backups: n.backups, Data: n.dataBackup, Members: n.members,
		Checks: []api.Check{api.CatalogCheck(n.cat), api.BucketCheck(n.bucket),
			api.DiskCheck(walDir, max(2*cfg.WAL.SegmentSize, 64<<20)), api.QueryCheck(engine)},
	})
	olapv1.RegisterOlapServiceServer(n.grpc, svc)
	n.health = health.NewServer()
	healthpb.RegisterHealthServer(n.grpc, n.health)
	n.stopHealth = svc.WatchHealth(n.health, healthInterval, olapv1.OlapService_ServiceDesc.ServiceName, "arrow.flight.protocol.FlightService")
	if restLis != nil {
		n.rest = &http.Server{Handler: api.RequireAuth(n.auth, api.RateLimit(n.limiter, svc.Handler())), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: zap.NewStdLog(n.log.Named("http"))}
	}
}

// drain stops accepting calls and waits for the running ones, at most
// timeout. The health service says NOT_SERVING first, so load balancers
// stop sending.
func (n *node) drain(timeout time.Duration) {
	n.stopHealthWatch()
	if n.members != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := n.members.Drain(ctx); err != nil {
			n.log.Warn("could not mark this node draining in the cluster", zap.Error(err))
		}
		cancel()
	}
	if n.health != nil {
		n.health.Shutdown()
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		n.grpc.GracefulStop()
		close(done)
	}()
	if n.rest != nil {
		if err := n.rest.Shutdown(ctx); err != nil {
			n.log.Warn("REST drain timed out; closing its connections", zap.Error(err))
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		n.log.Warn("drain timed out; cancelling the remaining calls")
		n.grpc.Stop()
	}
}

func (n *node) stopHealthWatch() {
	if n.stopHealth != nil {
		n.stopHealth()
		n.stopHealth = nil
	}
}

// close flushes the buffers and closes everything the node opened.
func (n *node) close(ctx context.Context) error {
	var errs []error
	n.stopHealthWatch()
	if n.stopBackup != nil {
		n.stopBackup()
	}
	if n.stopAdopter != nil {
		n.stopAdopter()
	}
	if n.rest != nil {
		n.rest.Close()
	}
	if n.grpc != nil {
		n.grpc.Stop()
	}
	if n.engine != nil {
		n.engine.Close()
	}
	if n.peers != nil {
		n.peers.Close()
	}
	if n.ingest != nil {
		if err := n.ingest.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if n.parquet != nil {
		n.parquet.Close() // after the ingest's last flush
	}
	errs = append(errs, n.cache.Close()) // after the last query and flush
	errs = append(errs, leaveCluster(ctx, n.members), n.cat.Close())
	err := errors.Join(errs...)
	if err != nil {
		n.log.Error("shutdown", zap.Error(err))
	} else {
		n.log.Info("stopped cleanly")
	}
	return err
}

// pools lists the node's connection pools: DuckDB's query slots, and the
// Redis catalog's and S3 endpoints' connections when configured.
func (n *node) pools() []api.PoolStat {
	out := []api.PoolStat{n.tel.QueryPool()}
	st := poolStatus(n.cat, n.bucket)
	if r := st.Redis; r != nil {
		out = append(out, api.PoolStat{Name: "redis", Kind: "redis", Endpoint: r.Where, State: "ok",
			Active: int64(r.TotalConns) - int64(r.IdleConns), Idle: int64(r.IdleConns), Max: int64(r.PoolSize),
			Hits: int64(r.Hits), Misses: int64(r.Misses), Timeouts: int64(r.Timeouts),
			Requests: int64(r.Commands), Failures: int64(r.Errors), LastErr: r.LastError})
	}
	for _, p := range st.MinIO {
		out = append(out, api.PoolStat{Name: "minio-" + p.Name, Kind: "s3", Endpoint: p.Endpoint, State: p.Breaker,
			Active: p.InFlight, Idle: max(0, p.OpenConns-p.InFlight), Max: int64(p.MaxConnsPerHost),
			Requests: int64(p.Requests), Failures: int64(p.Failures), LastErr: p.LastError})
	}
	return out
}

// tableExists reports whether the node has the table (for metrics labels;
// false until the ingest service is open).
func (n *node) tableExists(name string) bool {
	if n.ingest == nil {
		return false
	}
	_, err := n.ingest.TableSchema(name)
	return err == nil
}

// flightIngester gives Flight SQL the node's ingest service with its
// ingests measured like the row APIs' (the DDL goes straight through).
type flightIngester struct {
	*ingest.Service
	measured api.Ingester
}

func (f flightIngester) Ingest(ctx context.Context, req ingest.Request) (int64, error) {
	return f.measured.Ingest(ctx, req)
}

// flightQuerier gives Flight SQL the engine with its queries measured: a
// DoGet's query counts until its stream's context ends.
type flightQuerier struct {
	*query.Engine
	tel       *api.Telemetry
	admission queryAdmission
}

func (q flightQuerier) Query(ctx context.Context, sql string, params arrow.RecordBatch) (*query.Stream, error) {
	failed := q.tel.QueryStarted(ctx, sql)
	ctx, err := q.admission.admit(ctx)
	if err != nil {
		failed(err)
		return nil, err
	}
	st, err := q.Engine.Query(ctx, sql, params)
	if err != nil {
		failed(err)
	}
	return st, err
}

// tablePolicy turns the table_management section into ingest's policy.
func tablePolicy(c TableManagementConfig) ingest.TablePolicy {
	p := ingest.TablePolicy{NoAutoCreate: !c.AutoCreateTables, MaxTables: c.MaxTables}
	if c.TableNamePattern != "" && c.TableNamePattern != ingest.TableNamePattern {
		p.NamePattern = regexp.MustCompile(c.TableNamePattern) // NOTE: Validate compiled it already
	}
	return p
}

func slowQuery(c LogConfig) time.Duration {
	if c.SlowQueryThreshold <= 0 {
		return -1 // disabled
	}
	return c.SlowQueryThreshold
}

func maxQueries(c QueryConfig) int {
	if c.MaxConcurrent > 0 {
		return c.MaxConcurrent
	}
	return 2 * runtime.NumCPU() // the engine's default
}

// tableDefaults is tables.default_config as a table config.
func tableDefaults(cfg Config) catalog.TableConfig {
	d := cfg.Tables["default_config"]
	return catalog.TableConfig{BufferSize: d.BufferSize, FlushIntervalSeconds: int64(d.FlushInterval / time.Second),
		RetentionDays: d.RetentionDays, BackupEnabled: d.BackupEnabled, Properties: d.Properties}
}

// bucketName labels the object store in stats and metrics.
func bucketName(cfg Config) string {
	if cfg.MinIO.Endpoint != "" {
		return cfg.MinIO.Bucket
	}
	return filepath.Join(cfg.Server.DataDir, "objects")
}

func newLogger(c LogConfig) (*zap.Logger, error) {
	zc := zap.NewProductionConfig()
	if c.Format == "console" {
		zc = zap.NewDevelopmentConfig()
	}
	if err := zc.Level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log.level %q: %w", c.Level, err)
	}
	return zc.Build()
}
