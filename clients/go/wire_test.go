package client_test

// A throwaway Flight SQL server (arrow-go's flightsql.BaseServer) that
// records what the client sends and answers with fixed data: it tests the
// client's wire behaviour, not MinIODB.

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	client "github.com/miniodb/miniodb/clients/go"
)

// TestMain fails the run if any test leaves a goroutine behind, e.g. a
// result stream that Release did not stop.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var srcSchema = arrow.NewSchema([]arrow.Field{
	{Name: "server", Type: arrow.BinaryTypes.String},
	{Name: "ticket", Type: arrow.BinaryTypes.String},
	{Name: "payload", Type: arrow.BinaryTypes.String},
}, nil)

type ingestCall struct {
	table    string
	notExist flightsql.TableDefinitionOptionsTableNotExistOption
	exists   flightsql.TableDefinitionOptionsTableExistsOption
	schema   *arrow.Schema
	rows     int64
	sum      int64 // of the first column, when it is int64
	batches  int
}

type fakeServer struct {
	flightsql.BaseServer
	name      string
	endpoints func(query string) []*flight.FlightEndpoint // nil: one endpoint, ticket = query
	payload   int                                         // bytes of the payload column

	mu      sync.Mutex
	ingests []ingestCall
	updates []string
}

func (s *fakeServer) GetFlightInfoStatement(_ context.Context, q flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if strings.HasPrefix(q.GetQuery(), "bad") {
		return nil, status.Error(codes.InvalidArgument, "syntax error near bad")
	}
	eps := []*flight.FlightEndpoint{{}}
	if s.endpoints != nil {
		eps = s.endpoints(q.GetQuery())
	}
	for _, ep := range eps {
		handle := q.GetQuery()
		if ep.Ticket != nil {
			handle = string(ep.Ticket.Ticket)
		}
		tkt, err := flightsql.CreateStatementQueryTicket([]byte(handle))
		if err != nil {
			return nil, err
		}
		ep.Ticket = &flight.Ticket{Ticket: tkt}
	}
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(srcSchema, memory.DefaultAllocator),
		FlightDescriptor: desc,
		Endpoint:         eps,
		TotalRecords:     -1,
		TotalBytes:       -1,
	}, nil
}

// DoGetStatement answers every ticket with two batches of two rows naming
// this server and the ticket; the ticket "midfail" fails after one batch.
func (s *fakeServer) DoGetStatement(_ context.Context, tkt flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	handle := string(tkt.GetStatementHandle())
	ch := make(chan flight.StreamChunk, 2)
	ch <- flight.StreamChunk{Data: s.batch(handle)}
	if handle == "midfail" {
		ch <- flight.StreamChunk{Err: status.Error(codes.Internal, "disk on fire")}
	} else {
		ch <- flight.StreamChunk{Data: s.batch(handle)}
	}
	close(ch)
	return srcSchema, ch, nil
}

func (s *fakeServer) batch(ticket string) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, srcSchema)
	defer b.Release()
	for range 2 {
		b.Field(0).(*array.StringBuilder).Append(s.name)
		b.Field(1).(*array.StringBuilder).Append(ticket)
		b.Field(2).(*array.StringBuilder).Append(strings.Repeat("x", s.payload))
	}
	return b.NewRecordBatch()
}

func (s *fakeServer) DoPutCommandStatementIngest(_ context.Context, cmd flightsql.StatementIngest, rdr flight.MessageReader) (int64, error) {
	call := ingestCall{
		table:    cmd.GetTable(),
		notExist: cmd.GetTableDefinitionOptions().GetIfNotExist(),
		exists:   cmd.GetTableDefinitionOptions().GetIfExists(),
		schema:   rdr.Schema(),
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		call.rows += rec.NumRows()
		call.batches++
		if col, ok := rec.Column(0).(*array.Int64); ok {
			for _, v := range col.Int64Values() {
				call.sum += v
			}
		}
	}
	s.mu.Lock()
	s.ingests = append(s.ingests, call)
	s.mu.Unlock()
	if err := rdr.Err(); err != nil {
		return call.rows, err
	}
	if call.table == "exists" && call.exists == flightsql.TableDefinitionOptionsTableExistsOptionFail {
		return 0, status.Error(codes.AlreadyExists, "table exists already exists")
	}
	return call.rows, nil
}

func (s *fakeServer) DoPutCommandStatementUpdate(_ context.Context, cmd flightsql.StatementUpdate) (int64, error) {
	s.mu.Lock()
	s.updates = append(s.updates, cmd.GetQuery())
	s.mu.Unlock()
	if cmd.GetQuery() == "VACUUM" {
		return 0, status.Error(codes.Unimplemented, "VACUUM is not supported")
	}
	return 3, nil
}

// seen returns what the server has recorded so far.
func (s *fakeServer) seen() ([]ingestCall, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ingests), slices.Clone(s.updates)
}

func serve(t *testing.T, srv flightsql.Server, mw ...flight.ServerMiddleware) string {
	t.Helper()
	s := flight.NewServerWithMiddleware(mw, grpc.MaxRecvMsgSize(64<<20), grpc.MaxSendMsgSize(64<<20))
	s.RegisterFlightService(flightsql.NewFlightServer(srv))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.InitListener(lis)
	go func() { _ = s.Serve() }()
	t.Cleanup(s.Shutdown)
	return lis.Addr().String()
}

func dial(t *testing.T, addr string, opts client.Options) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// collect reads a query's result into "server/ticket" strings, one per row.
func collect(t *testing.T, c *client.Client, sql string) ([]string, error) {
	t.Helper()
	res, err := c.Query(context.Background(), sql)
	if err != nil {
		return nil, err
	}
	defer res.Release()
	if !res.Schema().Equal(srcSchema) {
		t.Errorf("schema = %v", res.Schema())
	}
	var rows []string
	for res.Next() {
		rec := res.RecordBatch()
		srv, tkt := rec.Column(0).(*array.String), rec.Column(1).(*array.String)
		for i := range int(rec.NumRows()) {
			rows = append(rows, srv.Value(i)+"/"+tkt.Value(i))
		}
	}
	slices.Sort(rows)
	return rows, res.Err()
}

func TestQuerySingleEndpoint(t *testing.T) {
	c := dial(t, serve(t, &fakeServer{name: "A"}), client.Options{})
	rows, err := collect(t, c, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A/SELECT 1", "A/SELECT 1", "A/SELECT 1", "A/SELECT 1"}
	if !slices.Equal(rows, want) {
		t.Errorf("rows = %v, want %v", rows, want)
	}
}

func TestQueryEndpointsAndLocations(t *testing.T) {
	addrB := serve(t, &fakeServer{name: "B"})
	a := &fakeServer{name: "A", endpoints: func(string) []*flight.FlightEndpoint {
		return []*flight.FlightEndpoint{
			{Ticket: &flight.Ticket{Ticket: []byte("t1")}},
			{Ticket: &flight.Ticket{Ticket: []byte("t2")}, Location: []*flight.Location{{Uri: flight.LocationReuseConnection}}},
			{Ticket: &flight.Ticket{Ticket: []byte("t3")}, Location: []*flight.Location{{Uri: "grpc+tcp://" + addrB}}},
			// the first location is down: the client must fall back to the second
			{Ticket: &flight.Ticket{Ticket: []byte("t4")}, Location: []*flight.Location{{Uri: "grpc+tcp://127.0.0.1:1"}, {Uri: "grpc://" + addrB}}},
		}
	}}
	c := dial(t, serve(t, a), client.Options{})
	rows, err := collect(t, c, "SELECT *")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range []string{"A/t1", "A/t2", "B/t3", "B/t4"} {
		want = append(want, r, r, r, r)
	}
	slices.Sort(want)
	if !slices.Equal(rows, want) {
		t.Errorf("rows = %v, want %v", rows, want)
	}
}

func TestQueryNoEndpoints(t *testing.T) {
	s := &fakeServer{name: "A", endpoints: func(string) []*flight.FlightEndpoint { return nil }}
	rows, err := collect(t, dial(t, serve(t, s), client.Options{}), "SELECT 1 WHERE false")
	if err != nil || len(rows) != 0 {
		t.Errorf("rows = %v, err = %v", rows, err)
	}
}

func TestQueryErrorsKeepStatus(t *testing.T) {
	c := dial(t, serve(t, &fakeServer{name: "A"}), client.Options{})
	_, err := c.Query(context.Background(), "bad sql")
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "syntax error near bad") {
		t.Errorf("GetFlightInfo error = %v (code %v)", err, status.Code(err))
	}
	_, err = collect(t, c, "midfail")
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("mid-stream error = %v (code %v)", err, status.Code(err))
	}
}

func TestQueryReleaseEarly(t *testing.T) {
	a := &fakeServer{name: "A", endpoints: func(string) []*flight.FlightEndpoint {
		return []*flight.FlightEndpoint{{}, {}, {}}
	}}
	c := dial(t, serve(t, a), client.Options{})
	res, err := c.Query(context.Background(), "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Next() {
		t.Fatal(res.Err())
	}
	res.Release() // must not hang or leak the other streams
}

func TestLargeMessages(t *testing.T) {
	s := &fakeServer{name: "A", payload: 3 << 20} // two rows: 6 MiB batches
	addr := serve(t, s)
	if _, err := collect(t, dial(t, addr, client.Options{}), "big"); err != nil {
		t.Fatalf("default limit: %v", err)
	}
	_, err := collect(t, dial(t, addr, client.Options{MaxMessageBytes: 1 << 20}), "big")
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("1 MiB limit: err = %v, want ResourceExhausted", err)
	}
}

func ingestRecords(t *testing.T, nbatches, rowsPer int) array.RecordReader {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	var recs []arrow.RecordBatch
	for i := range nbatches {
		for j := range rowsPer {
			b.Field(0).(*array.Int64Builder).Append(int64(i*rowsPer + j))
		}
		recs = append(recs, b.NewRecordBatch())
	}
	rdr, err := array.NewRecordReader(schema, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Release()
	}
	return rdr
}

func TestIngest(t *testing.T) {
	s := &fakeServer{name: "A"}
	c := dial(t, serve(t, s), client.Options{})
	modes := []client.IngestMode{client.ModeCreate, client.ModeAppend, client.ModeCreateAppend, client.ModeReplace}
	for _, mode := range modes {
		rdr := ingestRecords(t, 3, 1000)
		n, err := c.Ingest(context.Background(), "trips", rdr, mode)
		rdr.Release()
		if err != nil || n != 3000 {
			t.Fatalf("%v: n = %d, err = %v", mode, n, err)
		}
	}
	ingests, _ := s.seen()
	if len(ingests) != len(modes) {
		t.Fatalf("server saw %d ingests, want %d", len(ingests), len(modes))
	}
	for i, call := range ingests {
		want, _ := modes[i].TableDefinitionOptions()
		if call.table != "trips" || call.rows != 3000 || call.batches != 3 || call.sum != 2999*3000/2 ||
			call.notExist != want.IfNotExist || call.exists != want.IfExists || call.schema.Field(0).Name != "v" {
			t.Errorf("ingest %d (%v): server saw %+v", i, modes[i], call)
		}
	}
	rdr := ingestRecords(t, 1, 5)
	defer rdr.Release()
	_, err := c.Ingest(context.Background(), "exists", rdr, client.ModeCreate)
	if status.Code(err) != codes.AlreadyExists {
		t.Errorf("create over existing: err = %v, want AlreadyExists", err)
	}
	for _, bad := range []struct {
		table string
		mode  client.IngestMode
	}{{"", client.ModeCreate}, {"t", client.IngestMode(9)}} {
		if _, err := c.Ingest(context.Background(), bad.table, rdr, bad.mode); status.Code(err) != codes.InvalidArgument {
			t.Errorf("Ingest(%q, %v): err = %v, want InvalidArgument", bad.table, bad.mode, err)
		}
	}
	if ingests, _ := s.seen(); len(ingests) != len(modes)+1 {
		t.Errorf("invalid requests reached the server: %d ingests", len(ingests))
	}
}

func TestExec(t *testing.T) {
	s := &fakeServer{name: "A"}
	c := dial(t, serve(t, s), client.Options{})
	if n, err := c.Exec(context.Background(), "DELETE FROM t"); err != nil || n != 3 {
		t.Errorf("Exec = %d, %v", n, err)
	}
	if _, err := c.Exec(context.Background(), "VACUUM"); status.Code(err) != codes.Unimplemented {
		t.Errorf("VACUUM: err = %v, want Unimplemented", err)
	}
	if _, updates := s.seen(); !slices.Equal(updates, []string{"DELETE FROM t", "VACUUM"}) {
		t.Errorf("server saw %v", updates)
	}
}

type validator struct{}

func (validator) Validate(user, pass string) (string, error) {
	if user == "alice" && pass == "secret" {
		return "tok-alice", nil
	}
	return "", status.Error(codes.Unauthenticated, "bad credentials")
}

func (validator) IsValid(token string) (any, error) {
	if token == "tok-alice" {
		return "alice", nil
	}
	return nil, status.Error(codes.Unauthenticated, "bad token")
}

func TestAuth(t *testing.T) {
	addr := serve(t, &fakeServer{name: "A"}, flight.CreateServerBasicAuthMiddleware(validator{}))
	for _, opts := range []client.Options{{Username: "alice", Password: "secret"}, {Token: "tok-alice"}} {
		if _, err := collect(t, dial(t, addr, opts), "SELECT 1"); err != nil {
			t.Errorf("%+v: %v", opts, err)
		}
	}
	_, err := client.Dial(context.Background(), addr, client.Options{Username: "alice", Password: "wrong"})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("wrong password: err = %v, want Unauthenticated", err)
	}
	for _, opts := range []client.Options{{}, {Token: "forged"}} {
		_, err := dial(t, addr, opts).Query(context.Background(), "SELECT 1")
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("%+v: err = %v, want Unauthenticated", opts, err)
		}
	}
}

func TestDialUnreachable(t *testing.T) {
	c := dial(t, "127.0.0.1:1", client.Options{})
	_, err := c.Query(context.Background(), "SELECT 1")
	if status.Code(err) != codes.Unavailable {
		t.Errorf("err = %v, want Unavailable", err)
	}
}
