package flight

import (
	"context"
	"runtime/debug"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/auth"
	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/query"
	"github.com/miniodb/miniodb/shard"
)

// Ingester is the write path: bulk ingest and the table DDL.
type Ingester interface {
	// Ingest runs one bulk ingest (ingest.Service.Ingest).
	Ingest(ctx context.Context, req ingest.Request) (int64, error)
	// CreateTable creates an empty table; (false, nil) if it exists and
	// ifNotExists is set.
	CreateTable(ctx context.Context, name string, schema *arrow.Schema, cfg catalog.TableConfig, ifNotExists bool) (bool, error)
	// DropTable drops a table; (false, nil) if it is missing and ifExists
	// is set.
	DropTable(ctx context.Context, name string, ifExists bool) (bool, error)
	// Tables lists the tables in name order.
	Tables() []ingest.TableInfo
}

// Querier checks and runs SQL (query.Engine).
type Querier interface {
	// Describe classifies and describes a statement without running it;
	// params (nil: none) are bound parameter rows, which may decide the
	// result types of a query.
	Describe(ctx context.Context, sql string, params arrow.RecordBatch) (*query.Statement, error)
	// Query runs a query, once per parameter row.
	Query(ctx context.Context, sql string, params arrow.RecordBatch) (*query.Stream, error)
	// Rows evaluates the rows an INSERT or CREATE TABLE AS writes.
	Rows(ctx context.Context, sql string, params arrow.RecordBatch) (*query.Rows, error)
	// Access lists the tables a statement touches, without lookups.
	Access(ctx context.Context, sql string) (*query.Access, error)
}

// ResultStream is a running query's result.
type ResultStream interface {
	Schema() *arrow.Schema
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
	Close()
}

// Config configures the Flight SQL service. Zero values take the defaults
// noted.
type Config struct {
	// Location is the URI every FlightEndpoint names. Default:
	// arrow-flight-reuse-connection://? (fetch from the same connection:
	// right for a single node). In a cluster it is the node's advertised
	// URI, grpc+tcp://host:port or grpc+tls://host:port.
	Location string
	// Version is the server version reported by GetSqlInfo; default the
	// module version of the binary, else "dev".
	Version string
	// Auth, when set, authorizes every statement, ingest and metadata
	// listing against the caller's identity (auth.go); nil: no checks.
	// Authentication itself is AuthInterceptors on the gRPC server.
	Auth *auth.Authenticator
	// HandleKey signs the statement handles and tickets the service
	// issues (seal.go); every node of a cluster needs the same one so that
	// any node takes another's tickets. Empty: a random key, valid until
	// the process ends.
	HandleKey []byte
	// Splitter, when set (a cluster), splits a plain scan of one table
	// into one endpoint per node (shard.Splitter), which clients fetch in
	// parallel; nil (a single node): every query has one endpoint.
	Splitter Splitter
}

// Splitter splits a plain scan of one table into per-node parts
// (shard.Splitter). The parts together read every row of the table once.
type Splitter interface {
	// Split returns the parts of a scan of table, the planning node's
	// own marked Local. It fails with shard.ErrNodeUnavailable naming a
	// node that is down and may hold rows of the table, unless partial is
	// set. It reads the registry and the file list and changes nothing.
	Split(ctx context.Context, table string, partial bool) ([]shard.Part, error)
}

func (c *Config) setDefaults() {
	if c.Location == "" {
		c.Location = flight.LocationReuseConnection
	}
	if c.Version == "" {
		c.Version = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			c.Version = bi.Main.Version
		}
	}
}

// Server is the Flight SQL service of one node.
type Server struct {
	flightsql.BaseServer
	cfg    Config
	ingest Ingester
	query  Querier
	mem    memory.Allocator
	runs   *registry
	seal   sealer
}

// NewServer returns the Flight SQL service over an ingester and a querier.
func NewServer(in Ingester, q Querier, cfg Config) *Server {
	cfg.setDefaults()
	if cfg.Auth != nil {
		in, q = authIngester{in, cfg.Auth}, authQuerier{q, cfg.Auth}
	}
	s := &Server{cfg: cfg, ingest: in, query: q, mem: memory.DefaultAllocator, runs: newRegistry(), seal: newSealer(cfg.HandleKey)}
	s.Alloc = s.mem
	s.registerSQLInfo()
	return s
}

// FlightService returns the gRPC service to register, on a gRPC server
// made with ServerOptions.
func (s *Server) FlightService() flight.FlightServer {
	return dataServer{FlightServer: flightsql.NewFlightServerWithAllocator(s, s.mem), s: s}
}

// endpoint is the one endpoint of a result: its ticket, fetched from this
// node's location.
func (s *Server) endpoint(ticket []byte) []*flight.FlightEndpoint {
	return []*flight.FlightEndpoint{{
		Ticket:   &flight.Ticket{Ticket: ticket},
		Location: []*flight.Location{{Uri: s.cfg.Location}},
	}}
}

// flightInfo describes a result of the given schema behind one ticket.
func (s *Server) flightInfo(schema *arrow.Schema, desc *flight.FlightDescriptor, ticket []byte) *flight.FlightInfo {
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(schema, s.mem),
		FlightDescriptor: desc,
		Endpoint:         s.endpoint(ticket),
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
}

// DoPutCommandStatementIngest implements bulk ingest.
func (s *Server) DoPutCommandStatementIngest(ctx context.Context, cmd flightsql.StatementIngest, rdr flight.MessageReader) (int64, error) {
	req, err := ingestRequest(cmd)
	if err != nil {
		return 0, err
	}
	req.Batches = rdr
	n, err := s.ingest.Ingest(ctx, req)
	return n, Status(err)
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
	case !ourCatalog(cmd.GetCatalog()):
		return bad("catalog %q does not exist (use %q or leave it empty)", cmd.GetCatalog(), query.Catalog)
	case !ourSchema(cmd.GetSchema()):
		return bad("schema %q does not exist (use %q or leave it empty)", cmd.GetSchema(), query.Schema)
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

// ourCatalog reports whether a catalog name given by a client names ours
// (empty means the default, ours).
func ourCatalog(name string) bool { return name == "" || strings.EqualFold(name, query.Catalog) }

// ourSchema reports whether a schema name given by a client names ours.
func ourSchema(name string) bool { return name == "" || strings.EqualFold(name, query.Schema) }
