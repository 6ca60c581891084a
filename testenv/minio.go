package testenv

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// MinIOServer is one MinIO server child process.
type MinIOServer struct {
	Endpoint  string // 127.0.0.1:<port>
	AccessKey string
	SecretKey string
	Dir       string // the drive folder
	CA        *CA    // MinIOTLS: the CA that signed the server's certificate
	CAFile    string // MinIOTLS: CA.PEM's file
	proc      *process
	url       string       // scheme://Endpoint
	http      *http.Client // trusts CA
}

// MinIO starts a single-drive MinIO server for the test, on plain HTTP.
func MinIO(t testing.TB) *MinIOServer {
	t.Helper()
	return startMinIO(t, false)
}

// MinIOTLS starts a single-drive MinIO server that serves HTTPS only, with
// a certificate for 127.0.0.1 signed by a CA made for the test (CA, CAFile).
func MinIOTLS(t testing.TB) *MinIOServer {
	t.Helper()
	return startMinIO(t, true)
}

func startMinIO(t testing.TB, secure bool) *MinIOServer {
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
	args := []string{"server", "--quiet", "--address", m.Endpoint, "--console-address", loopback(console)}
	m.http, m.url = &http.Client{Timeout: time.Second}, "http://"+m.Endpoint
	if secure {
		// MinIO takes its certificate as public.crt and private.key in
		// --certs-dir, and then serves HTTPS only.
		certs := filepath.Join(dir, "certs")
		if err := os.MkdirAll(certs, 0o700); err != nil {
			t.Fatal(err)
		}
		m.CA = NewCA(t, "minio-test-ca")
		cert, key := m.CA.Issue(t, certs, "server", true)
		if err := os.Rename(cert, filepath.Join(certs, "public.crt")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(key, filepath.Join(certs, "private.key")); err != nil {
			t.Fatal(err)
		}
		m.CAFile = filepath.Join(dir, "ca.pem")
		replaceFile(t, m.CAFile, m.CA.PEM)
		args = append(args, "--certs-dir", certs)
		m.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: m.CA.Pool()}}
		m.url = "https://" + m.Endpoint
	}
	m.proc = &process{
		t: t, name: "minio", bin: bin, logPath: filepath.Join(dir, "minio.log"),
		args: append(args, data),
		env: []string{
			"MINIO_ROOT_USER=" + m.AccessKey, "MINIO_ROOT_PASSWORD=" + m.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1",
		},
		ready: m.ready,
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

// ready is nil once the server serves S3 requests.
func (m *MinIOServer) ready() error {
	resp, err := m.http.Get(m.url + "/minio/health/ready")
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
	resp, err = m.http.Get(m.url + "/")
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
