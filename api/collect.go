package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/miniodb/miniodb/hotcache"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/objstore"
)

// StatsSource is the write path's state (an *ingest.Service).
type StatsSource interface {
	Stats() ingest.Stats
}

// CacheSource is the read cache's state (an *objstore.Cache).
type CacheSource interface {
	Stats() objstore.CacheStats
}

// MemorySource is the memory cache's state (a *hotcache.Cache).
type MemorySource interface {
	Stats() hotcache.Stats
}

// PoolStat is the state of one connection pool: DuckDB's query slots,
// the Redis catalog's connections, an S3 endpoint's connections.
type PoolStat struct {
	Name     string
	Active   int64 // connections (or slots) in use
	Idle     int64
	Max      int64  // 0: unbounded or unknown
	Hits     int64  // a free connection was reused
	Misses   int64  // a new connection was made
	Timeouts int64  // waits for a connection that timed out
	Waits    int64  // requests that had to wait for a connection
	Kind     string // duckdb, redis or s3
	Endpoint string
	State    string // s3: the circuit breaker (closed, open, half-open); others: ok
	Requests int64  // commands or calls sent
	Failures int64  // of them, failed
	LastErr  string
}

// Sources are the parts of a node whose state the metrics read at scrape
// time. Any may be nil.
type Sources struct {
	Bucket string // label of miniodb_storage_objects_total
	Store  StatsSource
	Cache  CacheSource
	Memory MemorySource
	Pools  func() []PoolStat
}

// Watch registers the scrape-time collector over src.
func (m *Metrics) Watch(src Sources) {
	m.reg.MustRegister(&stateCollector{m: m, src: src})
}

// stateCollector reads tables, buffers, WAL, cache and pools when scraped.
type stateCollector struct {
	m   *Metrics
	src Sources
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descBufferBytes   = desc("miniodb_buffer_size_bytes", "Bytes of committed rows held in a table's buffer.", "node", "table")
	descObjects       = desc("miniodb_storage_objects_total", "Parquet objects of a table in the object store.", "bucket", "table")
	descRecords       = desc("miniodb_table_record_count", "Rows of a table: flushed plus buffered.", "table")
	descFiles         = desc("miniodb_table_file_count", "Parquet files of a table.", "table")
	descSize          = desc("miniodb_table_size_bytes", "Parquet bytes of a table.", "table")
	descUtilization   = desc("miniodb_table_buffer_utilization", "Buffered rows of a table over its buffer_size (1 triggers a flush).", "table")
	descBufferedRows  = desc("miniodb_table_buffered_rows", "Rows in a table's buffer.", "table")
	descTables        = desc("miniodb_tables", "Tables on the node.")
	descBuffered      = desc("miniodb_buffered_bytes", "Bytes held by all buffers and open ingests.")
	descMaxMemory     = desc("miniodb_buffer_max_memory_bytes", "Buffered bytes above which the largest tables flush (buffer.max_memory).")
	descMaxBuffered   = desc("miniodb_buffer_max_buffered_bytes", "Buffered bytes above which ingest is refused (buffer.max_buffered).")
	descWALBytes      = desc("miniodb_wal_bytes", "Bytes of write-ahead log segments on disk.")
	descWALLast       = desc("miniodb_wal_last_lsn", "Last log sequence number appended to the WAL.")
	descWALDurable    = desc("miniodb_wal_durable_lsn", "Last log sequence number fsynced.")
	descCacheBytes    = desc("miniodb_cache_bytes", "Bytes held by the local read cache.")
	descCacheMax      = desc("miniodb_cache_max_bytes", "Bound of the local read cache (cache.max_bytes).")
	descCacheObjects  = desc("miniodb_cache_objects", "Objects in the local read cache.")
	descCacheHits     = desc("miniodb_cache_hits_total", "Reads served from the local cache.")
	descCacheMisses   = desc("miniodb_cache_misses_total", "Reads that downloaded the object.")
	descCacheEvicts   = desc("miniodb_cache_evictions_total", "Objects evicted from the local cache.")
	descCacheErrors   = desc("miniodb_cache_fill_errors_total", "Downloads into the cache that failed.")
	descMemBytes      = desc("miniodb_memory_cache_bytes", "Arrow bytes of recently flushed files held in memory.")
	descMemMax        = desc("miniodb_memory_cache_max_bytes", "Bound of the memory cache (cache.memory_bytes).")
	descMemFiles      = desc("miniodb_memory_cache_files", "Files whose batches the memory cache holds.")
	descMemHits       = desc("miniodb_memory_cache_hits_total", "Files a scan streamed from memory.")
	descMemMisses     = desc("miniodb_memory_cache_misses_total", "Files a scan looked for in memory and DuckDB read instead.")
	descActiveQueries = desc("miniodb_active_queries", "Queries running now.")
	descPoolActive    = desc("miniodb_pool_active_connections", "Connections (or slots) of a pool in use.", "pool")
	descPoolIdle      = desc("miniodb_pool_idle_connections", "Idle connections of a pool.", "pool")
	descPoolMax       = desc("miniodb_pool_max_connections", "Size limit of a pool (0: unbounded).", "pool")
	descPoolHits      = desc("miniodb_pool_hits_total", "Times a pool had a free connection.", "pool")
	descPoolMisses    = desc("miniodb_pool_misses_total", "Times a pool had to make a connection.", "pool")
	descPoolTimeouts  = desc("miniodb_pool_timeouts_total", "Waits for a pool connection that timed out.", "pool")
	descPoolWaits     = desc("miniodb_pool_waits_total", "Requests that waited for a pool connection.", "pool")
	descPoolRequests  = desc("miniodb_pool_requests_total", "Commands or calls a pool sent.", "pool")
	descPoolFailures  = desc("miniodb_pool_failures_total", "Commands or calls of a pool that failed.", "pool")
	descPoolOpen      = desc("miniodb_pool_circuit_open", "1 while an object store endpoint's circuit breaker is open.", "pool")
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBufferBytes, descObjects, descRecords, descFiles, descSize, descUtilization,
		descBufferedRows, descTables, descBuffered, descMaxMemory, descMaxBuffered, descWALBytes, descWALLast,
		descWALDurable, descCacheBytes, descCacheMax, descCacheObjects, descCacheHits, descCacheMisses, descCacheEvicts,
		descCacheErrors, descMemBytes, descMemMax, descMemFiles, descMemHits, descMemMisses, descActiveQueries, descPoolActive, descPoolIdle, descPoolMax, descPoolHits, descPoolMisses,
		descPoolTimeouts, descPoolWaits, descPoolRequests, descPoolFailures, descPoolOpen} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descActiveQueries, float64(c.m.active.Load()))
	if c.src.Store != nil {
		c.collectStore(c.src.Store.Stats(), gauge)
	}
	if c.src.Cache != nil {
		st := c.src.Cache.Stats()
		gauge(descCacheBytes, float64(st.Bytes))
		gauge(descCacheMax, float64(st.MaxBytes))
		gauge(descCacheObjects, float64(st.Objects))
		counter(descCacheHits, float64(st.Hits))
		counter(descCacheMisses, float64(st.Misses))
		counter(descCacheEvicts, float64(st.Evictions))
		counter(descCacheErrors, float64(st.FillErrors))
	}
	if c.src.Memory != nil {
		st := c.src.Memory.Stats()
		gauge(descMemBytes, float64(st.Bytes))
		gauge(descMemMax, float64(st.MaxBytes))
		gauge(descMemFiles, float64(st.Entries))
		counter(descMemHits, float64(st.Hits))
		counter(descMemMisses, float64(st.Misses))
	}
	if c.src.Pools != nil {
		for _, p := range c.src.Pools() {
			gauge(descPoolActive, float64(p.Active), p.Name)
			gauge(descPoolIdle, float64(p.Idle), p.Name)
			gauge(descPoolMax, float64(p.Max), p.Name)
			counter(descPoolHits, float64(p.Hits), p.Name)
			counter(descPoolMisses, float64(p.Misses), p.Name)
			counter(descPoolTimeouts, float64(p.Timeouts), p.Name)
			counter(descPoolWaits, float64(p.Waits), p.Name)
			counter(descPoolRequests, float64(p.Requests), p.Name)
			counter(descPoolFailures, float64(p.Failures), p.Name)
			open := 0.0
			if p.State == "open" {
				open = 1
			}
			gauge(descPoolOpen, open, p.Name)
		}
	}
}

func (c *stateCollector) collectStore(st ingest.Stats, gauge func(*prometheus.Desc, float64, ...string)) {
	gauge(descTables, float64(len(st.Tables)))
	gauge(descBuffered, float64(st.BufferedBytes))
	gauge(descMaxMemory, float64(st.MaxMemory))
	gauge(descMaxBuffered, float64(st.MaxBuffered))
	gauge(descWALBytes, float64(st.WALBytes))
	gauge(descWALLast, float64(st.WALLastLSN))
	gauge(descWALDurable, float64(st.WALDurableLSN))
	for _, t := range st.Tables {
		gauge(descBufferBytes, float64(t.BufferedBytes), c.m.nodeID, t.Name)
		gauge(descObjects, float64(t.Files), c.src.Bucket, t.Name)
		gauge(descRecords, float64(t.FileRows+t.BufferedRows), t.Name)
		gauge(descFiles, float64(t.Files), t.Name)
		gauge(descSize, float64(t.FileBytes), t.Name)
		gauge(descBufferedRows, float64(t.BufferedRows), t.Name)
		util := 0.0
		if t.Effective.BufferSize > 0 {
			util = float64(t.BufferedRows) / float64(t.Effective.BufferSize)
		}
		gauge(descUtilization, util, t.Name)
	}
}
