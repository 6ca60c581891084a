package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miniodb/miniodb/testenv"
)

// A node on a MinIO that serves HTTPS only (minio.use_ssl, minio.ca_file)
// flushes its files there and, with its read cache emptied, reads them
// back from there; with a CA that did not sign MinIO's certificate it
// does not start, and says which setting to mend.
func TestMinIOOverTLS(t *testing.T) {
	env := newStoreEnvTLS(t)
	dir := t.TempDir()
	cfg := env.config(t, "buffer:\n  buffer_size: 1000\n  flush_interval: 1s\n")
	s := startServer(t, dir, "--config", cfg)
	cat := env.catalog(t)
	led := newBatchLedger(1000)
	for b := range int64(3) {
		if err := led.send(s.client(), "secure", b); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 30*time.Second, "flush", func() bool { return catalogRows(t, cat, "secure") == 3000 })
	if keys := env.objects(t); len(keys) == 0 {
		t.Fatal("no objects in the bucket after the flush")
	}
	s.stop()
	if _, err := os.Stat(filepath.Join(dir, "cache")); err != nil {
		t.Fatalf("the read cache to empty: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "cache")); err != nil {
		t.Fatal(err)
	}
	s.start()
	if n := led.verifyExactlyOnce(t, s.client(), "secure"); n != 3000 {
		t.Fatalf("%d rows read back over TLS, want 3000", n)
	}
	s.stop()

	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.yaml")
	writeFile(t, other, strings.Replace(string(b), fmt.Sprintf("ca_file: %q", env.minio.CAFile), `ca_file: ""`, 1))
	out := serveFails(t, t.TempDir(), "--config", other)
	mustContain(t, out, "open object store", env.minio.Endpoint, "certificate signed by unknown authority", "ca_file names one")
}

// `serve --check-config` reads minio.ca_file: a missing file, one with no
// certificate, or one without use_ssl fails the check and names it.
func TestCheckConfigMinIOCAFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	writeFile(t, good, string(testenv.NewCA(t, "check").PEM))
	notPEM := filepath.Join(dir, "not.pem")
	writeFile(t, notPEM, "not a certificate")
	for _, tc := range []struct {
		name, minio string
		want        string // in the error; "": the check passes
	}{
		{"good", fmt.Sprintf("use_ssl: true\n  ca_file: %q", good), ""},
		{"missing", fmt.Sprintf("use_ssl: true\n  ca_file: %q", good+".gone"), "ca_file"},
		{"not PEM", fmt.Sprintf("use_ssl: true\n  ca_file: %q", notPEM), "holds no PEM certificate"},
		{"without use_ssl", fmt.Sprintf("ca_file: %q", good), "ca_file is set but use_ssl is not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "c.yaml")
			writeFile(t, cfg, "minio:\n  endpoint: 127.0.0.1:9\n  access_key_id: k\n  secret_access_key: s\n  "+tc.minio+"\n")
			cmd := newRootCmd()
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			cmd.SetArgs([]string{"serve", "--check-config", "--config", cfg})
			err := cmd.Execute()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("check-config: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("check-config: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
