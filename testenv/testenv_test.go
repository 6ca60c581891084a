package testenv

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestRedisStopStartKeepsData(t *testing.T) {
	r := Redis(t)
	r.Do("SET", "k", "v")
	r.Restart()
	if got := r.Do("GET", "k"); got != "v" {
		t.Fatalf("after restart GET k = %q, want v", got)
	}
	r.Kill()
	r.Start()
	if got := r.Do("GET", "k"); got != "v" {
		t.Fatalf("after SIGKILL GET k = %q, want v", got)
	}
}

func TestRedisSentinelAndCluster(t *testing.T) {
	s := RedisSentinel(t)
	if len(s.SentinelAddrs) != 1 || s.MasterName == "" {
		t.Fatalf("sentinel env %+v", s)
	}
	c := RedisCluster(t)
	if got := c.Nodes[0].Do("cluster", "info"); !strings.Contains(got, "cluster_known_nodes:3") {
		t.Fatalf("cluster info: %s", got)
	}
}

func TestMinIOStopStart(t *testing.T) {
	m := MinIO(t)
	if err := minioReady(m.Endpoint); err != nil {
		t.Fatal(err)
	}
	m.Stop()
	if err := minioReady(m.Endpoint); err == nil {
		t.Fatal("MinIO still answers after Stop")
	}
	m.Start()
	if err := minioReady(m.Endpoint); err != nil {
		t.Fatal(err)
	}
}

// The Makefile installs the same MinIO version the tests look for.
func TestMakefilePinsMinIOVersion(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^MINIO_VERSION\s*:?=\s*(\S+)`).FindSubmatch(b)
	if m == nil || string(m[1]) != MinIOVersion {
		t.Fatalf("Makefile MINIO_VERSION = %q, want %q", m, MinIOVersion)
	}
}
