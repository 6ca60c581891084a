package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest/wal"
	"github.com/miniodb/miniodb/objstore"
)

// Config configures the ingest service. Zero values take the defaults noted.
type Config struct {
	WALDir           string        // required
	NodeID           string        // whose WAL this is (catalog.Table.Flushed); default "node-1"
	WALSegmentSize   int64         // default 64 MiB
	WALMaxBytes      int64         // 0: unlimited; beyond it ingest gets ErrBackpressure
	Partitions       int           // default 8
	BufferSize       int64         // rows per table before a flush; default 100000
	FlushInterval    time.Duration // age of the oldest buffered row before a flush; default 30s
	MaxMemory        int64         // buffered bytes above which the largest tables flush; default 1 GiB
	MaxBuffered      int64         // buffered bytes above which ingest is refused; default 2 × MaxMemory
	FlushConcurrency int           // tables flushed at once; default 2
	NoSync           bool          // tests and benchmarks only: no fsync
	// RefreshInterval, when positive, re-reads the catalog that often for
	// changes of other nodes sharing it (Refresh); 0: never (a catalog
	// only this node writes).
	RefreshInterval time.Duration
	// OrphanGrace is how old an object under tables/ that no catalog entry
	// references must be before start-up deletes it: younger ones may be
	// another node's flush between its upload and its commit. Default 1h.
	OrphanGrace time.Duration
	// Overrides are per-table settings from the config file; their non-zero
	// fields win over the table's catalog config.
	Overrides map[string]catalog.TableConfig
	// Decisions is the outcome register of ingests split across nodes
	// (twophase.go); nil: this node takes no part in them.
	Decisions Decider
	// PrepareTimeout is how long a prepared part waits for its outcome
	// before asking the register itself (recording abort if there is
	// none); default 30s. DecisionTTL is how long the register keeps an
	// outcome; default 7 days.
	PrepareTimeout time.Duration
	DecisionTTL    time.Duration
	// ShipWAL puts every group of WAL records into the bucket before it
	// counts as durable (wal.replicate: objstore; ship.go), so another
	// node can replay this node's unflushed rows if it dies (Adopt).
	ShipWAL bool
	// Parquet, if set, writes the flush's files of the schemas it
	// supports (package duckwrite); arrow-go writes the others, and all
	// of them when it is nil.
	Parquet ParquetWriter
	// Hot, if set, is given the batches of every file this node commits,
	// for queries to read without decoding the file (package hotcache).
	Hot      HotFiles
	Policy   TablePolicy // table_management rules (policy.go)
	Observer Observer    // told about flushes; nil: nobody
}

func (c *Config) setDefaults() {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.WALSegmentSize, 64<<20)
	def(&c.BufferSize, 100_000)
	def(&c.MaxMemory, 1<<30)
	def(&c.MaxBuffered, 2*c.MaxMemory)
	if c.Partitions <= 0 {
		c.Partitions = 8
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 30 * time.Second
	}
	if c.FlushConcurrency <= 0 {
		c.FlushConcurrency = 2
	}
	if c.NodeID == "" {
		c.NodeID = "node-1"
	}
	if c.OrphanGrace <= 0 {
		c.OrphanGrace = time.Hour
	}
	if c.PrepareTimeout <= 0 {
		c.PrepareTimeout = 30 * time.Second
	}
	if c.DecisionTTL <= 0 {
		c.DecisionTTL = 7 * 24 * time.Hour
	}
}

// Service is a node's write path. Create it with Open.
type Service struct {
	cfg    Config
	cat    catalog.Catalog
	bucket objstore.Bucket
	cache  *objstore.Cache
	log    *zap.Logger
	mem    memory.Allocator
	wal    *wal.WAL

	mu       sync.Mutex // guards tables, openTxns, prepared, lastTxn, closed
	tables   map[string]*tableState
	openTxns map[uint64]uint64  // txn -> LSN of its first record
	prepared map[string]*Staged // split ingest id -> this node's prepared part
	lastTxn  uint64
	closed   bool

	shipper    *shipper     // nil unless cfg.ShipWAL
	encodeBufs sync.Pool    // *bytes.Buffer for DATA records (appendData)
	buffered   atomic.Int64 // bytes of batches held by buffers and open transactions
	retry      flushBackoff // spaces out the flushes of tables whose last flush failed
	kick       chan struct{}
	stop       chan struct{}
	done       chan struct{}

	syncedVersion atomic.Uint64 // catalog version of the last Refresh
	refreshDone   chan struct{} // closed when the refresher has stopped
}

// tableState is the in-memory state of one table. mu guards every field;
// flushMu serialises flushes, replaces and drops of the table.
type tableState struct {
	flushMu sync.Mutex

	mu         sync.Mutex
	name       string
	schema     *arrow.Schema
	config     catalog.TableConfig
	flushedLSN uint64
	// incarnation is the catalog's Table.Incarnation this node's buffered
	// rows belong to; every COMMIT and file carries it.
	incarnation string
	files       []catalog.File
	entries     []*entry // committed transactions in LSN order
	rows        int64
	bytes       int64
	dropped     bool // set by DropTable; a COMMIT must never follow it
}

// entry is one committed transaction held in a buffer.
type entry struct {
	lsn      uint64 // of the COMMIT
	firstLSN uint64 // of its first DATA record
	arrival  time.Time
	batches  []arrow.RecordBatch
	rows     int64
	bytes    int64
}

func (e *entry) release() {
	for _, b := range e.batches {
		b.Release()
	}
}

// Open opens the WAL, loads the tables from the catalog, deletes objects no
// catalog entry references, replays the WAL and starts the flusher.
func Open(ctx context.Context, cfg Config, cat catalog.Catalog, bucket objstore.Bucket, cache *objstore.Cache, log *zap.Logger) (*Service, error) {
	cfg.setDefaults()
	opts := wal.Options{Dir: cfg.WALDir, SegmentSize: cfg.WALSegmentSize, MaxBytes: cfg.WALMaxBytes, NoSync: cfg.NoSync}
	var sh *shipper
	if cfg.ShipWAL {
		sh = newShipper(cfg.NodeID, bucket, log)
		if err := sh.load(ctx); err != nil {
			return nil, err
		}
		opts.Ship = sh.ship
	}
	w, err := wal.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open wal: %w", err)
	}
	s := &Service{
		cfg: cfg, cat: cat, bucket: bucket, cache: cache, log: log, mem: memory.DefaultAllocator, wal: w, shipper: sh,
		tables: map[string]*tableState{}, openTxns: map[uint64]uint64{}, prepared: map[string]*Staged{},
		encodeBufs: sync.Pool{New: func() any { return new(bytes.Buffer) }},
		kick:       make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := s.load(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.replay(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.collectGarbage(ctx); err != nil {
		log.Warn("delete unreferenced objects", zap.Error(err))
	}
	go s.flusher()
	s.refreshDone = make(chan struct{})
	if cfg.RefreshInterval > 0 {
		go s.refresher(cfg.RefreshInterval)
	} else {
		close(s.refreshDone)
	}
	return s, nil
}

func (s *Service) load(ctx context.Context) error {
	tables, err := s.cat.Tables(ctx)
	if err != nil {
		return fmt.Errorf("load tables: %w", err)
	}
	for _, t := range tables {
		files, err := s.cat.Files(ctx, t.Name)
		if err != nil {
			return fmt.Errorf("load files of %s: %w", t.Name, err)
		}
		s.tables[t.Name] = &tableState{name: t.Name, schema: t.Schema, config: t.Config, flushedLSN: t.FlushedLSN(s.cfg.NodeID), incarnation: t.Incarnation, files: files}
	}
	return nil
}

// collectGarbage deletes objects under tables/ that no catalog entry
// references and that are older than cfg.OrphanGrace: uploads of flushes
// that crashed before their commit. The catalog is read after the listing,
// so a file committed meanwhile (by this node's replay or by another node)
// is known; the grace spares uploads still on their way to a commit.
func (s *Service) collectGarbage(ctx context.Context) error {
	var candidates []objstore.ObjectInfo
	cutoff := time.Now().Add(-s.cfg.OrphanGrace)
	err := s.bucket.List(ctx, "tables/", func(o objstore.ObjectInfo) error {
		if o.Modified.Before(cutoff) {
			candidates = append(candidates, o)
		}
		return nil
	})
	if err != nil || len(candidates) == 0 {
		return err
	}
	known, err := s.referencedKeys(ctx)
	if err != nil {
		return err
	}
	for _, o := range candidates {
		if known[o.Key] {
			continue
		}
		s.log.Info("delete unreferenced object", zap.String("key", o.Key), zap.Time("modified", o.Modified))
		if err := s.bucket.Delete(ctx, o.Key); err != nil {
			return err
		}
		s.cache.Forget(o.Key)
	}
	return nil
}

// referencedKeys reads every table's file keys from the catalog.
func (s *Service) referencedKeys(ctx context.Context) (map[string]bool, error) {
	tables, err := s.cat.Tables(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, t := range tables {
		files, err := s.cat.Files(ctx, t.Name)
		if errors.Is(err, catalog.ErrTableNotFound) {
			continue // dropped since the listing: its objects go with it
		}
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			known[f.Key] = true
		}
	}
	return known, nil
}

// Close flushes every buffer (as far as the object store allows) and closes
// the WAL. Rows that could not be flushed stay in the WAL for the next start.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	<-s.refreshDone
	s.releasePrepared()
	ferr := s.FlushAll(ctx)
	if s.shipper != nil {
		// Queued records still ship if the store answers soon; after that
		// they fail rather than hold Close forever.
		t := time.AfterFunc(5*time.Second, s.shipper.cancel)
		defer t.Stop()
	}
	s.mu.Lock()
	for _, ts := range s.tables {
		ts.mu.Lock()
		for _, e := range ts.entries {
			e.release()
		}
		ts.entries = nil
		ts.mu.Unlock()
	}
	s.mu.Unlock()
	return errors.Join(ferr, s.wal.Close())
}

func (s *Service) table(name string) *tableState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookupLocked(name)
}

// lookupLocked finds a table by name ignoring case, as DuckDB resolves
// identifiers: "Users", "users" and "USERS" are one table, and no two
// tables may differ only in case (s.mu held).
func (s *Service) lookupLocked(name string) *tableState {
	if ts, ok := s.tables[name]; ok {
		return ts
	}
	for n, ts := range s.tables {
		if strings.EqualFold(n, name) {
			return ts
		}
	}
	return nil
}

// TableInfo describes a table for the query side and the APIs.
type TableInfo struct {
	Name         string
	Schema       *arrow.Schema
	Config       catalog.TableConfig
	Files        int
	FileRows     int64
	FileBytes    int64
	BufferedRows int64
}

// Tables lists the tables in name order.
func (s *Service) Tables() []TableInfo {
	s.mu.Lock()
	states := make([]*tableState, 0, len(s.tables))
	for _, ts := range s.tables {
		states = append(states, ts)
	}
	s.mu.Unlock()
	out := make([]TableInfo, 0, len(states))
	for _, ts := range states {
		out = append(out, ts.info())
	}
	sortInfos(out)
	return out
}

func (ts *tableState) info() TableInfo {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ti := TableInfo{Name: ts.name, Schema: ts.schema, Config: ts.config, Files: len(ts.files), BufferedRows: ts.rows}
	for _, f := range ts.files {
		ti.FileRows += f.Rows
		ti.FileBytes += f.Bytes
	}
	return ti
}
