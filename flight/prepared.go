package flight

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/query"
)

// Prepared statements are stateless: the handle CreatePreparedStatement
// returns carries the SQL, DoPutPreparedStatementQuery returns a new handle
// that also carries the bound parameters, and ClosePreparedStatement has
// nothing to free. A statement is checked again each time it runs, so a
// handle never outlives a permission or a table.

// CreatePreparedStatement checks a statement and describes its result and
// parameters. DDL and DML have an empty dataset schema and IsUpdate set:
// clients (the JDBC driver) then run them with DoPutPreparedStatementUpdate.
func (s *Server) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	var res flightsql.ActionCreatePreparedStatementResult
	if len(req.GetTransactionId()) > 0 {
		return res, errNoTransactions
	}
	st, err := s.query.Describe(ctx, req.GetQuery(), nil)
	if err != nil {
		return res, Status(err)
	}
	h, err := s.encodeHandle(statementHandle(req.GetQuery(), nil))
	if err != nil {
		return res, status.Errorf(codes.Internal, "make handle: %v", err)
	}
	isUpdate := st.Kind != query.KindQuery
	res.Handle = h
	res.DatasetSchema = st.Result
	if isUpdate {
		res.DatasetSchema = arrow.NewSchema(nil, nil)
	}
	res.ParameterSchema = st.Params
	res.IsUpdate = &isUpdate
	return res, nil
}

// ClosePreparedStatement succeeds: the server holds nothing for a handle.
func (s *Server) ClosePreparedStatement(context.Context, flightsql.ActionClosePreparedStatementRequest) error {
	return nil
}

// DoPutPreparedStatementQuery binds parameter rows to a prepared statement
// and returns a new handle carrying the SQL and the rows. The rows are
// checked against the statement when it runs.
func (s *Server) DoPutPreparedStatementQuery(ctx context.Context, cmd flightsql.PreparedStatementQuery, rdr flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	h, err := s.decodeHandle(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, Status(err)
	}
	defer h.release()
	if h.kind != kindStatement {
		return nil, Status(errBadTicket)
	}
	params, err := readBound(rdr, s)
	if err != nil {
		return nil, err
	}
	nh := statementHandle(h.sql, params)
	defer nh.release()
	b, err := s.encodeHandle(nh)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "make handle: %v", err)
	}
	return b, nil
}

// readBound reads the parameter rows of a DoPut; nil if none were sent.
func readBound(rdr flight.MessageReader, s *Server) (arrow.RecordBatch, error) {
	if rdr == nil || rdr.Schema() == nil || rdr.Schema().NumFields() == 0 {
		return nil, nil
	}
	params, err := concatBatches(rdr, s.mem)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "read parameters: %v", err)
	}
	if params.NumRows() == 0 {
		params.Release()
		return nil, nil
	}
	return params, nil
}

// GetFlightInfoPreparedStatement plans a prepared statement with its bound
// parameters, like GetFlightInfoStatement (DDL/DML run now).
func (s *Server) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	h, err := s.decodeHandle(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, Status(err)
	}
	defer h.release()
	if h.kind != kindStatement {
		return nil, Status(errBadTicket)
	}
	return s.planStatement(ctx, h.sql, h.params, desc)
}

// PollFlightInfoPreparedStatement is GetFlightInfoPreparedStatement as a
// finished poll.
func (s *Server) PollFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.PollInfo, error) {
	info, err := s.GetFlightInfoPreparedStatement(ctx, cmd, desc)
	return completePoll(info), err
}

// GetSchemaPreparedStatement returns the prepared statement's result
// schema.
func (s *Server) GetSchemaPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	h, err := s.decodeHandle(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, Status(err)
	}
	defer h.release()
	if h.kind == kindResult {
		return &flight.SchemaResult{Schema: flight.SerializeSchema(updateResultSchema, s.mem)}, nil
	}
	st, err := s.query.Describe(ctx, h.sql, h.params)
	if err != nil {
		return nil, Status(err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(resultSchema(st), s.mem)}, nil
}

// DoGetPreparedStatement serves clients that use the prepared statement
// command itself as a ticket; it is DoGetStatement.
func (s *Server) DoGetPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.doGetHandle(ctx, cmd.GetPreparedStatementHandle())
}

// DoPutPreparedStatementUpdate runs a prepared DDL/DML statement, once per
// parameter row sent (an INSERT with many rows is one ingest).
func (s *Server) DoPutPreparedStatementUpdate(ctx context.Context, cmd flightsql.PreparedStatementUpdate, rdr flight.MessageReader) (int64, error) {
	h, err := s.decodeHandle(cmd.GetPreparedStatementHandle())
	if err != nil {
		return 0, Status(err)
	}
	defer h.release()
	if h.kind != kindStatement {
		return 0, Status(errBadTicket)
	}
	params, err := readBound(rdr, s)
	if err != nil {
		return 0, err
	}
	if params == nil {
		params, h.params = h.params, nil
	}
	if params != nil {
		defer params.Release()
	}
	st, err := s.query.Describe(ctx, h.sql, h.params)
	if err != nil {
		return 0, Status(err)
	}
	return s.update(ctx, h.sql, st, params)
}
