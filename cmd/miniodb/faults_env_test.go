package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
	"github.com/miniodb/miniodb/testenv"
)

// storeEnv is a real Redis and a real MinIO for one fault test, with a
// fresh namespace and bucket.
type storeEnv struct {
	redis     *testenv.RedisServer
	minio     *testenv.MinIOServer
	namespace string
	bucket    string
}

func newStoreEnv(t *testing.T) *storeEnv {
	t.Helper()
	return &storeEnv{redis: testenv.Redis(t), minio: testenv.MinIO(t), namespace: testenv.Name("ns"), bucket: testenv.Name("data")}
}

// newStoreEnvTLS is newStoreEnv with a MinIO that serves HTTPS only, under
// a certificate of a CA made for the test (minio.ca_file).
func newStoreEnvTLS(t *testing.T) *storeEnv {
	t.Helper()
	return &storeEnv{redis: testenv.Redis(t), minio: testenv.MinIOTLS(t), namespace: testenv.Name("ns"), bucket: testenv.Name("data")}
}

// s3Config is the environment's bucket as the node's config names it.
func (e *storeEnv) s3Config() objstore.S3Config {
	return objstore.S3Config{Endpoint: e.minio.Endpoint, AccessKeyID: e.minio.AccessKey, SecretAccessKey: e.minio.SecretKey,
		Bucket: e.bucket, UseSSL: e.minio.CAFile != "", CAFile: e.minio.CAFile}
}

// config writes a node configuration on this environment with the given
// extra YAML sections (fast retries so that faults show within seconds).
func (e *storeEnv) config(t *testing.T, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "miniodb.yaml")
	writeFile(t, path, fmt.Sprintf(`redis:
  mode: standalone
  addr: %q
  namespace: %q
minio:
  endpoint: %q
  access_key_id: %q
  secret_access_key: %q
  bucket: %q
  retry_max_attempts: 2
  retry_initial_interval: 50ms
  dial_timeout: 1s
  breaker_failures: 3
  breaker_open_timeout: 2s
  use_ssl: %t
  ca_file: %q
%s`, e.redis.Addr, e.namespace, e.minio.Endpoint, e.minio.AccessKey, e.minio.SecretKey, e.bucket, e.minio.CAFile != "", e.minio.CAFile, extra))
	return path
}

// catalog opens the node's Redis catalog from the test's side.
func (e *storeEnv) catalog(t *testing.T) *catalog.Redis {
	t.Helper()
	c, err := catalog.OpenRedis(context.Background(), catalog.RedisConfig{Addr: e.redis.Addr, Namespace: e.namespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// objects lists the object keys under tables/ in the bucket.
func (e *storeEnv) objects(t *testing.T) []string {
	t.Helper()
	b, err := objstore.NewS3Bucket(context.Background(), e.s3Config(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := b.List(context.Background(), "tables/", func(o objstore.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// catalogRows sums the rows of the table's files in the catalog: the rows
// that are flushed and committed.
func catalogRows(t *testing.T, cat *catalog.Redis, table string) int64 {
	t.Helper()
	files, err := cat.Files(context.Background(), table)
	if errors.Is(err, catalog.ErrTableNotFound) {
		return 0 // not created yet
	}
	if err != nil {
		t.Fatalf("catalog files of %s: %v", table, err)
	}
	var n int64
	for _, f := range files {
		n += f.Rows
	}
	return n
}

// seqSchema is the schema of the fault tests' rows: each batch has a
// number b, and ids b*seqRows .. b*seqRows+n-1.
var seqSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "b", Type: arrow.PrimitiveTypes.Int64},
	{Name: "v", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func seqBatch(b int64, n int) arrow.RecordBatch {
	rb := array.NewRecordBuilder(memory.DefaultAllocator, seqSchema)
	defer rb.Release()
	for i := range int64(n) {
		rb.Field(0).(*array.Int64Builder).Append(b*1_000_000 + i)
		rb.Field(1).(*array.Int64Builder).Append(b)
		rb.Field(2).(*array.StringBuilder).Append("payload-" + strconv.FormatInt(b*1_000_000+i, 36))
	}
	return rb.NewRecordBatch()
}

// batchLedger records the fate of every batch an ingest loop sent.
type batchLedger struct {
	mu        sync.Mutex
	rows      int // rows per batch
	acked     map[int64]bool
	refused   map[int64]bool // RESOURCE_EXHAUSTED: certainly not stored
	uncertain map[int64]bool // any other error: stored or not
	codes     map[codes.Code]int
	slowest   time.Duration
}

func newBatchLedger(rows int) *batchLedger {
	return &batchLedger{rows: rows, acked: map[int64]bool{}, refused: map[int64]bool{}, uncertain: map[int64]bool{}, codes: map[codes.Code]int{}}
}

// send ingests batch b and files the outcome.
func (l *batchLedger) send(c *flightsql.Client, table string, b int64) error {
	rec := seqBatch(b, l.rows)
	defer rec.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err := ingestRecs(ctx, c, table, modeCreateAppend, rec)
	took := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.slowest = max(l.slowest, took)
	code := status.Code(err)
	l.codes[code]++
	switch {
	case err == nil:
		l.acked[b] = true
	case code == codes.ResourceExhausted:
		l.refused[b] = true
	default:
		l.uncertain[b] = true
	}
	return err
}

func (l *batchLedger) ackedRows() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.acked) * l.rows)
}

func (l *batchLedger) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("acked %d, refused %d, uncertain %d batches of %d rows; codes %v; slowest ingest %s",
		len(l.acked), len(l.refused), len(l.uncertain), l.rows, l.codes, l.slowest.Round(time.Millisecond))
}

// ingestLoop sends batches every interval until stop is called.
type ingestLoop struct {
	stop func()
	done chan struct{}
}

func startIngestLoop(c *flightsql.Client, l *batchLedger, table string, first int64, interval time.Duration) *ingestLoop {
	quit := make(chan struct{})
	loop := &ingestLoop{done: make(chan struct{})}
	var once sync.Once
	loop.stop = func() { once.Do(func() { close(quit) }); <-loop.done }
	go func() {
		defer close(loop.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for b := first; ; b++ {
			l.send(c, table, b)
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	}()
	return loop
}

// verifyExactlyOnce checks, batch by batch, that every acknowledged batch
// is stored exactly once, no refused batch is stored, and an uncertain one
// is stored whole or not at all. It returns the rows stored.
func (l *batchLedger) verifyExactlyOnce(t *testing.T, c *flightsql.Client, table string) int64 {
	t.Helper()
	_, recs, err := queryAll(context.Background(), c, fmt.Sprintf(
		"SELECT b, count(*) AS n, count(DISTINCT id) AS d FROM %s GROUP BY b ORDER BY b", table))
	if err != nil {
		t.Fatal(err)
	}
	defer releaseRecs(recs)
	stored := map[int64]int64{}
	var total int64
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			b, n, d := intValue(t, r.Column(0), i), intValue(t, r.Column(1), i), intValue(t, r.Column(2), i)
			if n != d {
				t.Errorf("batch %d: %d rows but %d distinct ids: duplicates", b, n, d)
			}
			stored[b] = n
			total += n
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for b := range l.acked {
		if stored[b] != int64(l.rows) {
			t.Errorf("acknowledged batch %d has %d rows, want %d", b, stored[b], l.rows)
		}
	}
	for b, n := range stored {
		switch {
		case l.refused[b]:
			t.Errorf("refused batch %d is stored (%d rows)", b, n)
		case l.uncertain[b] && n != int64(l.rows):
			t.Errorf("uncertain batch %d is half stored (%d rows)", b, n)
		case !l.acked[b] && !l.uncertain[b] && !l.refused[b]:
			t.Errorf("batch %d was never sent but has %d rows", b, n)
		}
	}
	return total
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// countRows is SELECT count(*) of a table.
func countRows(t *testing.T, c *flightsql.Client, table string) int64 {
	t.Helper()
	return queryInts(t, c, "SELECT count(*) FROM "+table)[0]
}

// serveFails runs `miniodb serve` expecting it to refuse to start, and
// returns what it printed.
func serveFails(t *testing.T, dataDir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"serve", "--data-dir", dataDir, "--grpc-addr", freeAddr(t), "--rest-addr", "127.0.0.1:0"}, args...)...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("serve neither started nor refused within 90s:\n%s", tail(string(out), 4000))
	}
	if err == nil {
		t.Fatalf("serve exited 0, want a refusal:\n%s", tail(string(out), 4000))
	}
	return string(out)
}

// walBytes is the size of the node's write-ahead log.
func walBytes(t *testing.T, dataDir string) int64 {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dataDir, "wal", "*.wal"))
	var n int64
	for _, s := range segs {
		if st, err := os.Stat(s); err == nil {
			n += st.Size()
		}
	}
	return n
}

func mustContain(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Fatalf("output does not mention %q:\n%s", w, tail(s, 4000))
		}
	}
}
