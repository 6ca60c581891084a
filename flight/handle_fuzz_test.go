package flight

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/query"

	"github.com/miniodb/miniodb/shard"
)

// FuzzDecodeHandle feeds arbitrary tickets and prepared-statement handles
// to the server's decoder: it must refuse with errBadTicket or decode,
// never panic, and never leak an Arrow buffer (checked allocator). Only
// handles whose seal checks reach the layout decoder (seal.go): the
// unsealed decoder once let a forged parameter stream make arrow-go's IPC
// reader allocate 29 GB.
func FuzzDecodeHandle(f *testing.F) {
	srv := NewServer(refuser{}, refuser{}, Config{HandleKey: []byte("fuzz key")})
	params := func() arrow.RecordBatch {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		defer b.Release()
		b.AppendValues([]int64{1, 2}, nil)
		col := b.NewArray()
		defer col.Release()
		return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "p", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, 2)
	}()
	defer params.Release()
	scoped := statementHandle("SELECT 1", nil)
	scoped.scope = &shard.Scope{Buffers: []string{"node-a"}, Files: []string{"node-b"}, Partial: true}
	for _, h := range []handle{statementHandle("SELECT 1", nil), statementHandle("SELECT $1", params), resultHandle(7), scoped} {
		b, err := srv.encodeHandle(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{handleV1, 'S', 'E', 'L'})
	f.Add([]byte{})
	f.Add([]byte{handleV2, kindStatement})
	f.Fuzz(func(t *testing.T, b []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		srv := *srv
		srv.mem = mem
		h, err := srv.decodeHandle(b)
		if err != nil {
			return
		}
		if h.kind == kindStatement && h.sql == "" {
			t.Fatalf("decoded a statement without SQL from %x", b)
		}
		again, err := srv.encodeHandle(h)
		h.release()
		if err != nil {
			return
		}
		back, err := srv.decodeHandle(again)
		if err != nil {
			t.Fatalf("re-encoded handle does not decode: %v", err)
		}
		if back.sql != h.sql || back.rows != h.rows || back.kind != h.kind || (back.scope == nil) != (h.scope == nil) {
			t.Fatalf("round trip changed the handle")
		}
		back.release()
	})
}

// refuser is an Ingester and Querier that refuses everything, so the
// command fuzzer exercises decoding and dispatch only.
type refuser struct{}

var errRefuse = status.Error(codes.Unimplemented, "refused by the fuzz fake")

func (refuser) Ingest(context.Context, ingest.Request) (int64, error) { return 0, errRefuse }
func (refuser) CreateTable(context.Context, string, *arrow.Schema, catalog.TableConfig, bool) (bool, error) {
	return false, errRefuse
}
func (refuser) DropTable(context.Context, string, bool) (bool, error) { return false, errRefuse }
func (refuser) Tables() []ingest.TableInfo                            { return nil }
func (refuser) Describe(context.Context, string, arrow.RecordBatch) (*query.Statement, error) {
	return nil, errRefuse
}
func (refuser) Query(context.Context, string, arrow.RecordBatch) (*query.Stream, error) {
	return nil, errRefuse
}
func (refuser) Rows(context.Context, string, arrow.RecordBatch) (*query.Rows, error) {
	return nil, errRefuse
}
func (refuser) Access(context.Context, string) (*query.Access, error) { return nil, errRefuse }

// FuzzFlightSQLCommand sends arbitrary FlightDescriptor commands (a
// protobuf Any naming a Flight SQL command) to GetFlightInfo,
// PollFlightInfo and GetSchema: every one is answered with a result or a
// status, never a panic.
func FuzzFlightSQLCommand(f *testing.F) {
	seeds := [][]byte{nil, []byte("garbage"), {0x0a, 0x00}}
	sql, table := "SELECT 1", "t"
	for _, m := range []proto.Message{
		&pb.CommandStatementQuery{Query: "SELECT 1"},
		&pb.CommandGetTables{IncludeSchema: true, TableNameFilterPattern: &table},
		&pb.CommandPreparedStatementQuery{PreparedStatementHandle: []byte{handleV1, 'x'}},
		&pb.CommandStatementUpdate{Query: "DROP TABLE t"},
		&pb.CommandGetDbSchemas{DbSchemaFilterPattern: &sql},
		&pb.CommandGetSqlInfo{Info: []uint32{0, 1, 500}},
		&pb.CommandGetXdbcTypeInfo{},
		&pb.CommandGetPrimaryKeys{Table: "t"},
	} {
		a, err := anypb.New(m)
		if err != nil {
			f.Fatal(err)
		}
		b, err := proto.Marshal(a)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for _, s := range seeds {
		f.Add(s)
	}
	srv := NewServer(refuser{}, refuser{}, Config{}).FlightService()
	f.Fuzz(func(t *testing.T, cmd []byte) {
		ctx := context.Background()
		desc := &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: cmd}
		if info, err := srv.GetFlightInfo(ctx, desc); err == nil && info == nil {
			t.Fatal("GetFlightInfo: nil info without an error")
		}
		srv.PollFlightInfo(ctx, desc)
		srv.GetSchema(ctx, desc)
	})
}
