// Package flight is MinIODB's front door: the Arrow Flight SQL service.
//
// Server embeds flightsql.BaseServer and implements what Flight SQL drivers
// call (Go flightsql, ADBC, the JDBC driver, pyarrow.flight): bulk ingest
// (DoPut CommandStatementIngest), statements, prepared statements with
// parameters, DDL/DML, every metadata command, session options,
// cancellation and polling. Errors leave this package as gRPC status codes
// whose message names the table, column or value at fault; the mapping from
// the ingest and query sentinels is in status.go.
//
// # Stateless handles
//
// The server keeps no per-statement state: statement tickets and prepared
// statement handles carry the SQL and any bound parameter rows
// (docs/format/ticket.md, handle.go). CreatePreparedStatement describes
// the statement (dataset and parameter schemas) and returns a handle;
// DoPutPreparedStatementQuery returns a new handle with the parameters
// inside; ClosePreparedStatement has nothing to free. The only soft state is
// the registry of running queries (cancel.go) that CancelFlightInfo uses to
// interrupt DuckDB.
//
// # Statements
//
// package query classifies every statement with DuckDB's parser: a query
// (SELECT) or one of CREATE TABLE, CREATE TABLE AS, DROP TABLE, INSERT INTO.
//
//   - A query runs at DoGet: GetFlightInfo only plans it, so PollFlightInfo
//     is complete at once.
//   - DDL/DML runs when it is executed: DoPutCommandStatementUpdate,
//     DoPutPreparedStatementUpdate (the JDBC driver sends DDL there because
//     CreatePreparedStatement answers it with an empty dataset schema and
//     is_update), and also GetFlightInfo of the statement or prepared
//     statement (ADBC sends everything as a query): then the ticket only
//     reports the row count, since a ticket may be fetched twice.
//   - Rows of INSERT INTO and CREATE TABLE AS are computed by DuckDB under
//     the sandbox and written through ingest.Service.Ingest, the same durable
//     path as DoPut, in one transaction per statement.
//
// # Catalog
//
// One catalog "miniodb" holds one schema "main" holding every table (type
// TABLE). Ingest accepts those names (or none) in CommandStatementIngest,
// statements accept them as table qualifiers (main.t, miniodb.main.t), and
// the session
// options "catalog" and "schema" accept them (stateless: any other value
// is refused per option; see Partial results for the one stateful option). GetTables with include_schema describes every
// column with the Flight SQL column metadata (types.go). GetSqlInfo
// answers every SqlInfo id (sqlinfo.go).
//
// # Authentication and authorization
//
// With security.mode auth, AuthInterceptors (auth.go) authenticate every
// gRPC call of the node (Flight SQL and the OlapService) by its
// authorization header or, without one, its mTLS client certificate
// (security.client_certs), and answer the Flight Handshake's Basic
// credentials (or certificate) with a bearer JWT; failed Basic logins
// lock the user or client host for a while (RESOURCE_EXHAUSTED with
// retry-after, security.login_lockout); Config.Auth
// wraps the Ingester and Querier so that every ingest, DDL and statement
// is checked against the caller's grants (package auth) before anything
// is looked up, tickets again when fetched, and GetTables lists only
// readable tables. RateLimitInterceptors (auth_ratelimit.go) throttle per
// user or key.
//
// # Hostile clients
//
// A message over the server's receive limit (server.max_message_bytes) is
// refused by grpc-go with RESOURCE_EXHAUSTED before it is decoded. A DoGet
// client that stops reading blocks its stream's sends on HTTP/2 flow
// control: its own deadline ends the stream (and the query, which frees
// its DuckDB connection and query slots), and StallGuard (stall.go) closes
// the connection of a client whose stream has not taken a message for
// server.stream_idle_timeout. Tests run under goleak.
//
// # Node-to-node
//
// WithPeers (peer.go, peer_ingest.go) answers the calls of other nodes: a
// DoGet whose ticket asks for this node's buffered rows of a table,
// streamed as Arrow with the node's WAL cut and the table's incarnation in
// the schema metadata; a DoPut carrying this node's part of an ingest
// another node split by owner, which it stages and prepares; and a
// DoAction with the outcome of such an ingest. Peers is the client side.
// Such calls carry an HMAC of the calling node's id under cluster.secret
// (PeerHeader); the auth interceptors let them in without user
// credentials, for these calls only (PermissionDenied for anything else).
//
// # Endpoints
//
// A FlightInfo has one endpoint at Config.Location:
// arrow-flight-reuse-connection://?, so drivers that follow locations (the
// JDBC driver) fetch over the connection they already have. In a cluster
// (Config.Splitter set) a plain scan of one table without parameters
// (query.Statement.ScanOf: filter and projection only) gets one endpoint
// per node instead, each a scoped ticket (handle kind 3) reading that
// node's files and buffer (shard.Scope), at the node's advertised
// grpc+tcp:// or grpc+tls:// location; the planning node's own part keeps
// Config.Location. Clients fetch them in parallel; any node answers any of
// them correctly, so a client that ignores locations is still right.
// Everything else keeps one endpoint and runs on the planning node.
//
// # Sending results
//
// The DoGet of a statement's ticket, and a node's DoGet of another's
// buffered rows, send each batch without copying its buffers
// (zerocopy.go): a FlightData message is framed by hand, the same bytes
// proto.Marshal would give, as a short prefix and then the batch's own
// buffers, which gRPC writes straight from there; the batch stays retained
// until gRPC has let go of them. arrow-go's Flight writer and gRPC's proto
// codec each copied the body instead: on a full scan from memory, 19% of
// the node's CPU. The framing is the gRPC server's codec, so the service
// must be registered on a server made with ServerOptions. Other DoGets
// (metadata commands) go through flightsql as before.
//
// # Partial results
//
// By default a query that needs the buffered rows of a node that is down
// fails with UNAVAILABLE naming it. The session option
// miniodb.partial_results (session.go; kept in the client's stateless
// session cookie) or the per-call header x-miniodb-partial-results: true
// lets it answer without them; the permission travels in the tickets, so
// the DoGets of every endpoint honour it.
package flight
