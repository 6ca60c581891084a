// Package client is a small Go client for MinIODB, an Arrow Flight SQL data
// service.
//
// It wraps arrow-go's flightsql.Client with what MinIODB callers need:
// dialing with raised gRPC message limits (result batches may exceed gRPC's
// 4 MiB default), Basic or bearer-token authentication, bulk ingest
// (Flight SQL CommandStatementIngest) with explicit create/append/replace
// semantics, and queries whose endpoints are fetched in parallel, each from
// the location the server names for it.
//
// Errors returned by the server keep their gRPC status: use status.Code(err)
// from google.golang.org/grpc/status to inspect them.
package client
