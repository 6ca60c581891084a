package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/sync/errgroup"
)

// MinIOConn is where the bench's MinIO server is.
type MinIOConn struct {
	Endpoint, AccessKey, SecretKey, Bucket string
}

// client is a plain minio-go client of the bench's MinIO.
func (mc MinIOConn) client() (*minio.Client, error) {
	return minio.New(mc.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(mc.AccessKey, mc.SecretKey, "")})
}

// fetchTables is a cold-cache baseline's first step: what any program
// must do to read the server's Parquet files out of MinIO with DuckDB (no
// httpfs here). It downloads every object under tables/<table>/ into
// dir/<table>/ with plain minio-go, eight at a time, for each of tables,
// and returns the files of each table.
func fetchTables(ctx context.Context, mc MinIOConn, tables []string, dir string) (map[string][]string, error) {
	c, err := mc.client()
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	out := map[string][]string{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for o := range c.ListObjects(ctx, mc.Bucket, minio.ListObjectsOptions{Prefix: "tables/", Recursive: true}) {
		if o.Err != nil {
			g.Wait()
			return nil, o.Err
		}
		parts := strings.Split(o.Key, "/")
		if len(parts) < 3 || !strings.HasSuffix(o.Key, ".parquet") {
			continue
		}
		table := parts[1]
		if !slices.Contains(tables, table) {
			continue
		}
		mu.Lock()
		dst := filepath.Join(dir, table, fmt.Sprintf("%d.parquet", len(out[table])))
		out[table] = append(out[table], dst)
		mu.Unlock()
		g.Go(func() error { return c.FGetObject(gctx, mc.Bucket, o.Key, dst, minio.GetObjectOptions{}) })
	}
	return out, g.Wait()
}

// fetchedFiles is the cold-cache scan baseline's source: the objects of one
// table in MinIO, which a DoGet of rawFlight with the ticket "fetched"
// downloads (eight at a time, into memory) and decodes with arrow-go as
// they arrive, in order. It is what plain arrow-go does to stream a table
// out of the object store; none of MinIODB is on its path. The ticket
// "decoded" decodes copies downloaded once beforehand (hold): no download
// at all, the most any scan that decodes these files can stream here.
type fetchedFiles struct {
	c      *minio.Client
	bucket string
	keys   []string
	held   [][]byte // the objects' bytes, in keys' order, once hold ran
}

func newFetchedFiles(ctx context.Context, mc MinIOConn, table string) (*fetchedFiles, error) {
	c, err := mc.client()
	if err != nil {
		return nil, err
	}
	f := &fetchedFiles{c: c, bucket: mc.Bucket}
	for o := range c.ListObjects(ctx, mc.Bucket, minio.ListObjectsOptions{Prefix: "tables/" + table + "/", Recursive: true}) {
		if o.Err != nil {
			return nil, o.Err
		}
		if strings.HasSuffix(o.Key, ".parquet") {
			f.keys = append(f.keys, o.Key)
		}
	}
	if len(f.keys) == 0 {
		return nil, fmt.Errorf("no objects of table %s in bucket %s", table, mc.Bucket)
	}
	return f, nil
}

// get downloads one object into memory.
func (f *fetchedFiles) get(ctx context.Context, key string) ([]byte, error) {
	o, err := f.c.GetObject(ctx, f.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

// hold downloads every object into memory, for the ticket "decoded".
func (f *fetchedFiles) hold(ctx context.Context) error {
	f.held = make([][]byte, len(f.keys))
	for i, key := range f.keys {
		b, err := f.get(ctx, key)
		if err != nil {
			return err
		}
		f.held[i] = b
	}
	return nil
}

// stream sends every batch of the files, in order, to send.
func (f *fetchedFiles) stream(ctx context.Context, send func(arrow.RecordBatch) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type body struct {
		b   []byte
		err error
	}
	bodies := make([]chan body, len(f.keys))
	slots := make(chan struct{}, 8)
	for i, key := range f.keys {
		bodies[i] = make(chan body, 1)
		go func() {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				bodies[i] <- body{err: ctx.Err()}
				return
			}
			defer func() { <-slots }()
			b, err := f.get(ctx, key)
			bodies[i] <- body{b, err}
		}()
	}
	for i := range f.keys {
		bd := <-bodies[i]
		if bd.err != nil {
			return bd.err
		}
		if err := decodeTo(ctx, bd.b, send); err != nil {
			return err
		}
	}
	return nil
}

// streamHeld sends every batch of the files hold downloaded to send.
func (f *fetchedFiles) streamHeld(ctx context.Context, send func(arrow.RecordBatch) error) error {
	if len(f.held) != len(f.keys) {
		return fmt.Errorf("the files of the ticket \"decoded\" were not downloaded (hold)")
	}
	for _, b := range f.held {
		if err := decodeTo(ctx, b, send); err != nil {
			return err
		}
	}
	return nil
}

// decodeTo sends the batches of the Parquet file b to send.
func decodeTo(ctx context.Context, b []byte, send func(arrow.RecordBatch) error) error {
	pr, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{Parallel: true, BatchSize: 16384}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		if err := send(rr.RecordBatch()); err != nil {
			return err
		}
	}
	return rr.Err()
}
