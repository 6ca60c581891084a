// Package flight is MinIODB's front door: the Arrow Flight SQL service.
//
// Server embeds flightsql.BaseServer and implements bulk ingest
// (DoPut CommandStatementIngest) and statement queries
// (GetFlightInfo/DoGet/GetSchema on CommandStatementQuery). Errors leave this
// package as gRPC status codes whose message names the table, column or
// value at fault; the mapping from the ingest and query sentinels is in
// status.go.
//
// # Tickets
//
// The server keeps no per-query state between GetFlightInfo and DoGet: the
// statement handle inside TicketStatementQuery carries the query itself
// (docs/format/ticket.md):
//
//	byte 0      version (1)
//	bytes 1..   the SQL text, UTF-8
//
// A ticket is therefore only as secret as the SQL in it; it grants nothing
// the caller could not ask for directly.
package flight
