// Package api is the seed's own API, kept for its users: the OlapService
// gRPC service (olap.v1, generated code in api/proto/olap/v1) on the same
// gRPC server as Flight SQL, and its REST twin under /v1 on
// server.rest_port. Both are thin adapters over the node's services: rows go
// through the same durable ingest as Flight SQL bulk ingest, queries through
// the same sandboxed engine, tables through the same table registry and
// policy (ingest.TablePolicy, the seed's table_management section).
//
// # Rows
//
// A row {table, id, timestamp, payload} becomes the columns id (VARCHAR),
// timestamp (TIMESTAMP WITH TIME ZONE, microseconds; the server's time
// when absent) and one column per payload field, in name order. A new
// column takes the type its values share: integers BIGINT, numbers with a
// fraction DOUBLE (integers mixed with fractions widen to DOUBLE), booleans
// BOOLEAN, strings VARCHAR, nested objects and arrays VARCHAR holding their
// JSON (keys sorted). A column the table already has keeps its type: values
// convert where nothing is lost (an integer into a DOUBLE column, an
// RFC 3339 string into a timestamp column); an integer column receiving a
// fraction is widened to DOUBLE for good (ingest.Service.WidenColumn); any
// other mismatch is refused with InvalidArgument naming the table, column,
// row and value. Null values write NULL; an all-null new column is left out.
// The rows of one request and one table are one transaction, durable
// before the answer; several tables in one REST request are one transaction
// each, in the order they first appear.
//
// # REST
//
// Routes and bodies are in openapi.json, served at /v1/openapi.json and
// tested against the handlers and against the proto messages. Responses are
// the proto messages as JSON with proto field names, every field present,
// 64-bit integers as numbers and timestamps as RFC 3339 strings. Errors are
// {code, message, status}: code is the gRPC code (as grpc-gateway writes
// it), status its name, and the HTTP status is grpc-gateway's mapping of the
// code; unknown paths answer 404, wrong methods 405, bodies over
// server.max_request_bytes 413, an unsatisfiable Accept 406, a result
// over query.max_result_rows/max_result_bytes 413 (RESOURCE_EXHAUSTED). POST /v1/query
// streams: JSON {"columns", "rows", "row_count"} (with an "error" member if
// the query fails after rows were sent), or with
// Accept: application/vnd.apache.arrow.stream an Arrow IPC stream that is
// cut short, without its end marker, if the query fails midway. A client
// that takes no write of the answer for server.stream_idle_timeout has it
// cut short too (Config.StreamIdleTimeout), freeing the query.
//
// # Tables
//
// CreateTable makes a table with the columns id and timestamp and the
// given config (buffer_size, flush_interval_seconds, retention_days,
// backup_enabled, properties, shard_key, time_column; zero means the
// default), stored in the catalog. The config file's tables: section
// overrides a table's own values; DescribeTable and ListTables show the
// config in force. DropTable without cascade refuses a table that holds rows
// (FailedPrecondition, HTTP 412): deleting data takes cascade=true.
//
// # Backups
//
// With a backup service (Deps.Backups), TriggerBackup with no table, day or
// id takes a metadata backup, and /v1/metadata/backup|backups|status|
// validate serve the seed's bodies (backup.go). /v1/metadata/recover plans
// a restore (dry run) and refuses anything else with FailedPrecondition
// (HTTP 412) naming the `miniodb backup restore` command: a running node
// has loaded the catalog. Without a backup service they answer
// Unimplemented (HTTP 501).
//
// With a data backup (Deps.Data: a backup endpoint is configured),
// TriggerBackup with a table, a day and/or an id copies the objects they
// select to the backup bucket (for an id: those whose id stats may hold
// it), an empty one also copies every backup_enabled table's; RecoverData
// brings back a table's lost rows by day range (time_range), by ids
// (id_range.ids, id_range.id_pattern, time_range.ids) or both, on the
// running node, idempotently (backup.DataBackup.Recover). REST maps them
// to POST /v1/backup/trigger and /v1/backup/recover with the messages'
// JSON. A table without an id column, an empty id set or a bad day is
// InvalidArgument (400), an unknown table NotFound (404).
//
// # Not yet
//
// Data backup on a node without a backup endpoint answers Unimplemented
// (HTTP 501); it never pretends to succeed.
// GetNodes (REST /v1/nodes) lists the cluster's node registry
// (shard.Members): every node with its lease state.
//
// # Observability
//
// Telemetry wraps every gRPC service of the node (Flight SQL, OlapService,
// health) and every REST route: a request id (x-request-id, taken from the
// client when sent, returned always), one log line per request at info (the
// health probes at debug; failures at warn or error by code), the request
// metrics, and panic recovery. It also measures the ingest and query paths
// both APIs and Flight SQL share: Telemetry.Ingester and Telemetry.Runner,
// and NoteTables, which tells each request the tables its query reads.
// Queries slower than log.slow_query_threshold are logged at warn with
// their SQL.
//
// Metrics (one registry per node, served at metrics.path on the REST
// port), the seed's names first:
//
//	miniodb_requests_total{method,status,table}        method: write, query, create_table, ..., flight_do_put, ...
//	miniodb_requests_duration_seconds{method,table}    status: success or the gRPC code (invalid_argument, ...)
//	miniodb_buffer_size_bytes{node,table}
//	miniodb_storage_objects_total{bucket,table}        a gauge: the table's Parquet objects
//	miniodb_table_record_count{table}  miniodb_table_file_count{table}
//	miniodb_table_size_bytes{table}    miniodb_table_buffer_utilization{table}
//	miniodb_data_points_total{table}                   rows written (no id label: ids are unbounded)
//	miniodb_query_latency_seconds{sql_type,table}
//	miniodb_backup_files_total{status,table}           counted by the backup service
//	miniodb_pool_{active,idle,max}_connections{pool}  miniodb_pool_{hits,misses,timeouts,waits}_total{pool}
//	miniodb_ingest_{rows,bytes}_total{table}  miniodb_ingest_duration_seconds{status}
//	miniodb_flushes_total{table,status}  miniodb_flush_duration_seconds{status}
//	miniodb_flush_{rows,bytes,files}_total{table}
//	miniodb_table_buffered_rows{table}  miniodb_tables  miniodb_buffered_bytes
//	miniodb_buffer_max_memory_bytes  miniodb_buffer_max_buffered_bytes
//	miniodb_wal_bytes  miniodb_wal_last_lsn  miniodb_wal_durable_lsn
//	miniodb_cache_{bytes,max_bytes,objects}  miniodb_cache_{hits,misses,evictions,fill_errors}_total
//	miniodb_active_queries  miniodb_slow_queries_total
//	go_*, process_*
//
// A table label holds the tables a request touched, sorted and joined by
// commas ("" when none).
//
// # Health
//
// HealthCheck and GET /v1/health probe the catalog, the object store, the
// WAL's disk (free space, a file can be created) and DuckDB (SELECT 1), each
// bounded by a timeout; /v1/health answers 200 when all are healthy and 503
// otherwise. The standard grpc.health.v1 service on the gRPC port follows
// the same probes (WatchHealth) and turns NOT_SERVING while the node drains.
package api
