package api

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/miniodb/miniodb/ingest"
)

// latencyBuckets spans 1 ms to 2 min: point reads to big scans.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// Metrics is one node's Prometheus registry with the seed's metric names
// (see doc.go for the list). Event metrics are counted as events happen;
// state metrics (tables, buffers, WAL, cache, pools) are read from their
// owners at scrape time by a collector registered with Watch.
type Metrics struct {
	reg    *prometheus.Registry
	nodeID string

	requests     *prometheus.CounterVec   // method, status, table
	duration     *prometheus.HistogramVec // method, table
	dataPoints   *prometheus.CounterVec   // table
	queryLatency *prometheus.HistogramVec // sql_type, table
	backupFiles  *prometheus.CounterVec   // status, table
	ingestRows   *prometheus.CounterVec   // table
	ingestBytes  *prometheus.CounterVec   // table
	ingestTime   *prometheus.HistogramVec // status
	flushes      *prometheus.CounterVec   // table, status
	flushTime    *prometheus.HistogramVec // status
	flushRows    *prometheus.CounterVec   // table
	flushBytes   *prometheus.CounterVec   // table
	flushFiles   *prometheus.CounterVec   // table
	slowQueries  prometheus.Counter

	// Running totals for GetStats (reading them back from Prometheus
	// would need a Gather).
	queries, queryErrors, slow, active atomic.Int64
	queryNanos                         atomic.Int64
	flushCount, flushErrs              atomic.Int64
	started                            time.Time
}

// NewMetrics makes a node's registry with the Go and process collectors
// and every event metric registered.
func NewMetrics(nodeID string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), nodeID: nodeID, started: time.Now()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets}, labels)
		m.reg.MustRegister(h)
		return h
	}
	m.requests = counter("miniodb_requests_total", "Requests served, by API method, outcome (success or the gRPC code) and table.", "method", "status", "table")
	m.duration = histogram("miniodb_requests_duration_seconds", "Time to serve a request, by API method and table.", "method", "table")
	m.dataPoints = counter("miniodb_data_points_total", "Rows written, by table (every path: Flight SQL, OlapService, REST).", "table")
	m.queryLatency = histogram("miniodb_query_latency_seconds", "Time from the start of a query to the end of its result stream.", "sql_type", "table")
	m.backupFiles = counter("miniodb_backup_files_total", "Files backed up, by outcome and table.", "status", "table")
	m.ingestRows = counter("miniodb_ingest_rows_total", "Rows made durable by ingests, by table.", "table")
	m.ingestBytes = counter("miniodb_ingest_bytes_total", "Arrow bytes made durable by ingests, by table.", "table")
	m.ingestTime = histogram("miniodb_ingest_duration_seconds", "Time from the start of an ingest to its durable acknowledgement.", "status")
	m.flushes = counter("miniodb_flushes_total", "Buffer flushes to Parquet, by table and outcome.", "table", "status")
	m.flushTime = histogram("miniodb_flush_duration_seconds", "Time to write, upload and commit one table's flush.", "status")
	m.flushRows = counter("miniodb_flush_rows_total", "Rows flushed to Parquet, by table.", "table")
	m.flushBytes = counter("miniodb_flush_bytes_total", "Parquet bytes uploaded by flushes, by table.", "table")
	m.flushFiles = counter("miniodb_flush_files_total", "Parquet files written by flushes, by table.", "table")
	m.slowQueries = prometheus.NewCounter(prometheus.CounterOpts{Name: "miniodb_slow_queries_total", Help: "Queries slower than log.slow_query_threshold."})
	m.reg.MustRegister(m.slowQueries,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the node's registry, for collectors of other packages.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// request counts one finished API call.
func (m *Metrics) request(method, status, table string, took time.Duration) {
	m.requests.WithLabelValues(method, status, table).Inc()
	m.duration.WithLabelValues(method, table).Observe(took.Seconds())
}

// ingested counts one finished ingest.
func (m *Metrics) ingested(table string, rows, bytes int64, took time.Duration, err error) {
	if err != nil {
		m.ingestTime.WithLabelValues("error").Observe(took.Seconds())
		return
	}
	m.ingestTime.WithLabelValues("success").Observe(took.Seconds())
	m.dataPoints.WithLabelValues(table).Add(float64(rows))
	m.ingestRows.WithLabelValues(table).Add(float64(rows))
	m.ingestBytes.WithLabelValues(table).Add(float64(bytes))
}

// Flushed implements ingest.Observer.
func (m *Metrics) Flushed(ev ingest.FlushEvent) {
	m.flushCount.Add(1)
	if ev.Err != nil {
		m.flushErrs.Add(1)
		m.flushes.WithLabelValues(ev.Table, "error").Inc()
		m.flushTime.WithLabelValues("error").Observe(ev.Took.Seconds())
		return
	}
	m.flushes.WithLabelValues(ev.Table, "success").Inc()
	m.flushTime.WithLabelValues("success").Observe(ev.Took.Seconds())
	m.flushRows.WithLabelValues(ev.Table).Add(float64(ev.Rows))
	m.flushBytes.WithLabelValues(ev.Table).Add(float64(ev.Bytes))
	m.flushFiles.WithLabelValues(ev.Table).Add(float64(ev.Files))
}

// BackupFile counts one file a backup copied (status "success") or failed
// to copy ("error"), for the backup service.
func (m *Metrics) BackupFile(table, status string) {
	m.backupFiles.WithLabelValues(status, table).Inc()
}

// queryDone counts one finished query.
func (m *Metrics) queryDone(sql, tables string, took time.Duration, err error, slow bool) {
	m.queries.Add(1)
	m.queryNanos.Add(int64(took))
	if err != nil {
		m.queryErrors.Add(1)
	}
	if slow {
		m.slow.Add(1)
		m.slowQueries.Inc()
	}
	m.queryLatency.WithLabelValues(sqlType(sql), tables).Observe(took.Seconds())
}

// sqlType is the statement's first keyword when it is a known one, so the
// label's values stay few.
func sqlType(sql string) string {
	s := strings.TrimLeftFunc(sql, func(r rune) bool { return r == '(' || unicode.IsSpace(r) })
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	if end < 0 {
		end = len(s)
	}
	switch w := strings.ToLower(s[:end]); w {
	case "select", "with", "values", "from", "table", "explain", "describe", "show", "summarize", "pivot", "unpivot":
		return w
	}
	return "other"
}
