package flight

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/query"
	"github.com/miniodb/miniodb/shard"
)

// updateResultSchema is the result of a DDL/DML statement executed as a
// query (CommandStatementQuery, as ADBC's cursor.execute sends it): one row
// with the number of rows it wrote.
var updateResultSchema = arrow.NewSchema([]arrow.Field{{Name: "rows_affected", Type: arrow.PrimitiveTypes.Int64}}, nil)

// GetFlightInfoStatement plans a statement. A query gets one endpoint whose
// ticket carries the SQL (it runs at DoGet), or in a cluster, if it is a
// plain scan of one table, one endpoint per node (planStatement). DDL and
// DML run now, so that clients that send every statement as a query see
// them take effect; the ticket then only reports the affected row count.
func (s *Server) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if len(cmd.GetTransactionId()) > 0 {
		return nil, errNoTransactions
	}
	return s.planStatement(ctx, cmd.GetQuery(), nil, desc)
}

// PollFlightInfoStatement is GetFlightInfoStatement: planning is quick and
// the query runs at DoGet, so the first poll is already complete.
func (s *Server) PollFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.PollInfo, error) {
	info, err := s.GetFlightInfoStatement(ctx, cmd, desc)
	return completePoll(info), err
}

// GetSchemaStatement returns a statement's result schema without running
// it.
func (s *Server) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	st, err := s.query.Describe(ctx, cmd.GetQuery(), nil)
	if err != nil {
		return nil, Status(err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(resultSchema(st), s.mem)}, nil
}

// DoGetStatement runs the statement in the ticket and streams its batches.
func (s *Server) DoGetStatement(ctx context.Context, tkt flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.doGetHandle(ctx, tkt.GetStatementHandle())
}

// DoPutCommandStatementUpdate runs a DDL or DML statement.
func (s *Server) DoPutCommandStatementUpdate(ctx context.Context, cmd flightsql.StatementUpdate) (int64, error) {
	if len(cmd.GetTransactionId()) > 0 {
		return 0, errNoTransactions
	}
	st, err := s.query.Describe(ctx, cmd.GetQuery(), nil)
	if err != nil {
		return 0, Status(err)
	}
	return s.update(ctx, cmd.GetQuery(), st, nil)
}

var errNoTransactions = status.Error(codes.InvalidArgument, "transactions are not supported (every statement commits on its own)")

// planStatement is the FlightInfo of a statement with bound parameters
// (nil if none); DDL/DML statements run here. In a cluster, a plain scan of
// one table without parameters gets one endpoint per node (splitScan).
// A call that allows partial results (session option or header) plans and
// describes with them, and its tickets carry the permission, so that the
// DoGets, on whichever node, honour it without the client's cookie.
func (s *Server) planStatement(ctx context.Context, sql string, params arrow.RecordBatch, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	partial, err := partialResults(ctx)
	if err != nil {
		return nil, err
	}
	// NOTE: partial results are for reading only: DDL and DML (INSERT ...
	// SELECT, CREATE TABLE AS) run below with the caller's own context, so
	// that a down node fails them rather than have them write an
	// incomplete copy.
	dctx := ctx
	if partial {
		dctx = shard.WithScope(ctx, shard.Scope{Partial: true})
	}
	st, err := s.query.Describe(dctx, sql, params)
	if err != nil {
		return nil, Status(err)
	}
	h := statementHandle(sql, params)
	if st.Kind != query.KindQuery {
		n, err := s.update(ctx, sql, st, params)
		if err != nil {
			return nil, err
		}
		h = resultHandle(n)
	} else if partial {
		h.scope = &shard.Scope{Partial: true}
	}
	if s.cfg.Splitter != nil && st.Kind == query.KindQuery && st.ScanOf != "" && params == nil {
		return s.splitScan(dctx, h, st, desc, partial)
	}
	tkt, err := s.ticket(h)
	if err != nil {
		return nil, err
	}
	return s.flightInfo(resultSchema(st), desc, tkt), nil
}

// splitScan is the FlightInfo of a plain scan in a cluster: one endpoint
// per part (shard.Part), each ticket the statement plus its part's scope,
// all under the one handle id (so a cancel on a node stops its parts). The
// planning node's own part keeps the server's location, as a single
// endpoint would.
func (s *Server) splitScan(ctx context.Context, h handle, st *query.Statement, desc *flight.FlightDescriptor, partial bool) (*flight.FlightInfo, error) {
	parts, err := s.cfg.Splitter.Split(ctx, st.ScanOf, partial)
	if err != nil {
		return nil, Status(fmt.Errorf("plan a scan of %s: %w", st.ScanOf, err))
	}
	info := s.flightInfo(st.Result, desc, nil)
	info.Endpoint = info.Endpoint[:0]
	for _, p := range parts {
		h.scope = &p.Scope
		tkt, err := s.ticket(h)
		if err != nil {
			return nil, err
		}
		loc := p.Location
		if p.Local {
			loc = s.cfg.Location
		}
		info.Endpoint = append(info.Endpoint, &flight.FlightEndpoint{
			Ticket:   &flight.Ticket{Ticket: tkt},
			Location: []*flight.Location{{Uri: loc}},
		})
	}
	return info, nil
}

// resultSchema is what a statement returns: a query's rows, or the
// affected-rows row of DDL/DML.
func resultSchema(st *query.Statement) *arrow.Schema {
	if st.Kind == query.KindQuery {
		return st.Result
	}
	return updateResultSchema
}

// ticket wraps a handle in a TicketStatementQuery.
func (s *Server) ticket(h handle) ([]byte, error) {
	b, err := s.encodeHandle(h)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "make ticket: %v", err)
	}
	tkt, err := flightsql.CreateStatementQueryTicket(b)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "make ticket: %v", err)
	}
	return tkt, nil
}

// doGetHandle streams the result of a handle: a query runs now (one
// parameter row after another) over the part of its table the handle's
// scope names, a result handle yields its row count.
// DDL/DML never run here: a ticket is replayable, an update is not.
func (s *Server) doGetHandle(ctx context.Context, raw []byte) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	h, err := s.decodeHandle(raw)
	if err != nil {
		return nil, nil, Status(err)
	}
	if h.kind == kindResult {
		return s.streamCount(ctx, h.rows)
	}
	defer h.release()
	partial, err := partialResults(ctx)
	if err != nil {
		return nil, nil, err
	}
	if h.scope != nil || partial {
		var sc shard.Scope
		if h.scope != nil {
			sc = *h.scope
		}
		sc.Partial = sc.Partial || partial
		ctx = shard.WithScope(ctx, sc)
	}
	qctx, done, err := s.runs.start(ctx, h.id)
	if err != nil {
		return nil, nil, err
	}
	rs, err := s.query.Query(qctx, h.sql, h.params)
	if err != nil {
		done()
		return nil, nil, Status(err)
	}
	ch := make(chan flight.StreamChunk, 2)
	go func() {
		defer done()
		stream(ctx, qctx, rs, ch)
	}()
	return rs.Schema(), ch, nil
}

// streamCount sends the one-row result of an executed update.
func (s *Server) streamCount(ctx context.Context, n int64) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewInt64Builder(s.mem)
	defer b.Release()
	b.Append(n)
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(updateResultSchema, []arrow.Array{col}, 1)
	return updateResultSchema, sendBatches(ctx, rec), nil
}

// sendBatches streams ready batches (taking over the caller's references).
func sendBatches(ctx context.Context, recs ...arrow.RecordBatch) <-chan flight.StreamChunk {
	ch := make(chan flight.StreamChunk, len(recs))
	go func() {
		defer close(ch)
		for i, rec := range recs {
			select {
			case ch <- flight.StreamChunk{Data: rec}:
			case <-ctx.Done():
				for _, r := range recs[i:] {
					r.Release()
				}
				return
			}
		}
	}()
	return ch
}

// stream forwards a result to the DoGet writer until it ends, the client
// goes away (ctx) or the query is cancelled (qctx, by CancelFlightInfo).
func stream(ctx, qctx context.Context, rs ResultStream, ch chan<- flight.StreamChunk) {
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
		case <-qctx.Done():
			rec.Release()
			sendErr(ctx, ch, status.Error(codes.Canceled, "query cancelled"))
			return
		}
	}
	if err := rs.Err(); err != nil {
		if qctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w (by CancelFlightInfo)", err)
		}
		sendErr(ctx, ch, Status(fmt.Errorf("run query: %w", err)))
	}
}

func sendErr(ctx context.Context, ch chan<- flight.StreamChunk, err error) {
	select {
	case ch <- flight.StreamChunk{Err: err}:
	case <-ctx.Done():
	}
}

// update runs a DDL or DML statement with its parameters (nil if none)
// and returns the rows it wrote. Rows reach tables only through ingest,
// the durable path DoPut takes.
func (s *Server) update(ctx context.Context, sql string, st *query.Statement, params arrow.RecordBatch) (int64, error) {
	var n int64
	var err error
	switch st.Kind {
	case query.KindCreateTable:
		n, err = s.createTable(ctx, sql, st, params)
	case query.KindDropTable:
		_, err = s.ingest.DropTable(ctx, st.Table, st.IfExists)
	case query.KindInsert:
		n, err = s.insert(ctx, sql, st.Table, params)
	default:
		return 0, status.Error(codes.InvalidArgument, "the statement is a query: it returns rows, execute it as a query")
	}
	return n, Status(err)
}

func (s *Server) insert(ctx context.Context, sql, table string, params arrow.RecordBatch) (int64, error) {
	rows, err := s.query.Rows(ctx, sql, params)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	return s.ingest.Ingest(ctx, ingest.Request{Table: table, IfMissing: ingest.FailIfMissing, IfExists: ingest.Append, Batches: rows})
}

// createTable creates a table from its column list, or from the result of
// its AS query (created first with the query's schema and the table
// options, then filled through ingest; dropped again if that fails).
func (s *Server) createTable(ctx context.Context, sql string, st *query.Statement, params arrow.RecordBatch) (int64, error) {
	def := st.Create
	if def.Schema != nil {
		_, err := s.ingest.CreateTable(ctx, st.Table, def.Schema, def.Config, def.IfNotExists)
		return 0, err
	}
	rows, err := s.query.Rows(ctx, sql, params)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	created, err := s.ingest.CreateTable(ctx, st.Table, rows.Schema(), def.Config, def.IfNotExists)
	if err != nil || !created {
		return 0, err
	}
	n, err := s.ingest.Ingest(ctx, ingest.Request{Table: st.Table, IfMissing: ingest.FailIfMissing, IfExists: ingest.Append, Batches: rows})
	if err != nil {
		s.ingest.DropTable(context.WithoutCancel(ctx), st.Table, true)
	}
	return n, err
}

// completePoll wraps a FlightInfo as a finished poll.
func completePoll(info *flight.FlightInfo) *flight.PollInfo {
	if info == nil {
		return nil
	}
	done := 1.0
	return &flight.PollInfo{Info: info, Progress: &done}
}
