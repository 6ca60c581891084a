package api

import (
	"context"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/query"
)

// Ingester is the write path as the APIs call it (an *ingest.Service).
type Ingester interface {
	Ingest(ctx context.Context, req ingest.Request) (int64, error)
}

// Ingester returns in measured: every ingest notes its table on the
// request and counts its rows, bytes and time to the durable ack. Wrap the
// ingester every path uses (Flight SQL and the APIs here) once.
func (t *Telemetry) Ingester(in Ingester) Ingester { return &meteredIngester{in: in, t: t} }

type meteredIngester struct {
	in Ingester
	t  *Telemetry
}

func (mi *meteredIngester) Ingest(ctx context.Context, req ingest.Request) (int64, error) {
	NoteTable(ctx, req.Table)
	start := time.Now()
	cr := &countingReader{BatchReader: req.Batches}
	req.Batches = cr
	n, err := mi.in.Ingest(ctx, req)
	table := req.Table
	if mi.t.cfg.TableExists != nil && !mi.t.cfg.TableExists(table) {
		table = "" // NOTE: a refused name must not become a label value
	}
	mi.t.m.ingested(table, n, cr.bytes, time.Since(start), err)
	return n, err
}

// countingReader adds up the Arrow bytes of the batches it passes on.
type countingReader struct {
	ingest.BatchReader
	bytes int64
}

func (c *countingReader) Next() bool {
	if !c.BatchReader.Next() {
		return false
	}
	c.bytes += ingest.BatchBytes(c.RecordBatch())
	return true
}

// Stream is a running query's result (a *query.Stream). Close must be
// called.
type Stream interface {
	Schema() *arrow.Schema
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
	Close()
}

// Runner runs one SQL statement.
type Runner interface {
	Run(ctx context.Context, sql string) (Stream, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, sql string) (Stream, error)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, sql string) (Stream, error) { return f(ctx, sql) }

// Runner returns r measured: a query's latency runs from Run to the
// stream's Close (the client has read the result or gone away); queries
// slower than the threshold are logged at warn with their SQL.
func (t *Telemetry) Runner(r Runner) Runner {
	return RunnerFunc(func(ctx context.Context, sql string) (Stream, error) {
		start := time.Now()
		t.m.active.Add(1)
		st, err := r.Run(ctx, sql)
		if err != nil {
			t.m.active.Add(-1)
			t.queryDone(ctx, sql, start, 0, err)
			return nil, err
		}
		return &timedStream{Stream: st, t: t, ctx: ctx, sql: sql, start: start}, nil
	})
}

type timedStream struct {
	Stream
	t      *Telemetry
	ctx    context.Context
	sql    string
	start  time.Time
	rows   int64
	closed bool
}

func (s *timedStream) Next() bool {
	if !s.Stream.Next() {
		return false
	}
	s.rows += s.RecordBatch().NumRows()
	return true
}

func (s *timedStream) Close() {
	if s.closed {
		return
	}
	s.closed = true
	err := s.Stream.Err()
	s.Stream.Close()
	s.t.m.active.Add(-1)
	s.t.queryDone(s.ctx, s.sql, s.start, s.rows, err)
}

func (t *Telemetry) queryDone(ctx context.Context, sql string, start time.Time, rows int64, err error) {
	took := time.Since(start)
	slow := t.cfg.SlowQuery > 0 && took >= t.cfg.SlowQuery
	tables := callOf(ctx).table()
	t.m.queryDone(sql, callOf(ctx).tableLabel(t.cfg.TableExists), took, err, slow)
	if slow {
		t.log.Warn("slow query", zap.String("request_id", RequestID(ctx)), zap.String("sql", clip(sql, 4096)),
			zap.Float64("duration_ms", float64(took.Microseconds())/1000), zap.Int64("rows", rows),
			zap.String("table", tables), zap.Duration("threshold", t.cfg.SlowQuery), zap.Error(err))
	}
}

// clip shortens s to at most n bytes without cutting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// QueryPool is the query engine's slot pool as a PoolStat.
func (t *Telemetry) QueryPool() PoolStat {
	active := t.m.active.Load()
	return PoolStat{Name: "duckdb", Kind: "duckdb", State: "ok", Active: active, Max: int64(t.cfg.MaxQueries),
		Idle: max(0, int64(t.cfg.MaxQueries)-active), Requests: t.m.queries.Load(), Failures: t.m.queryErrors.Load()}
}

// NoteTables returns src telling each request which tables its query
// reads (for the request's log line and metrics labels).
func NoteTables(src query.Source) query.Source { return tableNoter{src} }

type tableNoter struct{ query.Source }

func (n tableNoter) Snapshot(ctx context.Context, table string) (*ingest.Snapshot, error) {
	NoteTable(ctx, table)
	return n.Source.Snapshot(ctx, table)
}

// statusWriter records what a REST handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush lets streamed responses reach the client batch by batch.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrapHTTP gives one REST route its request id, metrics, log line and
// panic recovery; method is its metrics label.
func (t *Telemetry) wrapHTTP(method string, quiet bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, c := withCall(r.Context(), requestID(r.Header.Get(RequestIDHeader)))
		w.Header().Set(RequestIDHeader, c.id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				t.recovered(ctx, p)
				if sw.status == 0 {
					writeError(sw, r, codeError(codes.Internal, "internal error (request "+c.id+")"))
				}
				c.code = codes.Internal
			}
			t.httpDone(r, sw, c, method, quiet, time.Since(start))
			if p == http.ErrAbortHandler {
				panic(p) // NOTE: aborts the response so a streamed result ends in an error, not a clean end
			}
		}()
		h.ServeHTTP(sw, r.WithContext(ctx))
	})
}

func (t *Telemetry) httpDone(r *http.Request, w *statusWriter, c *call, method string, quiet bool, took time.Duration) {
	table := c.table()
	if !quiet {
		t.m.request(method, statusLabel(c.code), c.tableLabel(t.cfg.TableExists), took)
	}
	lvl := logLevel(c.code)
	if quiet && c.code == codes.OK {
		lvl = logging.LevelDebug
	}
	fields := []zap.Field{zap.String("request_id", c.id), zap.String("http.method", r.Method),
		zap.String("http.path", r.URL.Path), zap.Int("http.status", w.status), zap.Int64("bytes", w.bytes),
		zap.String("method", method), zap.String("remote", r.RemoteAddr),
		zap.Float64("duration_ms", float64(took.Microseconds())/1000)}
	if table != "" {
		fields = append(fields, zap.String("table", table))
	}
	if ce := t.log.Check(zapLevel(lvl), "finished request"); ce != nil {
		ce.Write(fields...)
	}
}

// QueryStarted measures a query whose result stream the caller cannot wrap
// (Flight SQL streams the engine's *query.Stream itself): the query counts
// from now until ctx ends, which for a Flight DoGet is when its result was
// sent or its client went away. Call the returned function with the error
// if the query failed to start; otherwise there is nothing to call.
func (t *Telemetry) QueryStarted(ctx context.Context, sql string) (failed func(error)) {
	start := time.Now()
	t.m.active.Add(1)
	var once sync.Once
	finish := func(err error) {
		once.Do(func() {
			t.m.active.Add(-1)
			t.queryDone(ctx, sql, start, -1, err)
		})
	}
	stop := context.AfterFunc(ctx, func() { finish(nil) })
	return func(err error) {
		stop()
		finish(err)
	}
}
