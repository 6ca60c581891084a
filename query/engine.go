package query

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/miniodb/miniodb/duckarrow"
	"github.com/miniodb/miniodb/hotcache"
	"github.com/miniodb/miniodb/ingest"
)

// Config configures the engine. Zero values take the defaults noted.
type Config struct {
	CacheDir      string // the only folder DuckDB may read (required)
	TempDir       string // DuckDB's spill folder (required)
	Threads       int    // default: number of CPUs
	MemoryLimit   string // DuckDB syntax such as "4GB"; default: DuckDB's (80% of RAM)
	MaxConcurrent int    // queries running at once; default 2 × CPUs
	// MaxTempSize bounds what DuckDB may spill to TempDir, in DuckDB
	// syntax ("10GB", "0B": no spilling); default: DuckDB's (the disk's
	// free space). Like MemoryLimit it is database-wide (doc.go, Limits).
	MaxTempSize string
	// MaxResultRows and MaxResultBytes cap one query's result (0: no
	// cap); a stream that would exceed one ends with ErrResultTooLarge.
	MaxResultRows  int64
	MaxResultBytes int64
	// Memory holds the batches of files recently flushed on this node;
	// a verbatim scan streams those instead of reading the files
	// (memscan.go), and decodes the other files itself (filescan.go).
	// nil: every query runs on DuckDB.
	Memory MemoryFiles
	// Allocator is what a verbatim scan decodes files into; default: C
	// memory (mallocator), outside the Go heap, like the memory cache's.
	Allocator memory.Allocator
}

// MemoryFiles holds the batches of files in memory (hotcache.Cache).
type MemoryFiles interface {
	// Get returns the batches of a file, retained for the caller; ok is
	// false for a file not held.
	Get(key string) (batches []arrow.RecordBatch, ok bool)
	// Fill begins keeping copies of a file's batches, added as they are
	// decoded, in the room free now.
	Fill(key string) *hotcache.Filling
}

// Source gives the engine a consistent snapshot of one table, and a
// table's schema without its rows (ingest.ErrTableNotFound if missing).
type Source interface {
	Snapshot(ctx context.Context, table string) (*ingest.Snapshot, error)
	TableSchema(table string) (*arrow.Schema, error)
}

// FileCache makes objects local and pins them while a query reads them.
type FileCache interface {
	Acquire(ctx context.Context, keys []string) (paths []string, release func(), err error)
}

// Engine runs sandboxed SQL on one DuckDB database.
type Engine struct {
	cfg   Config
	db    bindings.Database
	src   Source
	cache FileCache
	mem   memory.Allocator // cfg.Allocator or C memory
	sem   chan struct{}
	// scans numbers the Arrow scan views: DuckDB's duckdb_arrow_scan views
	// are global to the database, not per connection, so every one needs a
	// name no concurrent query uses.
	scans atomic.Uint64
	// described keeps the result schemas of parameterless queries
	// (describe_cache.go).
	described describeCache
	// analyzed keeps the sandbox's analysis of query texts
	// (analysis_cache.go).
	analyzed analysisCache
	// readBack keeps, by schema hash, whether arrow-go reads a flushed
	// file back with the schema's types (Engine.readsBack).
	readBack startOverMap[bool]
	// nonScalar holds the name of every function DuckDB knows as anything
	// but a scalar function (aggregate, window, table, pragma, macro): a
	// statement calling one is never split by node (Statement.ScanOf).
	nonScalar map[string]bool
}

// Open starts an in-memory DuckDB with the sandbox settings applied and
// locked.
func Open(cfg Config, src Source, cache FileCache) (*Engine, error) {
	if cfg.Threads <= 0 {
		cfg.Threads = runtime.NumCPU()
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 2 * runtime.NumCPU()
	}
	for _, d := range []string{cfg.CacheDir, cfg.TempDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	e := &Engine{cfg: cfg, src: src, cache: cache, mem: cfg.Allocator, sem: make(chan struct{}, cfg.MaxConcurrent)}
	if e.mem == nil {
		e.mem = mallocator.NewMallocator()
	}
	if bindings.Open("", &e.db) == bindings.StateError {
		return nil, fmt.Errorf("%w: open duckdb", ErrInternal)
	}
	if err := e.lockDown(); err != nil {
		bindings.Close(&e.db)
		return nil, err
	}
	if err := e.loadFunctionKinds(); err != nil {
		bindings.Close(&e.db)
		return nil, err
	}
	return e, nil
}

// loadFunctionKinds asks DuckDB once which function names are not scalar.
// A name that is scalar and also something else (range is a scalar and a
// table function) counts as not scalar, and so do macros, whose bodies
// may aggregate: a statement wrongly kept whole is only slower, one wrongly
// split answers wrong.
func (e *Engine) loadFunctionKinds() error {
	s, err := e.begin(context.Background())
	if err != nil {
		return err
	}
	defer s.close()
	names, err := s.callString("SELECT string_agg(DISTINCT lower(function_name), chr(10)) FROM duckdb_functions() WHERE function_type <> $1::VARCHAR",
		"scalar", "function list")
	if err != nil {
		return fmt.Errorf("list duckdb's functions: %w", err)
	}
	e.nonScalar = map[string]bool{}
	for _, n := range strings.Split(names, "\n") {
		e.nonScalar[n] = true
	}
	return nil
}

// isNonScalar reports whether DuckDB knows name as anything but a scalar
// function (name is lower-cased, as sandbox.Analysis.Functions are).
func (e *Engine) isNonScalar(name string) bool { return e.nonScalar[name] }

// lockDown applies the settings every later connection inherits. The order
// matters: directories first, then external access off, then the lock.
func (e *Engine) lockDown() error {
	conn, err := e.connect()
	if err != nil {
		return err
	}
	defer bindings.Disconnect(&conn)
	settings := []string{
		fmt.Sprintf("SET threads = %d", e.cfg.Threads),
		"SET temp_directory = " + duckarrow.String(e.cfg.TempDir),
		fmt.Sprintf("SET allowed_directories = [%s, %s]", duckarrow.String(dirSlash(e.cfg.CacheDir)), duckarrow.String(dirSlash(e.cfg.TempDir))),
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET enable_external_access = false",
		// Results are Arrow for every Flight SQL client: plain Utf8 and
		// List (older clients cannot read Utf8View or ListView), 32-bit
		// offsets, and DuckDB's documented type mapping.
		"SET produce_arrow_string_view = false",
		"SET arrow_output_list_view = false",
		"SET arrow_large_buffer_size = false",
		"SET arrow_lossless_conversion = false",
		// Flushed objects never change (a new ULID key per file), so their
		// footers can be kept between queries instead of re-read by every
		// view over them; a re-downloaded cache file has a new mtime and is
		// read again. NOTE: GLOBAL, because a plain SET of this parquet
		// extension option applies to this connection only, and every query
		// runs on a new one (TestSettingsReachQueryConnections).
		"SET GLOBAL parquet_metadata_cache = true",
		// Times with a zone are read, cast to dates and cut by the clock in
		// UTC and the Gregorian calendar, not in the host's zone (TZ,
		// /etc/localtime) and its locale's calendar (LANG=th_TH: year 2567
		// for 2024), which DuckDB takes by default: every node answers
		// alike, and a timestamp with a zone comes back as tz=UTC whatever
		// the host. A query that wants another zone says so (AT TIME ZONE,
		// timezone()). GLOBAL, as the settings belong to the ICU extension.
		"SET GLOBAL TimeZone = 'UTC'",
		"SET GLOBAL Calendar = 'gregorian'",
	}
	if e.cfg.MemoryLimit != "" {
		settings = append(settings, "SET memory_limit = "+duckarrow.String(e.cfg.MemoryLimit))
	}
	if e.cfg.MaxTempSize != "" {
		settings = append(settings, "SET max_temp_directory_size = "+duckarrow.String(e.cfg.MaxTempSize))
	}
	settings = append(settings, "SET lock_configuration = true")
	for _, s := range settings {
		if err := exec(conn, s); err != nil {
			return fmt.Errorf("configure duckdb (%s): %w", s, err)
		}
	}
	return nil
}

// Close closes the database.
func (e *Engine) Close() { bindings.Close(&e.db) }

func (e *Engine) connect() (bindings.Connection, error) {
	var conn bindings.Connection
	if bindings.Connect(e.db, &conn) == bindings.StateError {
		return conn, fmt.Errorf("%w: connect to duckdb", ErrInternal)
	}
	return conn, nil
}

// Query runs the statement and returns its result as a stream of batches.
// params, if not nil, binds the statement's parameters by position (column
// i to $i+1); each of its rows runs the statement once and the results
// follow each other. The stream must be closed.
func (e *Engine) Query(ctx context.Context, sql string, params arrow.RecordBatch) (*Stream, error) {
	s, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.query(ctx, sql, params)
	if err != nil {
		s.close()
		return nil, err
	}
	return st, nil
}

func (s *session) query(ctx context.Context, sql string, params arrow.RecordBatch) (*Stream, error) {
	an, run, err := s.analyze(sql)
	if err != nil {
		return nil, err
	}
	if params == nil && an.Verbatim && s.e.cfg.Memory != nil {
		return s.verbatim(ctx, run, an)
	}
	if err := s.define(ctx, an); err != nil {
		return nil, err
	}
	return s.execute(ctx, run, params)
}

func exec(conn bindings.Connection, sql string) error {
	var res bindings.Result
	defer bindings.DestroyResult(&res)
	if bindings.Query(conn, sql, &res) == bindings.StateError {
		return classify(bindings.ResultErrorType(&res), bindings.ResultError(&res))
	}
	return nil
}

func dirSlash(d string) string {
	if strings.HasSuffix(d, "/") {
		return d
	}
	return d + "/"
}
