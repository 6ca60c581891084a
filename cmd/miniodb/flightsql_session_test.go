package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestFlightSQLSessionOptions: catalog and schema accept our names and read
// back as them; other names and values are refused per option.
func TestFlightSQLSessionOptions(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	opts, err := flight.NewSessionOptionValues(map[string]any{"catalog": "MinIODB", "schema": "main", "colour": "red", "search_path": "x"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.SetSessionOptions(ctx, &flight.SetSessionOptionsRequest{SessionOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	errs := res.GetErrors()
	if len(errs) != 2 || errs["colour"].GetValue() != flight.SetSessionOptionsResultErrorInvalidName {
		t.Fatalf("errors %v", errs)
	}
	opts, _ = flight.NewSessionOptionValues(map[string]any{"schema": "public"})
	res, err = c.SetSessionOptions(ctx, &flight.SetSessionOptionsRequest{SessionOptions: opts})
	if err != nil || res.GetErrors()["schema"].GetValue() != flight.SetSessionOptionsResultErrorInvalidValue {
		t.Fatalf("schema=public: %v, %v", res, err)
	}
	got, err := c.GetSessionOptions(ctx, &flight.GetSessionOptionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	so := got.GetSessionOptions()
	if so["catalog"].GetStringValue() != "miniodb" || so["schema"].GetStringValue() != "main" {
		t.Fatalf("session options %v", so)
	}
	closed, err := c.CloseSession(ctx, &flight.CloseSessionRequest{})
	if err != nil || closed.GetStatus() != flight.CloseSessionResultClosed {
		t.Fatalf("CloseSession: %v, %v", closed, err)
	}
}

// fsqlSlowQuery runs for minutes unless interrupted.
const fsqlSlowQuery = "SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range * b.range = -1"

// TestFlightSQLCancelFlightInfo interrupts a running DuckDB query, and a
// query whose DoGet has not started yet.
func TestFlightSQLCancelFlightInfo(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	info, err := c.Execute(ctx, fsqlSlowQuery)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := fsqlDrain(ctx, c, info)
		done <- err
	}()
	time.Sleep(500 * time.Millisecond) // let DoGet reach DuckDB
	res, err := c.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
	if err != nil || res.Status != flight.CancelStatusCancelled {
		t.Fatalf("CancelFlightInfo = %v, %v", res.Status, err)
	}
	select {
	case err := <-done:
		wantCode(t, err, codes.Canceled)
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled query still runs after 30s")
	}

	info, err = c.Execute(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info}); err != nil {
		t.Fatal(err)
	}
	_, err = fsqlDrain(ctx, c, info)
	wantCode(t, err, codes.Canceled)

	// The node is fine afterwards.
	if got := queryInts(t, c, "SELECT 41 + 1")[0]; got != 42 {
		t.Fatalf("SELECT 41 + 1 = %d", got)
	}
}

// TestFlightSQLPollFlightInfo: planning is immediate, so the first poll is
// complete and its FlightInfo is fetchable.
func TestFlightSQLPollFlightInfo(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	poll, err := c.ExecutePoll(ctx, "SELECT 7 AS n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if poll.GetFlightDescriptor() != nil || poll.GetProgress() != 1 || poll.GetInfo() == nil {
		t.Fatalf("poll %v", poll)
	}
	_, recs := fsqlFetch(t, c, poll.GetInfo())
	defer releaseRecs(recs)
	if len(recs) != 1 || recs[0].Column(0).(*array.Int32).Value(0) != 7 {
		t.Fatalf("poll result %v", recs)
	}
	ps, err := c.Prepare(ctx, "SELECT ? + 1 AS n")
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close(ctx)
	params := fsqlParams(t, int64(1))
	defer params.Release()
	ps.SetParameters(params)
	poll, err = ps.ExecutePoll(ctx, nil)
	if err != nil || poll.GetInfo() == nil {
		t.Fatalf("prepared poll: %v, %v", poll, err)
	}
}

// TestFlightSQLWireTypesAndSizes: results carry Utf8 (not Utf8View) and
// List (not ListView), and batches larger than gRPC's default 4 MiB pass
// both ways.
func TestFlightSQLWireTypesAndSizes(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	ctx := context.Background()
	info, err := c.Execute(ctx, "SELECT 'x' AS s, [1, 2] AS l, {'a': 'b'} AS st")
	if err != nil {
		t.Fatal(err)
	}
	schema, recs := fsqlFetch(t, c, info)
	releaseRecs(recs)
	for i, want := range []arrow.Type{arrow.STRING, arrow.LIST, arrow.STRUCT} {
		if got := schema.Field(i).Type.ID(); got != want {
			t.Fatalf("column %s is %s, want %s", schema.Field(i).Name, schema.Field(i).Type, want)
		}
	}

	const rows = 65536
	schema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "pad", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	pad := strings.Repeat("p", 100)
	for i := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(pad)
	}
	big := b.NewRecordBatch()
	b.Release()
	defer big.Release()
	if n, err := ingestRecs(ctx, c, "big", modeCreate, big); err != nil || n != rows {
		t.Fatalf("ingest of a %d-row batch: %d, %v", rows, n, err)
	}
	info, err = c.Execute(ctx, "SELECT id, pad || pad AS pad FROM big")
	if err != nil {
		t.Fatal(err)
	}
	n, err := fsqlDrain(ctx, c, info)
	if err != nil || n != rows {
		t.Fatalf("query of %d wide rows: %d, %v", rows, n, err)
	}
}

// TestFlightSQLTransactionsRefused: the service has no transactions and
// says so in the status.
func TestFlightSQLTransactionsRefused(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	_, err := c.BeginTransaction(context.Background())
	if status.Code(err) != codes.Unimplemented && status.Code(err) != codes.InvalidArgument {
		t.Fatalf("BeginTransaction: %v", err)
	}
	_ = flightsql.SqlTransactionNone
}
