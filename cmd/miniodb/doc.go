// Command miniodb is the MinIODB binary: the server (serve) and its client
// subcommands (sql, load, backup, version) in one executable.
//
// serve wires the packages into one node (serve.go): the stores chosen by
// the configuration (stores.go: bbolt and a folder by default, Redis and
// MinIO when configured), the ingest service, the DuckDB engine, the
// Flight SQL server and the seed's OlapService on one gRPC port, REST and
// /metrics on another, backups (backup.go), authentication and TLS
// (security.go, security_tls.go), and, with a shared Redis catalog, the
// cluster (cluster.go: membership, node-to-node buffer pulls for queries,
// catalog refresh). Configuration is YAML, then MINIODB_<SECTION>_<KEY>
// environment variables, then flags (config.go).
//
// The end-to-end tests in this folder run the binary as child processes
// against real Redis and MinIO servers (harness_test.go).
package main
