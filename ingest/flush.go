package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/oklog/ulid/v2"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/miniodb/miniodb/catalog"
)

// BatchBytes is the memory a batch holds: the sizes of all its Arrow
// buffers, children included (what it costs on the wire, give or take the
// IPC framing).
func BatchBytes(b arrow.RecordBatch) int64 {
	var n int64
	for _, c := range b.Columns() {
		n += dataBytes(c.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, buf := range d.Buffers() {
		if buf != nil {
			n += int64(buf.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	return n
}

func (s *Service) kickFlusher() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// flusher flushes tables whose buffer is full or old, and the largest
// tables while memory is above MaxMemory.
func (s *Service) flusher() {
	defer close(s.done)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		case <-s.kick:
		}
		s.flushDue(context.Background())
	}
}

func (s *Service) flushDue(ctx context.Context) {
	due := s.dueTables(time.Now())
	g := errgroup.Group{}
	g.SetLimit(s.cfg.FlushConcurrency)
	for _, ts := range due {
		if !s.retry.ready(ts.name, time.Now()) {
			continue // its last flush failed: wait out the backoff (retry.go)
		}
		g.Go(func() error {
			if err := s.flushTable(ctx, ts); err != nil {
				wait := s.retry.failed(ts.name, time.Now())
				s.log.Warn("flush failed; will retry", zap.String("table", ts.name), zap.Duration("retry_in", wait), zap.Error(err))
			} else {
				s.retry.succeeded(ts.name)
			}
			return nil
		})
	}
	g.Wait()
}

// dueTables returns the tables to flush now, largest first.
func (s *Service) dueTables(now time.Time) []*tableState {
	s.mu.Lock()
	states := make([]*tableState, 0, len(s.tables))
	for _, ts := range s.tables {
		states = append(states, ts)
	}
	s.mu.Unlock()
	type cand struct {
		ts    *tableState
		bytes int64
		due   bool
	}
	var cands []cand
	for _, ts := range states {
		ts.mu.Lock()
		if len(ts.entries) > 0 {
			age := now.Sub(ts.entries[0].arrival)
			due := ts.rows >= s.bufferSize(ts) || age >= s.flushInterval(ts)
			cands = append(cands, cand{ts, ts.bytes, due})
		}
		ts.mu.Unlock()
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].bytes > cands[j].bytes })
	var out []*tableState
	pressure := s.buffered.Load()
	for _, c := range cands {
		if c.due || pressure > s.cfg.MaxMemory {
			out = append(out, c.ts)
			pressure -= c.bytes
		}
	}
	return out
}

func (s *Service) flushInterval(ts *tableState) time.Duration {
	if n := s.effectiveConfig(ts).FlushIntervalSeconds; n > 0 {
		return time.Duration(n) * time.Second
	}
	return s.cfg.FlushInterval
}

// FlushAll flushes every table's durable buffer now.
func (s *Service) FlushAll(ctx context.Context) error {
	s.mu.Lock()
	states := make([]*tableState, 0, len(s.tables))
	for _, ts := range s.tables {
		states = append(states, ts)
	}
	s.mu.Unlock()
	var errs []error
	for _, ts := range states {
		if err := s.flushTable(ctx, ts); err != nil {
			errs = append(errs, fmt.Errorf("flush table %s: %w", ts.name, err))
		}
	}
	return errors.Join(errs...)
}

// flushTable writes the durable prefix of a table's buffer as Parquet,
// commits the files with the LSN they cover, then drops those entries and
// truncates the WAL.
func (s *Service) flushTable(ctx context.Context, ts *tableState) error {
	ts.flushMu.Lock()
	defer ts.flushMu.Unlock()
	entries, schema, cfg, inc := s.durablePrefix(ts)
	if len(entries) == 0 {
		return nil
	}
	start := time.Now()
	maxLSN := entries[len(entries)-1].lsn
	files, written, err := s.writeFiles(ctx, s.cfg.NodeID, ts.name, inc, schema, cfg, entries)
	if err == nil {
		defer written.release()
		err = s.cat.CommitFlush(ctx, ts.name, s.cfg.NodeID, files, maxLSN)
	}
	if err != nil {
		s.discard(files)
		if errors.Is(err, catalog.ErrStaleFlush) || errors.Is(err, catalog.ErrTableNotFound) {
			return nil // replaced or dropped meanwhile: nothing to keep
		}
		s.observeFlush(ts.name, start, nil, err)
		return err
	}
	s.dropFlushed(ts, maxLSN, files)
	s.truncateWAL()
	// After the buffer has let go of the rows: a query meanwhile reads
	// these files from disk, and the copy does not delay the flush.
	s.keepHot(files, written)
	s.observeFlush(ts.name, start, files, nil)
	return nil
}

func (s *Service) durablePrefix(ts *tableState) ([]*entry, *arrow.Schema, catalog.TableConfig, string) {
	durable := s.wal.DurableLSN()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	n := sort.Search(len(ts.entries), func(i int) bool { return ts.entries[i].lsn > durable })
	return append([]*entry(nil), ts.entries[:n]...), ts.schema, s.effectiveConfig(ts), ts.incarnation
}

func (s *Service) dropFlushed(ts *tableState, maxLSN uint64, files []catalog.File) {
	ts.mu.Lock()
	n := sort.Search(len(ts.entries), func(i int) bool { return ts.entries[i].lsn > maxLSN })
	gone := ts.entries[:n]
	ts.entries = append([]*entry(nil), ts.entries[n:]...)
	ts.files = append(ts.files, files...)
	ts.flushedLSN = maxLSN
	for _, e := range gone {
		ts.rows -= e.rows
		ts.bytes -= e.bytes
	}
	ts.mu.Unlock()
	for _, e := range gone {
		s.buffered.Add(-e.bytes)
		e.release()
	}
}

func (s *Service) discard(files []catalog.File) {
	for _, f := range files {
		s.bucket.Delete(context.Background(), f.Key)
		s.cache.Forget(f.Key)
	}
}

// truncateWAL deletes WAL segments below the lowest LSN still needed.
func (s *Service) truncateWAL() {
	low := s.wal.LastLSN() + 1
	s.mu.Lock()
	for _, first := range s.openTxns {
		low = min(low, first)
	}
	states := make([]*tableState, 0, len(s.tables))
	for _, ts := range s.tables {
		states = append(states, ts)
	}
	s.mu.Unlock()
	for _, ts := range states {
		ts.mu.Lock()
		for _, e := range ts.entries {
			low = min(low, e.firstLSN)
		}
		ts.mu.Unlock()
	}
	if err := s.wal.TruncateBefore(low); err != nil {
		s.log.Warn("truncate wal", zap.Error(err))
	}
	if s.shipper != nil {
		s.shipper.collect(context.Background(), low)
	}
}

// HotFiles keeps the batches of committed files in memory (hotcache.Cache).
type HotFiles interface {
	Put(key string, batches []arrow.RecordBatch)
}

// keepHot hands the batches of committed files to Config.Hot: files[i]
// holds the rows of written's i-th group.
func (s *Service) keepHot(files []catalog.File, written *groups) {
	if s.cfg.Hot == nil {
		return
	}
	for i, key := range written.order {
		s.cfg.Hot.Put(files[i].Key, written.byKey[key].batches)
	}
}

// writeFiles writes one Parquet file per (partition, day) group, uploads it
// and adds it to the cache. On success it also returns the groups, in the
// order of the files, for the caller to release.
func (s *Service) writeFiles(ctx context.Context, node, table, incarnation string, schema *arrow.Schema, cfg catalog.TableConfig, entries []*entry) ([]catalog.File, *groups, error) {
	groups := s.split(schema, cfg, entries)
	hash := schemaHash(schema)
	files := make([]catalog.File, len(groups.order))
	// Encoding a file keeps a core busy; uploading it mostly waits on the
	// disk's fsync or the network. An upload gives its core back to the
	// next file's encoding.
	encoders := make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2 * cap(encoders))
	for i, key := range groups.order {
		g.Go(func() error {
			f, err := s.writeFile(gctx, encoders, node, table, incarnation, schema, key, groups.byKey[key])
			f.SchemaHash = hash
			f.Stats = fileStats(schema, cfg, groups.byKey[key].batches)
			files[i] = f
			return err
		})
	}
	err := g.Wait()
	if err != nil {
		groups.release()
		var done []catalog.File
		for _, f := range files {
			if f.Key != "" {
				done = append(done, f)
			}
		}
		s.discard(done)
		return nil, nil, err
	}
	return files, groups, nil
}

func (s *Service) writeFile(ctx context.Context, encoders chan struct{}, node, table, incarnation string, schema *arrow.Schema, key groupKey, g *group) (catalog.File, error) {
	day := dayString(key.day)
	objKey := fmt.Sprintf("tables/%s/shard=%d/date=%s/%s.parquet", table, key.partition, day, ulid.Make())
	staging := filepath.Join(s.cache.Dir(), ".staging", filepath.Base(objKey)+".tmp")
	select {
	case encoders <- struct{}{}:
	case <-ctx.Done():
		return catalog.File{}, ctx.Err()
	}
	size, err := s.writeParquet(ctx, staging, schema, g, map[string]string{
		"miniodb.table": table, "miniodb.partition": strconv.Itoa(key.partition), "miniodb.day": day,
		"miniodb.min_lsn": strconv.FormatUint(g.minLSN, 10), "miniodb.max_lsn": strconv.FormatUint(g.maxLSN, 10),
		"miniodb.node": node, "miniodb.incarnation": incarnation,
	})
	<-encoders
	if err != nil {
		os.Remove(staging)
		return catalog.File{}, fmt.Errorf("write %s: %w", objKey, err)
	}
	if err := s.upload(ctx, objKey, staging, size); err != nil {
		os.Remove(staging)
		return catalog.File{}, err
	}
	f := catalog.File{Key: objKey, Table: table, Partition: key.partition, Day: day, Rows: g.rows, Bytes: size,
		MinLSN: g.minLSN, MaxLSN: g.maxLSN, Node: node, Incarnation: incarnation, CreatedAt: time.Now().UTC()}
	return f, s.cache.Add(objKey, staging)
}

// filePutter is a bucket that takes a local file whole
// (objstore.FileBucket links it instead of copying it).
type filePutter interface {
	PutFile(ctx context.Context, key, path string) error
}

func (s *Service) upload(ctx context.Context, key, path string, size int64) error {
	if b, ok := s.bucket.(filePutter); ok {
		if err := b.PutFile(ctx, key, path); err != nil {
			return fmt.Errorf("upload %s: %w", key, err)
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.bucket.Put(ctx, key, f, size); err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	return nil
}

// ParquetWriter writes a flush's files faster than arrow-go where it
// supports the schema (package duckwrite).
type ParquetWriter interface {
	Supports(schema *arrow.Schema) bool
	Write(ctx context.Context, path string, schema *arrow.Schema, batches []arrow.RecordBatch, rowGroupRows int, meta map[string]string) error
}

// writeParquet writes a group's file to path with Config.Parquet if it
// takes the schema, else with arrow-go (WriteParquet), and returns its
// size.
func (s *Service) writeParquet(ctx context.Context, path string, schema *arrow.Schema, g *group, meta map[string]string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	if s.cfg.Parquet != nil && s.cfg.Parquet.Supports(schema) {
		if err := s.cfg.Parquet.Write(ctx, path, schema, g.batches, rowGroupRows, meta); err != nil {
			return 0, err
		}
	} else if err := writeParquetFile(path, schema, g.batches, meta); err != nil {
		return 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func writeParquetFile(path string, schema *arrow.Schema, batches []arrow.RecordBatch, meta map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close() // on error; arrow-go's writer closes it when done
	return WriteParquet(f, schema, batches, meta)
}

func schemaHash(s *arrow.Schema) string {
	sum := sha256.Sum256(serializeSchema(s))
	return hex.EncodeToString(sum[:8])
}
