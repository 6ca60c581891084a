package main

// End-to-end tests of the sql and load subcommands against a throwaway
// in-process Flight SQL server (arrow-go's flightsql.BaseServer) that
// records what it receives.

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type cliServer struct {
	flightsql.BaseServer
	mu      sync.Mutex
	table   string
	exists  flightsql.TableDefinitionOptionsTableExistsOption
	batches []int64
	queries []string
}

func (s *cliServer) GetFlightInfoStatement(_ context.Context, q flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	s.mu.Lock()
	s.queries = append(s.queries, q.GetQuery())
	s.mu.Unlock()
	if strings.HasPrefix(q.GetQuery(), "bad") {
		return nil, status.Error(codes.InvalidArgument, "Parser Error: syntax error at or near \"bad\"")
	}
	tkt, err := flightsql.CreateStatementQueryTicket([]byte(q.GetQuery()))
	if err != nil {
		return nil, err
	}
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(fmtSchema, memory.DefaultAllocator),
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: tkt}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}, nil
}

func (s *cliServer) DoGetStatement(context.Context, flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	rdr := fmtReader(memory.DefaultAllocator)
	ch := make(chan flight.StreamChunk)
	go func() {
		defer close(ch)
		defer rdr.Release()
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			ch <- flight.StreamChunk{Data: rec}
		}
	}()
	return fmtSchema, ch, nil
}

func (s *cliServer) DoPutCommandStatementIngest(_ context.Context, cmd flightsql.StatementIngest, rdr flight.MessageReader) (int64, error) {
	var total int64
	s.mu.Lock()
	defer s.mu.Unlock()
	s.table, s.exists = cmd.GetTable(), cmd.GetTableDefinitionOptions().GetIfExists()
	for rdr.Next() {
		s.batches = append(s.batches, rdr.RecordBatch().NumRows())
		total += rdr.RecordBatch().NumRows()
	}
	return total, rdr.Err()
}

func startCLIServer(t *testing.T) (*cliServer, string) {
	t.Helper()
	srv := &cliServer{}
	s := flight.NewServerWithMiddleware(nil)
	s.RegisterFlightService(flightsql.NewFlightServer(srv))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.InitListener(lis)
	go func() { _ = s.Serve() }()
	t.Cleanup(s.Shutdown)
	return srv, lis.Addr().String()
}

func runCLI(cmd *cobra.Command, stdin string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestLoadCommand(t *testing.T) {
	srv, addr := startCLIServer(t)
	path := writeLoadFile(t, "people.csv", "id,name\n1,ann\n2,bob\n3,cy\n")
	out, err := runCLI(newLoadCmd(), "", path, "--table", "people", "--addr", addr, "--mode", "replace", "--batch-rows", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^loaded 3 rows into people in [0-9.]+ s \([0-9]+ rows/s\)\n$`).MatchString(out) {
		t.Errorf("output %q", out) // also: no progress bar, stderr is no terminal
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.table != "people" || srv.exists != flightsql.TableDefinitionOptionsTableExistsOptionReplace ||
		len(srv.batches) != 2 || srv.batches[0] != 2 || srv.batches[1] != 1 {
		t.Errorf("server saw table %q, if_exists %v, batches %v", srv.table, srv.exists, srv.batches)
	}
}

func TestLoadCommandBadMode(t *testing.T) {
	_, err := runCLI(newLoadCmd(), "", "x.csv", "--table", "t", "--mode", "upsert")
	if err == nil || !strings.Contains(err.Error(), "upsert") {
		t.Errorf("err = %v", err)
	}
}

func TestSQLCommand(t *testing.T) {
	srv, addr := startCLIServer(t)
	t.Setenv("MINIODB_ADDR", addr) // --addr comes from the environment
	out, err := runCLI(newSQLCmd(), "", "--format", "json", "SELECT * FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], `{"i":1,`) {
		t.Errorf("json output %q", out)
	}
	out, err = runCLI(newSQLCmd(), "  SELECT 2\n", "-")
	if err != nil || !strings.HasSuffix(out, "(3 rows)\n") {
		t.Errorf("table output %q, %v", out, err)
	}
	srv.mu.Lock()
	queries := srv.queries
	srv.mu.Unlock()
	if len(queries) != 2 || queries[1] != "SELECT 2" {
		t.Errorf("server saw %q", queries)
	}
}

func TestSQLCommandServerError(t *testing.T) {
	_, addr := startCLIServer(t)
	_, err := runCLI(newSQLCmd(), "", "--addr", addr, "bad query")
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("code = %v, err = %v", status.Code(err), err)
	}
	want := `query failed: InvalidArgument: Parser Error: syntax error at or near "bad"`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}
