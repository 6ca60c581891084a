package objstore

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"go.uber.org/zap"

	"github.com/miniodb/miniodb/testenv"
)

// s3Config is a config for a fresh bucket on m with fast retries, so that
// fault tests do not wait for production timeouts.
func s3Config(m *testenv.MinIOServer) S3Config {
	return S3Config{
		Endpoint: m.Endpoint, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey,
		Bucket: testenv.Name("t"), PartSize: 5 << 20,
		RetryMaxAttempts: 3, RetryInitialInterval: 20 * time.Millisecond, RetryMaxInterval: 100 * time.Millisecond,
		DialTimeout: time.Second, BreakerFailures: 3, BreakerOpenTimeout: 500 * time.Millisecond,
	}
}

func newS3(t *testing.T, cfg S3Config) *S3Bucket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := NewS3Bucket(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestS3BucketAcceptance(t *testing.T) {
	m := testenv.MinIO(t)
	for _, unsigned := range []bool{false, true} {
		t.Run(fmt.Sprintf("unsigned payload %v", unsigned), func(t *testing.T) {
			AcceptanceTest(t, func(t *testing.T) Bucket {
				cfg := s3Config(m)
				cfg.UnsignedPayload = unsigned
				return newS3(t, cfg)
			})
		})
	}
}

// Uploads carry a full-object checksum that downloads verify, multipart
// uploads included, with or without the payload in the signature.
func TestS3FullObjectChecksum(t *testing.T) {
	m := testenv.MinIO(t)
	signed := newS3(t, s3Config(m))
	cfg := s3Config(m)
	cfg.UnsignedPayload = true
	unsigned := newS3(t, cfg)
	ctx := context.Background()
	for _, tc := range []struct {
		b    *S3Bucket
		size int
		hash string // the upload's X-Amz-Content-Sha256
	}{
		{signed, 100, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
		{signed, 12 << 20, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
		{unsigned, 100, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
		{unsigned, 12 << 20, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
	} {
		b, size := tc.b, tc.size
		body := bytes.Repeat([]byte{'z'}, size)
		var trace strings.Builder
		b.client.TraceOn(&trace)
		err := b.Put(ctx, "k", bytes.NewReader(body), int64(size))
		b.client.TraceOff()
		if err != nil {
			t.Fatal(err)
		}
		if want := "X-Amz-Content-Sha256: " + tc.hash; !strings.Contains(trace.String(), want) {
			t.Errorf("size %d, unsigned %v: no %q among the upload's headers", size, b.cfg.UnsignedPayload, want)
		}
		rc, info, _, err := b.core.GetObject(ctx, b.cfg.Bucket, "k", minio.GetObjectOptions{Checksum: true})
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if info.ChecksumCRC64NVME == "" || info.ChecksumMode != "FULL_OBJECT" {
			t.Fatalf("size %d: checksum %q mode %q, want a full-object CRC64NVME", size, info.ChecksumCRC64NVME, info.ChecksumMode)
		}
	}
}

// Over TLS (use_ssl) the endpoint's certificate must chain to ca_file's
// CAs, or to the system's roots without one; the upload's body is then not
// hashed into the signature (TLS protects it) and still carries the
// full-object checksum.
func TestS3OverTLS(t *testing.T) {
	m := testenv.MinIOTLS(t)
	tlsConfig := func() S3Config {
		cfg := s3Config(m)
		cfg.UseSSL, cfg.CAFile = true, m.CAFile
		return cfg
	}
	AcceptanceTest(t, func(t *testing.T) Bucket { return newS3(t, tlsConfig()) })

	t.Run("payload_not_hashed", func(t *testing.T) {
		b := newS3(t, tlsConfig())
		ctx := context.Background()
		body := bytes.Repeat([]byte{'t'}, 6<<20) // multipart: PartSize is 5 MiB
		var trace strings.Builder
		b.client.TraceOn(&trace)
		err := b.Put(ctx, "k", bytes.NewReader(body), int64(len(body)))
		b.client.TraceOff()
		if err != nil {
			t.Fatal(err)
		}
		if want := "X-Amz-Content-Sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER"; !strings.Contains(trace.String(), want) {
			t.Errorf("no %q among the upload's headers", want)
		}
		rc, info, _, err := b.core.GetObject(ctx, b.cfg.Bucket, "k", minio.GetObjectOptions{Checksum: true})
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if info.ChecksumCRC64NVME == "" || info.ChecksumMode != "FULL_OBJECT" {
			t.Fatalf("checksum %q mode %q, want a full-object CRC64NVME", info.ChecksumCRC64NVME, info.ChecksumMode)
		}
	})

	other := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(other, testenv.NewCA(t, "other").PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := tempFileWith(t, "not a certificate").Name()
	for _, tc := range []struct {
		name    string
		mend    func(*S3Config)
		refused bool   // the endpoint is reached and its certificate refused
		want    string // in the error
	}{
		{"system roots only", func(c *S3Config) { c.CAFile = "" }, true, "ca_file names one"},
		{"another CA", func(c *S3Config) { c.CAFile = other }, true, "ca_file names one"},
		{"ca_file without use_ssl", func(c *S3Config) { c.UseSSL = false }, false, "ca_file is set but use_ssl is not"},
		{"ca_file missing", func(c *S3Config) { c.CAFile = other + ".gone" }, false, "no such file"},
		{"ca_file not PEM", func(c *S3Config) { c.CAFile = notPEM }, false, "holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tlsConfig()
			tc.mend(&cfg)
			b, err := newS3Bucket(cfg, "primary", zap.NewNop())
			if err == nil {
				err = b.ensureBucket(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if !tc.refused {
				return
			}
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Fatalf("error %v, want an x509.UnknownAuthorityError in its chain", err)
			}
			// A refused certificate is a setting to mend: one attempt, and
			// the endpoint is not counted as failing.
			if st := b.pool.stats(); st.Requests != 1 || st.Failures != 0 || st.Breaker != "closed" {
				t.Fatalf("pool after a refused certificate: %+v, want one request, no failure", st)
			}
		})
	}
}

func TestS3Faults(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, m *testenv.MinIOServer, b *S3Bucket)
	}{
		{"minio_down_opens_breaker_then_recovers", func(t *testing.T, m *testenv.MinIOServer, b *S3Bucket) {
			m.Stop()
			for i := 0; i < 3; i++ {
				_, err := b.Stat(ctx, "k")
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("Stat with MinIO down: %v, want ErrUnavailable", err)
				}
			}
			if st := b.Stats()[0]; st.Breaker != "open" || st.Failures == 0 || st.LastError == "" {
				t.Fatalf("stats after failures: %+v", st)
			}
			start := time.Now()
			if _, err := b.Stat(ctx, "k"); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "circuit breaker open") {
				t.Fatalf("Stat with open breaker: %v", err)
			}
			if d := time.Since(start); d > 500*time.Millisecond { // no dial, no retry: refused in memory
				t.Fatalf("open breaker took %s to refuse", d)
			}
			m.Start()
			waitFor(t, 10*time.Second, func() bool { _, err := b.Stat(ctx, "k"); return errors.Is(err, ErrNotFound) })
			if st := b.Stats()[0]; st.Breaker != "closed" || st.Rejected == 0 {
				t.Fatalf("stats after recovery: %+v", st)
			}
		}},
		{"parallel_calls_pass_half_open_breaker", func(t *testing.T, m *testenv.MinIOServer, b *S3Bucket) {
			// Regression: the half-open breaker admits one probe; the other
			// calls must wait for its verdict, not fail (a flush uploads
			// several files at once and gives up when one fails).
			m.Stop()
			for b.Stats()[0].Breaker != "open" {
				b.Stat(ctx, "k")
			}
			m.Start()
			time.Sleep(600 * time.Millisecond) // > BreakerOpenTimeout: next call is the probe
			errs := make(chan error, 4)
			for i := range 4 {
				go func() {
					body := bytes.Repeat([]byte{'p'}, 6<<20) // multipart: a slow probe
					errs <- b.Put(ctx, fmt.Sprintf("p%d", i), bytes.NewReader(body), int64(len(body)))
				}()
			}
			for range 4 {
				if err := <-errs; err != nil {
					t.Fatalf("Put through a half-open breaker: %v", err)
				}
			}
			if st := b.Stats()[0]; st.Breaker != "closed" {
				t.Fatalf("breaker %s after the probe succeeded", st.Breaker)
			}
		}},
		{"put_retried_across_short_outage", func(t *testing.T, m *testenv.MinIOServer, _ *S3Bucket) {
			cfg := s3Config(m)
			cfg.RetryMaxAttempts, cfg.RetryMaxInterval, cfg.BreakerFailures = 12, time.Second, 100
			b := newS3(t, cfg)
			m.Stop()
			done := make(chan error, 1)
			f := tempFileWith(t, "survives")
			go func() { done <- b.Put(ctx, "k", f, 8) }()
			time.Sleep(300 * time.Millisecond)
			m.Start()
			if err := <-done; err != nil {
				t.Fatalf("Put across a short outage: %v", err)
			}
			rc, err := b.Get(ctx, "k")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != "survives" {
				t.Fatalf("object = %q", got)
			}
			if b.Stats()[0].Retries == 0 {
				t.Fatal("no retry was counted")
			}
		}},
		{"not_found_does_not_trip_breaker", func(t *testing.T, _ *testenv.MinIOServer, b *S3Bucket) {
			for i := 0; i < 10; i++ {
				if _, err := b.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get missing: %v", err)
				}
			}
			if st := b.Stats()[0]; st.Breaker != "closed" || st.Failures != 0 || st.OpenConns == 0 || st.Requests < 10 {
				t.Fatalf("stats: %+v", st)
			}
		}},
		{"cached_files_served_while_minio_down", func(t *testing.T, m *testenv.MinIOServer, b *S3Bucket) {
			c, err := NewCache(CacheConfig{Dir: t.TempDir(), MaxBytes: 1 << 20}, b)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"a", "b"} {
				if err := b.Put(ctx, k, strings.NewReader(k+k), 2); err != nil {
					t.Fatal(err)
				}
			}
			_, release, err := c.Acquire(ctx, []string{"a"})
			if err != nil {
				t.Fatal(err)
			}
			release()
			m.Stop()
			paths, release, err := c.Acquire(ctx, []string{"a"})
			if err != nil {
				t.Fatalf("cached object with MinIO down: %v", err)
			}
			if got, _ := os.ReadFile(paths[0]); string(got) != "aa" {
				t.Fatalf("cached content %q", got)
			}
			release()
			if _, _, err := c.Acquire(ctx, []string{"b"}); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("uncached object with MinIO down: %v, want ErrUnavailable", err)
			}
		}},
		{"get_describes_the_version_it_reads", func(t *testing.T, _ *testenv.MinIOServer, b *S3Bucket) {
			var etags []string
			for _, body := range []string{"one", "two!"} { // the second replaces the first
				if err := b.Put(ctx, "k", strings.NewReader(body), int64(len(body))); err != nil {
					t.Fatal(err)
				}
				rc, info, err := b.GetDescribed(ctx, "k")
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				stat, serr := b.Stat(ctx, "k")
				if err != nil || serr != nil || string(got) != body || info.Key != "k" || info.Size != int64(len(body)) || info.ETag != stat.ETag {
					t.Fatalf("GetDescribed: %q %+v (%v), Stat %+v (%v); want %q described as Stat does", got, info, err, stat, serr, body)
				}
				etags = append(etags, info.ETag)
			}
			if etags[0] == etags[1] {
				t.Fatalf("both versions described with ETag %s", etags[0])
			}
			if _, _, err := b.GetDescribed(ctx, "missing"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("GetDescribed missing: %v, want ErrNotFound", err)
			}
		}},
		{"cache_fill_is_one_request", func(t *testing.T, _ *testenv.MinIOServer, b *S3Bucket) {
			c, err := NewCache(CacheConfig{Dir: t.TempDir(), MaxBytes: 1 << 20}, b)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Put(ctx, "k", strings.NewReader("value"), 5); err != nil {
				t.Fatal(err)
			}
			before := b.Stats()[0].Requests
			paths, release, err := c.Acquire(ctx, []string{"k"})
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if got, _ := os.ReadFile(paths[0]); string(got) != "value" {
				t.Fatalf("cached content %q", got)
			}
			if n := b.Stats()[0].Requests - before; n != 1 {
				t.Fatalf("a cache fill sent %d requests, want 1 (a GET, no HEAD)", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testenv.MinIO(t)
			tt.run(t, m, newS3(t, s3Config(m)))
		})
	}
}

func TestS3BackupEndpoint(t *testing.T) {
	primary, backup := testenv.MinIO(t), testenv.MinIO(t)
	cfg := s3Config(primary)
	bcfg := s3Config(backup)
	cfg.Backup = &bcfg
	b := newS3(t, cfg)
	if b.Backup() == nil {
		t.Fatal("no backup bucket")
	}
	ctx := context.Background()
	if err := b.Backup().Put(ctx, "k", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	if ok, _ := Exists(ctx, b, "k"); ok {
		t.Fatal("a backup write reached the primary")
	}
	st := b.Stats()
	if len(st) != 2 || st[0].Name != "primary" || st[1].Name != "backup" || st[1].Endpoint != backup.Endpoint {
		t.Fatalf("stats: %+v", st)
	}
}

func tempFileWith(t *testing.T, content string) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "src")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(content)
	f.Seek(0, io.SeekStart)
	t.Cleanup(func() { f.Close() })
	return f
}

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
