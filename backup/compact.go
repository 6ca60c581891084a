package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/oklog/ulid/v2"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/objstore"
)

// keyReplaces names, in a compacted file's footer, the objects it merged
// (base names, comma-separated): a rebuild that still finds them (their
// grace period had not ended) leaves them out.
const keyReplaces = "miniodb.replaces"

// CompactConfig configures Compactor. Zero values take the defaults noted.
type CompactConfig struct {
	// TargetBytes is the size merged files aim at; files at or above half
	// of it are left alone. Default 128 MiB.
	TargetBytes int64
	// MinFiles is the fewest small files of one table/partition/day worth
	// merging; default 4.
	MinFiles int
}

// Compactor merges the small files of each table/partition/day into files
// of about TargetBytes. A merge writes the new object, swaps it for its
// sources in one catalog step (through FileSwapper, so new queries plan the
// merged file at once while running ones keep reading the sources), and
// hands the sources to Retention for deletion after the grace period.
// Ingest is never blocked: flushes only add files of their own, and a swap
// whose sources changed meanwhile (a replace, a drop) fails as a whole and
// its new object is deleted.
type Compactor struct {
	cfg    CompactConfig
	cat    catalog.Catalog
	swap   FileSwapper
	bucket objstore.Bucket
	later  *Retention
}

// NewCompactor returns a compactor; later deletes the sources after the
// grace period.
func NewCompactor(cfg CompactConfig, cat catalog.Catalog, swap FileSwapper, bucket objstore.Bucket, later *Retention) *Compactor {
	if cfg.TargetBytes <= 0 {
		cfg.TargetBytes = 128 << 20
	}
	if cfg.MinFiles < 2 {
		cfg.MinFiles = 4
	}
	return &Compactor{cfg: cfg, cat: cat, swap: swap, bucket: bucket, later: later}
}

// CompactResult is what one pass merged.
type CompactResult struct {
	Merged  int `json:"files_merged"`
	Written int `json:"files_written"`
}

// Pass compacts every table once.
func (c *Compactor) Pass(ctx context.Context) (CompactResult, error) {
	var res CompactResult
	tables, err := c.cat.Tables(ctx)
	if err != nil {
		return res, fmt.Errorf("compaction: %w", err)
	}
	var errs []error
	for _, t := range tables {
		files, err := c.cat.Files(ctx, t.Name)
		if errors.Is(err, catalog.ErrTableNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, g := range c.groups(files) {
			if err := c.merge(ctx, t, g); err != nil {
				errs = append(errs, fmt.Errorf("compact %s: %w", t.Name, err))
				continue
			}
			res.Merged += len(g)
			res.Written++
		}
	}
	return res, errors.Join(errs...)
}

// groups picks runs of small files with one partition, day, schema and
// writing node (their WAL positions are that node's), in key (= creation)
// order, each run up to TargetBytes.
func (c *Compactor) groups(files []catalog.File) [][]catalog.File {
	by := map[string][]catalog.File{}
	var order []string
	for _, f := range files {
		if f.Bytes >= c.cfg.TargetBytes/2 {
			continue
		}
		k := strconv.Itoa(f.Partition) + "/" + f.Day + "/" + f.SchemaHash + "/" + f.Node + "/" + f.Incarnation
		if by[k] == nil {
			order = append(order, k)
		}
		by[k] = append(by[k], f)
	}
	sort.Strings(order)
	var out [][]catalog.File
	for _, k := range order {
		var run []catalog.File
		var size int64
		flush := func() {
			if len(run) >= c.cfg.MinFiles {
				out = append(out, run)
			}
			run, size = nil, 0
		}
		for _, f := range by[k] {
			if size+f.Bytes > c.cfg.TargetBytes && len(run) > 0 {
				flush()
			}
			run = append(run, f)
			size += f.Bytes
		}
		flush()
	}
	return out
}

func (c *Compactor) merge(ctx context.Context, t catalog.Table, srcs []catalog.File) error {
	var batches []arrow.RecordBatch
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	var schema *arrow.Schema
	merged := catalog.File{Table: t.Name, Partition: srcs[0].Partition, Day: srcs[0].Day, SchemaHash: srcs[0].SchemaHash, MinLSN: srcs[0].MinLSN, Node: srcs[0].Node,
		Incarnation: srcs[0].Incarnation}
	var names []string
	for _, f := range srcs {
		sc, bs, err := readAll(ctx, c.bucket, f)
		batches = append(batches, bs...)
		if err != nil {
			return err
		}
		schema = sc
		merged.Rows += f.Rows
		merged.MinLSN, merged.MaxLSN = min(merged.MinLSN, f.MinLSN), max(merged.MaxLSN, f.MaxLSN)
		names = append(names, path.Base(f.Key))
	}
	id := ulid.Make()
	merged.Key = path.Dir(srcs[0].Key) + "/" + id.String() + ".parquet"
	merged.CreatedAt = ulid.Time(id.Time()).UTC()
	body, err := writeParquet(schema, batches, map[string]string{
		keyTable: t.Name, keyPartition: strconv.Itoa(merged.Partition), keyDay: merged.Day,
		keyMinLSN: strconv.FormatUint(merged.MinLSN, 10), keyMaxLSN: strconv.FormatUint(merged.MaxLSN, 10),
		keyNode: merged.Node, keyIncarnation: merged.Incarnation, keyReplaces: strings.Join(names, ","),
	})
	if err != nil {
		return err
	}
	merged.Bytes = int64(len(body))
	merged.Stats = ingest.FileStats(schema, t.Config, batches)
	if err := c.bucket.Put(ctx, merged.Key, bytes.NewReader(body), merged.Bytes); err != nil {
		return fmt.Errorf("upload %s: %w", merged.Key, err)
	}
	keys := make([]string, len(srcs))
	for i, f := range srcs {
		keys[i] = f.Key
	}
	if _, err := c.swap.ReplaceFiles(ctx, t.Name, keys, []catalog.File{merged}); err != nil {
		c.bucket.Delete(context.Background(), merged.Key)
		if errors.Is(err, catalog.ErrFilesChanged) || errors.Is(err, catalog.ErrTableNotFound) {
			return nil // lost to a replace or drop: nothing to do
		}
		return err
	}
	c.later.DeleteLater(keys)
	return nil
}

// readAll reads a whole Parquet object as Arrow batches with the schema
// the flush wrote (plainSchema).
func readAll(ctx context.Context, b objstore.BucketReader, f catalog.File) (*arrow.Schema, []arrow.RecordBatch, error) {
	rdr, err := file.NewParquetReader(io.NewSectionReader(rangeReaderAt{ctx, b, f.Key}, 0, f.Bytes))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	sc = plainSchema(sc)
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	defer rr.Release()
	var out []arrow.RecordBatch
	for rr.Next() {
		rec := rr.RecordBatch()
		out = append(out, array.NewRecordBatch(sc, rec.Columns(), rec.NumRows()))
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		for _, r := range out {
			r.Release()
		}
		return nil, nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	return sc, out, nil
}

// writeParquet writes batches as the flush does (ingest.WriteParquet).
func writeParquet(schema *arrow.Schema, batches []arrow.RecordBatch, meta map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	if err := ingest.WriteParquet(&buf, schema, batches, meta); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
