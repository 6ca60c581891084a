package api

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
	"github.com/miniodb/miniodb/objstore"
)

// Check is one component's health probe: nil means healthy. A probe must
// honour its context's deadline.
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

const (
	healthy   = "healthy"
	unhealthy = "unhealthy"
)

// health runs every probe at once, each bounded by HealthTimeout.
func (s *Service) health(ctx context.Context) *olapv1.HealthCheckResponse {
	resp := &olapv1.HealthCheckResponse{Status: healthy, Timestamp: timestamppb.New(s.d.Now()),
		Version: s.cfg.Version, NodeId: s.cfg.NodeID, Details: map[string]string{},
		Components: make([]*olapv1.ComponentHealth, len(s.d.Checks))}
	var wg sync.WaitGroup
	for i, c := range s.d.Checks {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, s.cfg.HealthTimeout)
			defer cancel()
			start := time.Now()
			err := c.Probe(pctx)
			ch := &olapv1.ComponentHealth{Name: c.Name, Status: healthy, LatencyMs: float64(time.Since(start).Microseconds()) / 1000}
			if err != nil {
				ch.Status, ch.Message = unhealthy, err.Error()
			}
			resp.Components[i] = ch
		})
	}
	wg.Wait()
	for _, c := range resp.Components {
		resp.Details[c.Name] = c.Status
		if c.Status != healthy {
			resp.Status = unhealthy
		}
	}
	return resp
}

// WatchHealth keeps the standard gRPC health service in step with the
// probes: every interval it sets the overall status ("") and that of the
// node's services to SERVING or NOT_SERVING. The returned stop ends the
// watcher and waits for it.
func (s *Service) WatchHealth(hs *health.Server, every time.Duration, services ...string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	update := func() {
		st := healthpb.HealthCheckResponse_SERVING
		if h := s.health(ctx); h.Status != healthy && ctx.Err() == nil {
			st = healthpb.HealthCheckResponse_NOT_SERVING
			s.d.Log.Warn("node unhealthy", zap.Any("components", h.Details))
		}
		if ctx.Err() != nil {
			return
		}
		for _, svc := range append([]string{""}, services...) {
			hs.SetServingStatus(svc, st)
		}
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			update()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// CatalogCheck probes a catalog by reading its version.
func CatalogCheck(cat interface {
	Version(ctx context.Context) (uint64, error)
}) Check {
	return Check{Name: "catalog", Probe: func(ctx context.Context) error {
		_, err := cat.Version(ctx)
		return err
	}}
}

// BucketCheck probes an object store by describing a key that need not
// exist: not-found is an answer, and so healthy.
func BucketCheck(b objstore.BucketReader) Check {
	return Check{Name: "object_store", Probe: func(ctx context.Context) error {
		_, err := b.Stat(ctx, "health/probe")
		if err == nil || errors.Is(err, objstore.ErrNotFound) {
			return nil
		}
		return err
	}}
}

// DiskCheck probes the WAL's disk: the folder must take a new file, and
// hold at least minFree bytes free.
func DiskCheck(dir string, minFree int64) Check {
	return Check{Name: "wal_disk", Probe: func(context.Context) error {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return fmt.Errorf("statfs %s: %w", dir, err)
		}
		free := int64(st.Bavail) * int64(st.Bsize)
		if free < minFree {
			return fmt.Errorf("%s has %d bytes free, below the %d needed", dir, free, minFree)
		}
		f, err := os.CreateTemp(dir, ".health-*")
		if err != nil {
			return fmt.Errorf("%s does not take new files: %w", dir, err)
		}
		name := f.Name()
		f.Close()
		return os.Remove(filepath.Clean(name))
	}}
}

// QueryCheck probes DuckDB with SELECT 1.
func QueryCheck(r Runner) Check {
	return Check{Name: "duckdb", Probe: func(ctx context.Context) error {
		st, err := r.Run(ctx, "SELECT 1 AS ok")
		if err != nil {
			return err
		}
		defer st.Close()
		for st.Next() {
		}
		return st.Err()
	}}
}
