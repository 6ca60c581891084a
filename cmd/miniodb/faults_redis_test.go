package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/miniodb/miniodb/testenv"
)

// Redis going away and coming back under continuous ingest: the node
// reconnects by itself, flushes that failed meanwhile are retried, and
// every acknowledged row ends up flushed exactly once.
func TestFaultRedisRestart(t *testing.T) {
	tests := []struct {
		name  string
		fault func(r *testenv.RedisServer)
	}{
		{"redis_restarted", func(r *testenv.RedisServer) { r.Restart() }},
		{"redis_killed_and_down_3s", func(r *testenv.RedisServer) { r.Kill(); time.Sleep(3 * time.Second); r.Start() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newStoreEnv(t)
			s := startServer(t, t.TempDir(), "--config", env.config(t, "buffer:\n  buffer_size: 2000\n  flush_interval: 500ms\n"))
			c := s.client()
			cat := env.catalog(t)
			led := newBatchLedger(500)
			loop := startIngestLoop(c, led, "events", 0, 50*time.Millisecond)
			defer loop.stop()
			waitUntil(t, 30*time.Second, "first flush", func() bool { return catalogRows(t, cat, "events") > 0 })

			tt.fault(env.redis)
			time.Sleep(2 * time.Second)
			loop.stop()
			// A table created after the fault goes through the catalog too.
			if err := newBatchLedger(10).send(c, "after_fault", 0); err != nil {
				t.Fatalf("create a table after the fault: %v", err)
			}

			waitUntil(t, 60*time.Second, "every acknowledged row flushed", func() bool {
				return catalogRows(t, cat, "events") == countRows(t, c, "events")
			})
			led.verifyExactlyOnce(t, c, "events")
			if len(led.acked) == 0 || len(led.uncertain) > 0 || len(led.refused) > 0 {
				t.Fatalf("ingest into an existing table should not notice the catalog: %s", led.summary())
			}
			t.Logf("%s: %s", tt.name, led.summary())
		})
	}
}

// After FLUSHALL the catalog is empty although the node's data exists.
// The running node stops committing to it (flushes fail and the rows stay
// in the WAL), and `miniodb serve` refuses to start on it, on this node and
// on a fresh one, explaining how to rebuild - and deletes nothing.
func TestFaultRedisFlushAll(t *testing.T) {
	env := newStoreEnv(t)
	dir := t.TempDir()
	cfg := env.config(t, "buffer:\n  buffer_size: 1000\n  flush_interval: 500ms\n")
	s := startServer(t, dir, "--config", cfg)
	c := s.client()
	cat := env.catalog(t)
	led := newBatchLedger(1000)
	for b := range int64(3) {
		if err := led.send(c, "events", b); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 30*time.Second, "flush", func() bool { return catalogRows(t, cat, "events") == 3000 })
	objects := env.objects(t)

	env.redis.Do("FLUSHALL")
	if err := led.send(c, "events", 3); err != nil { // into the WAL; its flush must not commit
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the running node's flush notices", func() bool {
		for _, line := range strings.Split(s.logs.String(), "\n") {
			if strings.Contains(line, "flush failed") && strings.Contains(line, "catalog identity lost") {
				return true
			}
		}
		return false
	})
	err := newBatchLedger(10).send(c, "created_after_flushall", 0)
	wantCode(t, err, codes.Unavailable, "catalog identity lost")
	if keys := env.redis.Do("KEYS", "*"); keys != "" {
		t.Fatalf("the node wrote into the flushed Redis: %s", keys)
	}
	s.kill()

	marker := filepath.Join(dir, "catalog.id")
	out := serveFails(t, dir, "--config", cfg)
	mustContain(t, out, "refusing to start", "is empty", marker, "write-ahead log", "table objects", "miniodb backup rebuild-catalog")
	out = serveFails(t, t.TempDir(), "--config", cfg) // a new node on the same stores
	mustContain(t, out, "refusing to start", "already has data", "table objects", "rebuild-catalog")

	if got := env.objects(t); len(got) != len(objects) {
		t.Fatalf("objects before FLUSHALL: %d, after the refused starts: %d", len(objects), len(got))
	}
	if keys := env.redis.Do("KEYS", "*"); keys != "" {
		t.Fatalf("a refused start wrote into Redis: %s", keys)
	}
	if id, err := cat.ID(context.Background()); id != "" || err != nil {
		t.Fatalf("catalog identity after refused starts: %q, %v", id, err)
	}
}

// The catalog identity: a fresh node on an empty Redis creates it, a
// restart finds it, and a node whose marker names another catalog is
// refused.
func TestFaultCatalogIdentity(t *testing.T) {
	env := newStoreEnv(t)
	dir := t.TempDir()
	cfg := env.config(t, "")
	s := startServer(t, dir, "--config", cfg)
	led := newBatchLedger(10)
	if err := led.send(s.client(), "t", 0); err != nil {
		t.Fatal(err)
	}
	s.stop()
	marker, ok, err := readMarker(dir)
	if err != nil || !ok {
		t.Fatalf("marker after first start: %+v %v %v", marker, ok, err)
	}
	s.restart()
	if n := countRows(t, s.client(), "t"); n != 10 {
		t.Fatalf("after restart: %d rows", n)
	}
	s.kill()
	env.redis.Do("SET", "miniodb:{"+env.namespace+"}:id", "another-catalog")
	out := serveFails(t, dir, "--config", cfg)
	mustContain(t, out, "refusing to start", "holds catalog another-catalog", marker.ID)
}
