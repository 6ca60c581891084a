package catalog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/testenv"
)

// openRedis opens a catalog in a fresh namespace of cfg's Redis and gives
// it an identity.
func openRedis(t *testing.T, cfg RedisConfig) *Redis {
	t.Helper()
	if cfg.Namespace == "" {
		cfg.Namespace = testenv.Name("ns")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := OpenRedis(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.InitID(ctx, NewID()); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRedisAcceptance(t *testing.T) {
	tests := []struct {
		mode  string
		start func(t *testing.T) RedisConfig
	}{
		{"standalone", func(t *testing.T) RedisConfig { return RedisConfig{Addr: testenv.Redis(t).Addr} }},
		{"sentinel", func(t *testing.T) RedisConfig {
			s := testenv.RedisSentinel(t)
			return RedisConfig{Mode: "sentinel", MasterName: s.MasterName, SentinelAddrs: s.SentinelAddrs}
		}},
		{"cluster", func(t *testing.T) RedisConfig {
			return RedisConfig{Mode: "cluster", ClusterAddrs: testenv.RedisCluster(t).Addrs}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			cfg := tt.start(t)
			AcceptanceTest(t, func(t *testing.T) Catalog { return openRedis(t, cfg) })
		})
	}
}

var testSchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)

func TestRedisFaults(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, srv *testenv.RedisServer, c *Redis)
	}{
		{"flushall_refuses_every_call", func(t *testing.T, srv *testenv.RedisServer, c *Redis) {
			mustOK(t, c.CreateTable(ctx, Table{Name: "t", Schema: testSchema}))
			srv.Do("FLUSHALL")
			_, err := c.Table(ctx, "t")
			wantErr(t, err, ErrCatalogLost)
			_, err = c.Tables(ctx)
			wantErr(t, err, ErrCatalogLost)
			wantErr(t, c.CommitFlush(ctx, "t", "n1", nil, 9), ErrCatalogLost)
			wantErr(t, c.CreateTable(ctx, Table{Name: "u", Schema: testSchema}), ErrCatalogLost)
			_, err = c.Version(ctx)
			wantErr(t, err, ErrCatalogLost)
			if keys := srv.Do("KEYS", "*"); keys != "" {
				t.Fatalf("a refused call wrote to the flushed Redis: %q", keys)
			}
			if id, err := c.ID(ctx); id != "" || err != nil {
				t.Fatalf("ID after FLUSHALL = %q, %v", id, err)
			}
		}},
		{"restart_reconnects", func(t *testing.T, srv *testenv.RedisServer, c *Redis) {
			mustOK(t, c.CreateTable(ctx, Table{Name: "t", Schema: testSchema}))
			srv.Restart()
			mustOK(t, c.CommitFlush(ctx, "t", "n1", []File{{Key: "k1", Table: "t"}}, 1))
			files, err := c.Files(ctx, "t")
			if err != nil || len(files) != 1 {
				t.Fatalf("after restart: files %v, %v", files, err)
			}
		}},
		{"restart_during_commits_loses_no_acknowledged_commit", func(t *testing.T, srv *testenv.RedisServer, c *Redis) {
			mustOK(t, c.CreateTable(ctx, Table{Name: "t", Schema: testSchema}))
			var acked []string
			done := make(chan struct{})
			go func() {
				defer close(done)
				for lsn := uint64(1); lsn <= 300; lsn++ {
					key := fmt.Sprintf("k%04d", lsn)
					if err := c.CommitFlush(ctx, "t", "n1", []File{{Key: key, Table: "t"}}, lsn); err == nil {
						acked = append(acked, key)
					}
					time.Sleep(2 * time.Millisecond)
				}
			}()
			time.Sleep(100 * time.Millisecond)
			srv.Kill() // no goodbye: AOF with fsync always still has every acked write
			time.Sleep(200 * time.Millisecond)
			srv.Start()
			<-done
			files, err := c.Files(ctx, "t")
			mustOK(t, err)
			got := map[string]bool{}
			for _, f := range files {
				got[f.Key] = true
			}
			for _, k := range acked {
				if !got[k] {
					t.Fatalf("acknowledged commit %s is missing after the restart", k)
				}
			}
			if len(acked) < 150 {
				t.Fatalf("only %d of 300 commits acknowledged around a short outage", len(acked))
			}
		}},
		{"version_rollback_detected", func(t *testing.T, srv *testenv.RedisServer, c *Redis) {
			mustOK(t, c.CreateTable(ctx, Table{Name: "t", Schema: testSchema}))
			mustOK(t, c.CommitFlush(ctx, "t", "n1", nil, 1))
			srv.Do("SET", c.keys.version, "1") // as if Redis restarted from an older snapshot
			_, err := c.Table(ctx, "t")
			wantErr(t, err, ErrCatalogLost)
		}},
		{"other_identity_refused", func(t *testing.T, srv *testenv.RedisServer, c *Redis) {
			wantErr(t, c.InitID(ctx, NewID()), ErrCatalogLost)
			srv.Do("SET", c.keys.id, NewID()) // another catalog took the namespace
			_, err := c.Tables(ctx)
			wantErr(t, err, ErrCatalogLost)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testenv.Redis(t)
			tt.run(t, srv, openRedis(t, RedisConfig{Addr: srv.Addr}))
		})
	}
}

// Two nodes committing at once: every commit lands, and the version counts
// every change exactly once.
func TestRedisConcurrentCommits(t *testing.T) {
	srv := testenv.Redis(t)
	ctx := context.Background()
	a := openRedis(t, RedisConfig{Addr: srv.Addr, Namespace: "shared"})
	b, err := OpenRedis(ctx, RedisConfig{Addr: srv.Addr, Namespace: "shared"})
	mustOK(t, err)
	defer b.Close()
	v0, _ := a.Version(ctx)
	var wg sync.WaitGroup
	for i, c := range []*Redis{a, b, a, b} {
		table := fmt.Sprintf("t%d", i)
		mustOK(t, c.CreateTable(ctx, Table{Name: table, Schema: testSchema}))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lsn := uint64(1); lsn <= 25; lsn++ {
				if err := c.CommitFlush(ctx, table, "n1", []File{{Key: fmt.Sprintf("%s/%d", table, lsn), Table: table}}, lsn); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 3 { // readers racing the writers: slow reads overtaken by fast ones are no rollback
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := a.Version(ctx); err != nil {
					t.Error(err)
					return
				}
				if _, err := a.Tables(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	v1, _ := b.Version(ctx)
	if v1-v0 != 4+4*25 {
		t.Fatalf("version moved by %d, want %d", v1-v0, 4+4*25)
	}
	for i := range 4 {
		files, err := b.Files(ctx, fmt.Sprintf("t%d", i))
		if err != nil || len(files) != 25 {
			t.Fatalf("t%d: %d files, %v", i, len(files), err)
		}
	}
	if st := a.Stats(); st.TotalConns == 0 || st.Commands == 0 || st.Errors != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

// Every key lives under miniodb:{<ns>}: with one hash tag, and the layout
// in docs/format/redis-catalog.md names exactly the keys the code writes.
func TestRedisKeyLayout(t *testing.T) {
	srv := testenv.Redis(t)
	ctx := context.Background()
	c := openRedis(t, RedisConfig{Addr: srv.Addr, Namespace: "prod"})
	mustOK(t, c.CreateTable(ctx, Table{Name: "events", Schema: testSchema}))
	mustOK(t, c.CommitFlush(ctx, "events", "n1", []File{{Key: "tables/events/x.parquet", Table: "events"}}, 1))
	mustOK(t, c.Heartbeat(ctx, Node{ID: "n1", Addr: "127.0.0.1:8080"}, time.Minute))
	_, err := c.Decide(ctx, "01J0TXN", true, time.Minute)
	mustOK(t, err)
	keys := strings.Fields(srv.Do("KEYS", "*"))
	sort.Strings(keys)
	want := []string{"miniodb:{prod}:files:events", "miniodb:{prod}:id", "miniodb:{prod}:leases", "miniodb:{prod}:nodes",
		"miniodb:{prod}:tables", "miniodb:{prod}:txn:01J0TXN", "miniodb:{prod}:version"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "format", "redis-catalog.md"))
	mustOK(t, err)
	documented := map[string]bool{}
	for _, d := range regexp.MustCompile(`miniodb:\{<ns>\}:[a-z]+`).FindAllString(string(doc), -1) {
		documented[d] = true
	}
	written := map[string]bool{}
	for _, k := range keys {
		pattern := strings.TrimSuffix(strings.TrimSuffix(strings.Replace(k, "{prod}", "{<ns>}", 1), ":events"), ":01J0TXN")
		written[pattern] = true
		if !documented[pattern] {
			t.Errorf("key %s (%s) is not in docs/format/redis-catalog.md", k, pattern)
		}
	}
	for d := range documented {
		if !written[d] {
			t.Errorf("docs/format/redis-catalog.md names %s, which the catalog never writes", d)
		}
	}
	if !errors.Is(c.CreateTable(ctx, Table{Name: "events"}), ErrTableExists) {
		t.Fatal("duplicate CreateTable succeeded")
	}
}
