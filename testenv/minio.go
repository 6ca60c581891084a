package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// MinIOServer is one MinIO server child process.
type MinIOServer struct {
	Endpoint  string // 127.0.0.1:<port>, plain HTTP
	AccessKey string
	SecretKey string
	Dir       string // the drive folder
	proc      *process
}

// MinIO starts a single-drive MinIO server for the test.
func MinIO(t testing.TB) *MinIOServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bin, err := MinIOBinary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	port, console := freePort(t), freePort(t)
	dir := tempDir(t, "minio")
	m := &MinIOServer{Endpoint: loopback(port), AccessKey: "mdb" + randHex(6), SecretKey: randHex(16), Dir: dir}
	data := filepath.Join(dir, "data")
	m.proc = &process{
		t: t, name: "minio", bin: bin, logPath: filepath.Join(dir, "minio.log"),
		args: []string{"server", "--quiet", "--address", m.Endpoint, "--console-address", loopback(console), data},
		env: []string{
			"MINIO_ROOT_USER=" + m.AccessKey, "MINIO_ROOT_PASSWORD=" + m.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1",
		},
		ready: func() error { return minioReady(m.Endpoint) },
	}
	m.proc.start()
	m.proc.register()
	return m
}

// Stop shuts the server down with SIGTERM.
func (m *MinIOServer) Stop() { m.proc.stop() }

// Kill SIGKILLs the server.
func (m *MinIOServer) Kill() { m.proc.kill() }

// Start starts a stopped server again on the same address and drive.
func (m *MinIOServer) Start() { m.proc.t.Helper(); m.proc.start() }

// Running reports whether the process is up.
func (m *MinIOServer) Running() bool { return m.proc.running() }

// minioReady is nil once the server serves S3 requests.
func minioReady(endpoint string) error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + endpoint + "/minio/health/ready")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health/ready: %s", resp.Status)
	}
	// NOTE: health/ready can say OK while the object layer still answers
	// 503 "Server not initialized yet"; an anonymous ListBuckets answers
	// 403 only once it is up.
	resp, err = c.Get("http://" + endpoint + "/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		return fmt.Errorf("object layer: %s", resp.Status)
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Name returns a fresh lower-case name usable as a bucket or key prefix.
func Name(prefix string) string { return prefix + "-" + randHex(6) }
