package testenv

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
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
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *MinIOServer
	}{{"http", MinIO}, {"https", MinIOTLS}} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.start(t)
			if err := m.ready(); err != nil {
				t.Fatal(err)
			}
			m.Stop()
			if err := m.ready(); err == nil {
				t.Fatal("MinIO still answers after Stop")
			}
			m.Start()
			if err := m.ready(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A TLS server's certificate chains to its CA, and to no system root.
func TestMinIOTLSCertificate(t *testing.T) {
	m := MinIOTLS(t)
	pem, err := os.ReadFile(m.CAFile)
	if err != nil || !bytes.Equal(pem, m.CA.PEM) {
		t.Fatalf("CAFile %s: %v, holds the CA: %v", m.CAFile, err, bytes.Equal(pem, m.CA.PEM))
	}
	c := &http.Client{Timeout: 5 * time.Second}
	_, err = c.Get("https://" + m.Endpoint + "/minio/health/ready")
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Fatalf("GET without the CA: %v, want a certificate verification error", err)
	}
	// Go's TLS server answers a plain HTTP request with 400.
	if resp, err := c.Get("http://" + m.Endpoint + "/minio/health/ready"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP: %s, want 400 (HTTPS only)", resp.Status)
		}
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
