package query

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"golang.org/x/sync/semaphore"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/hotcache"
	"github.com/miniodb/miniodb/ingest"
)

// A verbatim scan of every column decodes the files it does not find in
// memory itself, with arrow-go's Parquet reader, when they were written
// under the table's current schema and that reader gives back exactly the
// table's Arrow types. The point is the memory cache: while it has free
// room (Config.Memory), a decoded file's batches are also offered to it
// (a hotcache.Filling copies them as they come and never evicts), so the
// next scan streams them from memory.
// After a restart, or for files another node flushed, the cache warms up
// from the scans; a scan larger than the free room keeps what fits.
// DuckDB's stream cannot do this, as its batches mix the files.
//
// Measured (SF1 lineitem, eight files, 2 cores, bench client on the same
// machine): this scan streams 380-520 MiB/s, as fast as DuckDB's stream
// (≈ 420 MiB/s): both are bound by decoding Parquet on cores the client
// and the sending share. The next scan, from memory, ≈ 1300 MiB/s.
//
// Decoders run one per core, each on its own files, and the scan streams
// the files in the snapshot's order, each file's batches in its order. A
// scan's decoders hold at most scanAheadBytes of batches that the stream
// has not taken yet, each its share, so a slow client holds back the
// decoding, not memory: a bound in bytes, which a count of batches is not
// for wide rows. How much to hold ahead is a trade. With 4 batches each
// (≈ 11 MB of SF1 lineitem) the decoder of the next file soon waits, and
// a cold scan left 15% of the 2 cores idle (0.7-0.8 CPU-s of a 2.5 s
// scan; 0.2 CPU-s at 32 batches). The cold SF1 lineitem scan on MinIO
// (median of eight restarts per run, binaries alternated) streamed
// 392/419 MiB/s with 4 batches, 412/427 with 32 MiB per scan, 453/460
// with 64 MiB and 461/467 with 128 MiB; but TestFullScanStreams's peak
// RSS growth (208 MiB result, memory cache filling) went from 258-279 MiB
// to 270-311 (over the test's 300 in one run of four), 302-317 and
// 379-388. So the bound stays about where 4 batches of lineitem were, 24
// MiB per scan. The memory cache's copies are taken batch by batch, so a
// decoder does not keep a file's batches alive until it ends (it did:
// TestVerbatimScanHoldsNoWholeFile), and copies each while it is still in
// the CPU's caches: the cold scan 405-416 -> 452-470 MiB/s (three
// alternations of eight restarts). That did not make room for holding
// more ahead, though: TestFullScanStreams's peak growth stayed 261-282
// MiB at 24 MiB, 310-324 at 64 and 384-394 at 128.
//
// A decoder fetches its next file into the disk cache while it decodes
// one (fetchAhead), so that over a cold cache the download is not waited
// for in turn. Describing the scan (GetFlightInfo) fetches only the first
// file (session.typesOnly): 20-30 ms instead of 100-150 ms for SF1
// lineitem's eight files on MinIO after a restart, the scan as fast.
//
// The first file's first row group is decoded in batches of firstRows
// rows, and the other decoders start once the stream has taken the first
// batch: Go's scheduler lets busy decoders hold back the goroutines that
// send it (first batch after a restart: 35-55 ms without both, 11-35 ms
// with).

// fileBatchRows is the size of a decoded batch.
const fileBatchRows = 16384

// scanAheadBytes bounds the batches (ingest.BatchBytes) a scan's decoders
// hold ready, split evenly among them; a batch larger than a decoder's
// share is held alone.
const scanAheadBytes = 24 << 20

// fileAheadBatches bounds their number (the capacity of a file's channel).
const fileAheadBatches = 64

// fileScan decodes files in the background for a Stream.
type fileScan struct {
	ctx     context.Context
	cancel  context.CancelFunc
	files   []chan decoded        // one per file, in the snapshot's order
	ahead   []*semaphore.Weighted // per decoder: the bytes it holds ready (its share of scanAheadBytes)
	at      int                   // the file being streamed
	begun   chan struct{}         // closed once the stream has taken a batch (begin)
	started bool                  // begun is closed; the stream's goroutine only
	wg      sync.WaitGroup
}

type decoded struct {
	b   arrow.RecordBatch
	n   int64 // what b holds of its decoder's ahead
	err error
}

// readsBack is readsBackSchema remembered by schema hash: the check
// writes and reads a Parquet file (≈ 120 µs, 1100 allocations), and every
// verbatim scan with files out of memory asks it.
func (e *Engine) readsBack(hash string, schema *arrow.Schema) bool {
	if ok, found := e.readBack.get(hash); found {
		return ok
	}
	ok := readsBackSchema(schema)
	e.readBack.put(hash, ok)
	return ok
}

// readsBackSchema reports whether arrow-go reads a file the flush wrote
// under schema back with exactly schema's column types (the stored Arrow schema
// makes it so for every type the flush writes; this checks, instead of
// assuming, by writing and reading an empty file with arrow-go's writer).
// DuckDB writes the flush's files only for schemas whose every type it
// round-trips (duckwrite.Supports), a subset of these; decodeFile checks
// each file's types all the same.
func readsBackSchema(schema *arrow.Schema) bool {
	var buf bytes.Buffer
	if err := ingest.WriteParquet(&buf, schema, nil, nil); err != nil {
		return false
	}
	got, err := parquetSchema(bytes.NewReader(buf.Bytes()))
	return err == nil && sameTypes(got, schema)
}

func parquetSchema(r *bytes.Reader) (*arrow.Schema, error) {
	pr, err := file.NewParquetReader(r)
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, nil)
	if err != nil {
		return nil, err
	}
	return fr.Schema()
}

func sameTypes(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		if !arrow.TypeEqual(a.Field(i).Type, b.Field(i).Type) {
			return false
		}
	}
	return true
}

// coversAll reports whether cols names every one of n columns.
func coversAll(cols []int, n int) bool {
	seen := make([]bool, n)
	for _, c := range cols {
		seen[c] = true
	}
	for _, ok := range seen {
		if !ok {
			return false
		}
	}
	return true
}

// startFileScan starts decoding files, each holding the table's schema, as
// the columns cols of the result schema out.
func (s *session) startFileScan(ctx context.Context, files []catalog.File, schema *arrow.Schema, cols []int, out *arrow.Schema) *fileScan {
	fs := &fileScan{files: make([]chan decoded, len(files)), begun: make(chan struct{})}
	fs.ctx, fs.cancel = context.WithCancel(ctx)
	for i := range files {
		fs.files[i] = make(chan decoded, fileAheadBatches)
	}
	workers := min(len(files), s.e.cfg.Threads)
	share := int64(scanAheadBytes / workers)
	fs.ahead = make([]*semaphore.Weighted, workers)
	for w := range workers {
		fs.ahead[w] = semaphore.NewWeighted(share)
	}
	for w := range workers {
		fs.wg.Add(1)
		go func() {
			defer fs.wg.Done()
			if w > 0 { // the first batch goes out before the other decoders start
				select {
				case <-fs.begun:
				case <-fs.ctx.Done():
				}
			}
			failed := false
			fetching := func() {} // ends the fetch ahead of file i
			for i := w; i < len(files); i += workers {
				next := func() {}
				if !failed && i+workers < len(files) {
					next = fs.fetchAhead(s.e.cache, files[i+workers].Key)
				}
				if !failed {
					sink := fileSink{ch: fs.files[i], ahead: fs.ahead[w], max: share}
					if err := s.e.decodeFile(fs.ctx, files[i], i == 0, schema, cols, out, sink); err != nil {
						failed = true
						select {
						case fs.files[i] <- decoded{err: err}:
						case <-fs.ctx.Done():
						}
					}
				}
				close(fs.files[i])
				fetching()
				fetching = next
			}
			fetching()
		}()
	}
	return fs
}

// fetchAhead starts making key's file local while its decoder decodes
// another, once the stream has its first batch (a download meanwhile
// delays it), and returns what ends it: it waits for the fetch and unpins
// the file. A failed fetch is left for the decoder's own Acquire to
// report.
func (fs *fileScan) fetchAhead(cache FileCache, key string) (done func()) {
	ch := make(chan func(), 1)
	go func() {
		unpin := func() {}
		select {
		case <-fs.begun:
			if _, release, err := cache.Acquire(fs.ctx, []string{key}); err == nil {
				unpin = release
			}
		case <-fs.ctx.Done():
		}
		ch <- unpin
	}()
	return func() { (<-ch)() }
}

// next returns the next batch, nil at the end.
func (fs *fileScan) next() (arrow.RecordBatch, error) {
	for fs.at < len(fs.files) {
		d, ok := <-fs.files[fs.at]
		// The first file has given its first batch, or ended: the other
		// decoders may start.
		fs.begin()
		if ok {
			// File i is decoder i%workers's (startFileScan).
			fs.ahead[fs.at%len(fs.ahead)].Release(d.n)
			return d.b, d.err
		}
		if err := fs.ctx.Err(); err != nil { // a decoder stopped early
			return nil, fmt.Errorf("%w: %v", ErrCanceled, err)
		}
		fs.at++
	}
	return nil, nil
}

// close stops the decoders and releases what they decoded.
func (fs *fileScan) close() {
	fs.cancel()
	fs.wg.Wait()
	for _, ch := range fs.files { // every decoder closed its channels
		for d := range ch {
			if d.b != nil {
				d.b.Release()
			}
		}
	}
}

// fileSink is where a decoder sends a file's batches.
type fileSink struct {
	ch    chan<- decoded
	ahead *semaphore.Weighted // the decoder's, released as the stream takes them
	max   int64               // ahead's size
}

// send hands b over to the stream once the decoder holds little enough.
func (k fileSink) send(ctx context.Context, b arrow.RecordBatch) error {
	n := min(ingest.BatchBytes(b), k.max)
	if err := k.ahead.Acquire(ctx, n); err != nil {
		return err
	}
	select {
	case k.ch <- decoded{b: b, n: n}:
		return nil
	case <-ctx.Done():
		k.ahead.Release(n)
		return ctx.Err()
	}
}

// decodeFile sends the batches of f to sink, cut to the result's columns.
// The first file's first row group is read in batches of firstRows rows,
// so that the scan's first batch is ready soon.
func (e *Engine) decodeFile(ctx context.Context, f catalog.File, first bool, schema *arrow.Schema, cols []int, out *arrow.Schema, sink fileSink) error {
	paths, unpin, err := e.cache.Acquire(ctx, []string{f.Key})
	if err != nil {
		return e.scanError(ctx, f, err)
	}
	defer unpin()
	fh, err := os.Open(paths[0])
	if err != nil {
		return e.scanError(ctx, f, err)
	}
	defer fh.Close()
	pr, err := file.NewParquetReader(fh)
	if err != nil {
		return e.scanError(ctx, f, err)
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{Parallel: true}, e.mem)
	if err != nil {
		return e.scanError(ctx, f, err)
	}
	if got, err := fr.Schema(); err != nil || !sameTypes(got, schema) {
		return fmt.Errorf("%w: file %s does not hold its table's schema", ErrInternal, f.Key)
	}
	// Row groups read together, and their batch size.
	var parts [][]int
	var sizes []int64
	groups := make([]int, pr.NumRowGroups())
	for i := range groups {
		groups[i] = i
	}
	if first && len(groups) > 0 {
		parts, sizes = append(parts, groups[:1]), append(sizes, firstRows)
		groups = groups[1:]
	}
	if len(groups) > 0 {
		parts, sizes = append(parts, groups), append(sizes, fileBatchRows)
	}
	// The memory cache keeps copies, taken as the batches are decoded:
	// arrow-go decodes decimals and narrow integers into Go memory,
	// whatever the allocator, and a cache on the Go heap lets the collector
	// leave as much garbage again (a cold SF1 lineitem scan grew the node
	// by 1.5 GiB when the cache kept the decoded batches themselves).
	fill := e.cfg.Memory.Fill(f.Key)
	defer fill.Abort()
	for i, groups := range parts {
		fr.Props.BatchSize = sizes[i]
		rr, err := fr.GetRecordReader(ctx, nil, groups)
		if err != nil {
			return e.scanError(ctx, f, err)
		}
		err = e.sendBatches(ctx, f, rr, fill, cols, out, sink)
		rr.Release()
		if err != nil {
			return err
		}
	}
	fill.Done()
	return nil
}

// sendBatches sends what rr reads to sink, cut to the result's columns.
func (e *Engine) sendBatches(ctx context.Context, f catalog.File, rr pqarrow.RecordReader, fill *hotcache.Filling, cols []int, out *arrow.Schema, sink fileSink) error {
	for rr.Next() {
		b := rr.RecordBatch()
		fill.Add(b)
		b.Retain()
		cut, ok := project([]arrow.RecordBatch{b}, cols, out)
		if !ok {
			return fmt.Errorf("%w: file %s does not hold its table's schema", ErrInternal, f.Key)
		}
		if err := sink.send(ctx, cut[0]); err != nil {
			cut[0].Release()
			return e.scanError(ctx, f, err)
		}
	}
	if err := rr.Err(); err != nil {
		return e.scanError(ctx, f, err)
	}
	return nil
}

func (fs *fileScan) begin() {
	if !fs.started {
		fs.started = true
		close(fs.begun)
	}
}

func (e *Engine) scanError(ctx context.Context, f catalog.File, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %v", ErrCanceled, ctx.Err())
	}
	return fmt.Errorf("%w: read %s: %v", ErrInternal, f.Key, err)
}
