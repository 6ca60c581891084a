package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	arrowflight "github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/flight"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/objstore"
	"github.com/miniodb/miniodb/query"
)

// maxMessageBytes bounds one gRPC message: 64K-row batches exceed grpc-go's
// default 4 MiB.
const maxMessageBytes = 256 << 20

func newServeCmd() *cobra.Command {
	var configPath, dataDir, grpcAddr string
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
	f.BoolVar(&insecure, "insecure", false, "allow a non-loopback address without authentication")
	f.BoolVar(&checkOnly, "check-config", false, "validate the configuration and exit")
	return cmd
}

// node is everything one running server owns, closed in reverse order.
type node struct {
	log    *zap.Logger
	cat    catalog.Catalog
	ingest *ingest.Service
	engine *query.Engine
	grpc   *grpc.Server
}

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
	lis, err := net.Listen("tcp", cfg.Server.GRPCPort)
	if err != nil {
		n.close(ctx)
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("serving Flight SQL", zap.String("addr", lis.Addr().String()), zap.String("data_dir", cfg.Server.DataDir))
	served := make(chan error, 1)
	go func() { served <- n.grpc.Serve(lis) }()
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
	n := &node{log: log, cat: cat}
	buf := cfg.effectiveBuffer()
	n.ingest, err = ingest.Open(ctx, ingest.Config{
		WALDir: filepath.Join(dir, "wal"), WALSegmentSize: cfg.WAL.SegmentSize, WALMaxBytes: cfg.WAL.MaxBytes,
		Partitions: cfg.Storage.Partitions, BufferSize: buf.BufferSize, FlushInterval: buf.FlushInterval,
		MaxMemory: buf.MaxMemory, MaxBuffered: buf.MaxBuffered, FlushConcurrency: buf.FlushWorkers,
		Overrides: cfg.tableOverrides(),
	}, cat, bucket, cache, log)
	if err != nil {
		cat.Close()
		return nil, err
	}
	tmp, _ := filepath.Abs(filepath.Join(dir, "duckdb_tmp"))
	n.engine, err = query.Open(query.Config{CacheDir: cacheDir, TempDir: tmp, Threads: cfg.Query.Threads,
		MemoryLimit: cfg.Query.MemoryLimit, MaxConcurrent: cfg.Query.MaxConcurrent}, n.ingest, cache)
	if err != nil {
		n.close(ctx)
		return nil, err
	}
	srv := flight.NewServer(n.ingest, querier{n.engine})
	n.grpc = grpc.NewServer(grpc.MaxRecvMsgSize(maxMessageBytes), grpc.MaxSendMsgSize(maxMessageBytes))
	arrowflight.RegisterFlightServiceServer(n.grpc, srv.FlightService())
	return n, nil
}

// drain stops accepting calls and waits for the running ones, at most
// timeout.
func (n *node) drain(timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		n.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		n.log.Warn("drain timed out; cancelling the remaining calls")
		n.grpc.Stop()
	}
}

// close flushes the buffers and closes everything the node opened.
func (n *node) close(ctx context.Context) error {
	var errs []error
	if n.grpc != nil {
		n.grpc.Stop()
	}
	if n.engine != nil {
		n.engine.Close()
	}
	if n.ingest != nil {
		if err := n.ingest.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, n.cat.Close())
	err := errors.Join(errs...)
	if err != nil {
		n.log.Error("shutdown", zap.Error(err))
	} else {
		n.log.Info("stopped cleanly")
	}
	return err
}

// querier adapts the engine to the Flight server's Querier.
type querier struct{ e *query.Engine }

func (q querier) Schema(ctx context.Context, sql string) (*arrow.Schema, error) {
	return q.e.Schema(ctx, sql)
}

func (q querier) Run(ctx context.Context, sql string) (flight.ResultStream, error) {
	return q.e.Query(ctx, sql)
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
