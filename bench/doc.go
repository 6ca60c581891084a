// Package bench measures MinIODB against baselines taken in the same run and
// writes the result as bench/results/report.md and bench/results/report.png.
//
// `make bench` runs BenchmarkSuite (bench_test.go) once. Every figure is the
// median of Runs repetitions (ingests, full scans and TPC-H at least five),
// with min and max, next to the baseline it is
// compared with; both are measured by the same process on the same machine
// within minutes of each other, so a loaded machine slows both alike and the
// ratio is what to read, not the absolute numbers. Each ingest repetition,
// the scans and TPC-H start on a quiet server (Server.WaitQuiet): a flush
// copies its files into the memory cache after it commits, and a baseline
// measured meanwhile shares the machine with that copy.
//
// # Workloads and baselines
//
//	ingest_durable   Flight SQL bulk ingest (DoPut CommandStatementIngest) of
//	                 TPC-H lineitem until acknowledged (durable in the WAL)
//	                 vs rawFlight.DoPut, an arrow-go Flight server that only
//	                 counts the rows it receives
//	ingest_e2e       the same ingest until every row is in Parquet in the
//	                 object store (catalog row count == rows sent)
//	scan             SELECT * FROM lineitem through DoGet vs rawFlight.DoGet
//	                 streaming the same batches from memory; time to first
//	                 batch and the server's peak RSS growth
//	                 (/proc/<pid>/clear_refs + VmHWM). Locally the table was
//	                 just flushed, so the scan streams the memory cache
//	                 (package hotcache); on MinIO the node was restarted, so
//	                 DuckDB reads the files
//	tpch             the 22 TPC-H queries through Flight SQL vs an in-process
//	                 DuckDB (duckdb-go Arrow API) over the same Parquet files
//	                 (the ones the server flushed, hard-linked from its read
//	                 cache); a second row compares with DuckDB over the
//	                 generator's files (one per table); every answer compared
//	                 with bench/tpch.Reference
//	lookup           WHERE id = <const> on a table of LookupRows rows in
//	                 ≥ 1000 files (one file per day), answered through file
//	                 pruning by the catalog's min/max stats
//	minio_*          ingest, scan and TPC-H with the object store on a real
//	                 MinIO server (testenv), cold cache and warm cache
//	concurrency      8 clients for a fixed time, 4 ingesting small batches
//	                 and 4 querying; throughput and p50/p99 latency
//
// The server under test is the miniodb binary built from this tree and run
// as a child process (so its RSS is its own); the baselines and the clients
// run in the benchmark process. Knobs are environment variables read by
// [LoadOptions]: MINIODB_BENCH_SF (TPC-H scale factor), MINIODB_BENCH_RUNS,
// MINIODB_BENCH_LOOKUP_ROWS, MINIODB_BENCH_MINIO (0 skips MinIO),
// MINIODB_BENCH_OUT (the results folder). MINIODB_BENCH_RENDER=1 measures
// nothing and renders the report again from results/figures.json, which
// every run writes next to it.
package bench
