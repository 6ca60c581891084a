package main

import (
	"context"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/query/sandbox"
)

// TestSandboxOverFlight replays the sandbox's hostile statement list over
// Flight SQL, through each door a statement can come in: GetFlightInfo,
// GetSchema, and DoGet with a hand-made ticket that never went through
// GetFlightInfo. Every statement must be refused; none may run.
func TestSandboxOverFlight(t *testing.T) {
	data, err := os.ReadFile("../../query/sandbox/testdata/hostile.sql")
	if err != nil {
		t.Fatal(err)
	}
	stmts := sandbox.ParseStatementFile(string(data))
	if len(stmts) < 25 {
		t.Fatalf("only %d hostile statements", len(stmts))
	}
	s := startServer(t, t.TempDir())
	c := s.client()
	b := idBatch(0, 3)
	defer b.Release()
	if _, err := ingestRecs(context.Background(), c, "t", modeCreate, b); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, stmt := range stmts {
		// CREATE TABLE, DROP TABLE and INSERT are the service's DDL/DML
		// (flightsql_ddl_test.go): only a DoGet ticket must never run them.
		// main.t names the schema the service presents: it reads table t.
		if readsOurSchema(stmt) {
			continue
		}
		if !executesAsDDL(stmt) {
			_, err := c.Execute(ctx, stmt)
			wantRefused(t, "GetFlightInfo", stmt, err)
			_, err = c.GetExecuteSchema(ctx, stmt)
			wantRefused(t, "GetSchema", stmt, err)
		}
		wantRefused(t, "DoGet", stmt, doGetSQL(ctx, c, stmt))
	}
	// The service is still whole afterwards.
	if got := queryInts(t, c, "SELECT count(*) FROM t")[0]; got != 3 {
		t.Fatalf("table t has %d rows after the hostile statements, want 3", got)
	}
	t.Logf("%d hostile statements refused on 3 paths each", len(stmts))
}

func wantRefused(t *testing.T, path, stmt string, err error) {
	t.Helper()
	switch status.Code(err) {
	case codes.PermissionDenied, codes.InvalidArgument:
	default:
		t.Errorf("%s of %q: got %v, want PermissionDenied or InvalidArgument", path, stmt, err)
	}
}

// doGetSQL sends a DoGet whose ticket carries sql directly and drains it.
func doGetSQL(ctx context.Context, c *flightsql.Client, sql string) error {
	tkt, err := flightsql.CreateStatementQueryTicket(append([]byte{1}, sql...))
	if err != nil {
		return err
	}
	rdr, err := c.DoGet(ctx, &flight.Ticket{Ticket: tkt})
	if err != nil {
		return err
	}
	defer rdr.Release()
	for rdr.Next() {
	}
	return rdr.Err()
}
