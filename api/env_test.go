package api

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
	"github.com/miniodb/miniodb/backup"
	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/objstore"
	"github.com/miniodb/miniodb/query"
)

// env is one in-process node: real catalog (bbolt), object store (folder),
// ingest, DuckDB engine and API, served over REST (httptest) and gRPC
// (bufconn) behind the same telemetry as `miniodb serve`.
type env struct {
	t       *testing.T
	svc     *Service
	ingest  *ingest.Service
	metrics *Metrics
	logs    *observer.ObservedLogs
	rest    *httptest.Server
	conn    *grpc.ClientConn
	olap    olapv1.OlapServiceClient
	health  *health.Server
	mem     *memory.CheckedAllocator
}

type envOpts struct {
	policy     ingest.TablePolicy
	maxRequest int64
	slowQuery  time.Duration
	overrides  map[string]catalog.TableConfig
	checks     []Check // replaces the real probes
	defaults   catalog.TableConfig
	dataBackup bool // a backup bucket (a second folder) for TriggerBackup and RecoverData
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	cat, err := catalog.OpenBolt(filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := objstore.NewFileBucket(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := objstore.NewCache(objstore.CacheConfig{Dir: filepath.Join(dir, "cache")}, bucket)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics("node-t")
	e := &env{t: t, metrics: m, logs: logs, mem: memory.NewCheckedAllocator(memory.NewGoAllocator())}
	e.ingest, err = ingest.Open(ctx, ingest.Config{WALDir: filepath.Join(dir, "wal"), NoSync: true, Partitions: 2,
		Overrides: o.overrides, Policy: o.policy, Observer: m}, cat, bucket, cache, log)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := query.Open(query.Config{CacheDir: filepath.Join(dir, "cache"), TempDir: filepath.Join(dir, "tmp"), Threads: 1},
		NoteTables(e.ingest), cache)
	if err != nil {
		t.Fatal(err)
	}
	tel := NewTelemetry(TelemetryConfig{Log: log, Metrics: m, SlowQuery: o.slowQuery, MaxRequestBytes: o.maxRequest, MaxQueries: 4,
		TableExists: func(name string) bool { _, err := e.ingest.TableSchema(name); return err == nil }})
	raw := RunnerFunc(func(ctx context.Context, sql string) (Stream, error) {
		st, err := engine.Query(ctx, sql, nil)
		if err != nil {
			return nil, err
		}
		return st, nil
	})
	checks := o.checks
	if checks == nil {
		checks = []Check{CatalogCheck(cat), BucketCheck(bucket), DiskCheck(filepath.Join(dir, "wal"), 1), QueryCheck(raw)}
	}
	var data DataBackups
	if o.dataBackup {
		dst, err := objstore.NewFileBucket(filepath.Join(dir, "backup"))
		if err != nil {
			t.Fatal(err)
		}
		data = backup.NewDataBackup(backup.DataConfig{Live: e.ingest}, cat, bucket, dst, e.ingest)
	}
	m.Watch(Sources{Bucket: "objects", Store: e.ingest, Cache: cache, Pools: func() []PoolStat { return []PoolStat{tel.QueryPool()} }})
	e.svc = New(Config{NodeID: "node-t", Version: "test", GRPCAddr: "bufconn", RESTAddr: "httptest", Bucket: "objects",
		MetricsPath: "/metrics", Defaults: o.defaults}, Deps{
		Store: e.ingest, Ingest: tel.Ingester(e.ingest), Query: tel.Runner(raw), Catalog: cat, Cache: cache,
		Pools: func() []PoolStat { return []PoolStat{tel.QueryPool()} }, Checks: checks, Telemetry: tel, Log: log, Mem: e.mem,
		Backups: backup.New(backup.Config{NodeID: "node-t"}, cat, bucket, nil), Data: data,
	})
	e.rest = httptest.NewServer(e.svc.Handler())
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(tel.GRPCOptions()...)
	olapv1.RegisterOlapServiceServer(srv, e.svc)
	e.health = health.NewServer()
	healthpb.RegisterHealthServer(srv, e.health)
	go srv.Serve(lis)
	e.conn, err = grpc.NewClient("passthrough:///bufconn", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	e.olap = olapv1.NewOlapServiceClient(e.conn)
	t.Cleanup(func() {
		e.conn.Close()
		srv.Stop()
		e.rest.Close()
		engine.Close()
		if err := e.ingest.Close(ctx); err != nil {
			t.Errorf("close ingest: %v", err)
		}
		cat.Close()
		e.mem.AssertSize(t, 0)
	})
	return e
}

// do sends a REST request and returns the response and its body.
func (e *env) do(method, path, contentType, body string, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.rest.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, b
}

// mustDo is do expecting a status.
func (e *env) mustDo(want int, method, path, body string) []byte {
	e.t.Helper()
	resp, b := e.do(method, path, "application/json", body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return b
}
