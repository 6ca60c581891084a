package flight

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/ingest"
)

// Ingester takes bulk ingests.
type Ingester interface {
	Ingest(ctx context.Context, req ingest.Request) (int64, error)
}

// ResultStream is a running query's result.
type ResultStream interface {
	Schema() *arrow.Schema
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
	Close()
}

// Querier plans and runs SQL.
type Querier interface {
	Schema(ctx context.Context, sql string) (*arrow.Schema, error)
	Run(ctx context.Context, sql string) (ResultStream, error)
}

// Server is the Flight SQL service of one node.
type Server struct {
	flightsql.BaseServer
	ingest Ingester
	query  Querier
	mem    memory.Allocator
}

// NewServer returns the Flight SQL service over an ingester and a querier.
func NewServer(in Ingester, q Querier) *Server {
	s := &Server{ingest: in, query: q, mem: memory.DefaultAllocator}
	s.Alloc = s.mem
	return s
}

// FlightService returns the gRPC service to register.
func (s *Server) FlightService() flight.FlightServer {
	return flightsql.NewFlightServerWithAllocator(s, s.mem)
}

// DoPutCommandStatementIngest implements bulk ingest.
func (s *Server) DoPutCommandStatementIngest(ctx context.Context, cmd flightsql.StatementIngest, rdr flight.MessageReader) (int64, error) {
	req, err := ingestRequest(cmd)
	if err != nil {
		return 0, err
	}
	req.Batches = rdr
	n, err := s.ingest.Ingest(ctx, req)
	return n, toStatus(err)
}

func ingestRequest(cmd flightsql.StatementIngest) (ingest.Request, error) {
	bad := func(format string, args ...any) (ingest.Request, error) {
		return ingest.Request{}, status.Errorf(codes.InvalidArgument, "ingest into table %q: "+format, append([]any{cmd.GetTable()}, args...)...)
	}
	switch {
	case cmd.GetTemporary():
		return bad("temporary tables are not supported")
	case len(cmd.GetTransactionId()) > 0:
		return bad("transactions are not supported")
	case cmd.GetCatalog() != "":
		return bad("catalog %q does not exist (leave it empty)", cmd.GetCatalog())
	case cmd.GetSchema() != "":
		return bad("schema %q does not exist (leave it empty)", cmd.GetSchema())
	case len(cmd.GetOptions()) > 0:
		return bad("unknown ingest options %v", cmd.GetOptions())
	}
	opts := cmd.GetTableDefinitionOptions()
	req := ingest.Request{Table: cmd.GetTable()}
	switch opts.GetIfNotExist() {
	case flightsql.TableDefinitionOptionsTableNotExistOptionCreate:
		req.IfMissing = ingest.CreateIfMissing
	case flightsql.TableDefinitionOptionsTableNotExistOptionFail:
		req.IfMissing = ingest.FailIfMissing
	default:
		return bad("table_definition_options.if_not_exist must be CREATE or FAIL")
	}
	switch opts.GetIfExists() {
	case flightsql.TableDefinitionOptionsTableExistsOptionAppend:
		req.IfExists = ingest.Append
	case flightsql.TableDefinitionOptionsTableExistsOptionReplace:
		req.IfExists = ingest.Replace
	case flightsql.TableDefinitionOptionsTableExistsOptionFail:
		req.IfExists = ingest.FailIfExists
	default:
		return bad("table_definition_options.if_exists must be APPEND, REPLACE or FAIL")
	}
	return req, nil
}

// GetFlightInfoStatement plans a query: it checks the SQL, computes the
// result schema and returns one endpoint whose ticket carries the SQL.
func (s *Server) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if len(cmd.GetTransactionId()) > 0 {
		return nil, status.Error(codes.InvalidArgument, "transactions are not supported")
	}
	schema, err := s.query.Schema(ctx, cmd.GetQuery())
	if err != nil {
		return nil, toStatus(err)
	}
	tkt, err := flightsql.CreateStatementQueryTicket(encodeHandle(cmd.GetQuery()))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "make ticket: %v", err)
	}
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(schema, s.mem),
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: tkt}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}, nil
}

// GetSchemaStatement returns a query's result schema.
func (s *Server) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	schema, err := s.query.Schema(ctx, cmd.GetQuery())
	if err != nil {
		return nil, toStatus(err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(schema, s.mem)}, nil
}

// DoGetStatement runs the query in the ticket and streams its batches.
func (s *Server) DoGetStatement(ctx context.Context, tkt flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	sql, err := decodeHandle(tkt.GetStatementHandle())
	if err != nil {
		return nil, nil, toStatus(err)
	}
	rs, err := s.query.Run(ctx, sql)
	if err != nil {
		return nil, nil, toStatus(err)
	}
	ch := make(chan flight.StreamChunk, 2)
	go stream(ctx, rs, ch)
	return rs.Schema(), ch, nil
}

// stream forwards a result to the DoGet writer until it ends or the client
// goes away.
func stream(ctx context.Context, rs ResultStream, ch chan<- flight.StreamChunk) {
	defer close(ch)
	defer rs.Close()
	for rs.Next() {
		rec := rs.RecordBatch()
		rec.Retain()
		select {
		case ch <- flight.StreamChunk{Data: rec}:
		case <-ctx.Done():
			rec.Release()
			return
		}
	}
	if err := rs.Err(); err != nil {
		select {
		case ch <- flight.StreamChunk{Err: toStatus(fmt.Errorf("run query: %w", err))}:
		case <-ctx.Done():
		}
	}
}
