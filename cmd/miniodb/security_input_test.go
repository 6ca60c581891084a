package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// ingestDescriptor is the FlightDescriptor of a bulk ingest into table.
func ingestDescriptor(t *testing.T, table string) *flight.FlightDescriptor {
	t.Helper()
	a, err := anypb.New(&pb.CommandStatementIngest{Table: table, TableDefinitionOptions: &pb.CommandStatementIngest_TableDefinitionOptions{
		IfNotExist: pb.CommandStatementIngest_TableDefinitionOptions_TABLE_NOT_EXIST_OPTION_CREATE,
		IfExists:   pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_APPEND}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := proto.Marshal(a)
	return &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: b}
}

// corruptingStream passes FlightData through mutate before sending.
type corruptingStream struct {
	flight.FlightService_DoPutClient
	n      int
	mutate func(i int, fd *flight.FlightData)
}

func (c *corruptingStream) Send(fd *flight.FlightData) error {
	c.mutate(c.n, fd)
	c.n++
	return c.FlightService_DoPutClient.Send(fd)
}

// TestSecurityMalformedDoPut sends broken Arrow IPC to DoPut: garbage
// headers, bodies shorter than their header says, a batch whose body lies
// about its schema. Each is answered with a status (never a crash, never
// rows), and the node keeps serving.
func TestSecurityMalformedDoPut(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"))
	c := s.client()
	mutations := map[string]func(i int, fd *flight.FlightData){
		"garbage_header": func(i int, fd *flight.FlightData) {
			if i == 0 {
				fd.DataHeader = []byte("not a flatbuffer at all")
			}
		},
		"truncated_body": func(i int, fd *flight.FlightData) {
			if i == 1 {
				fd.DataBody = fd.DataBody[:len(fd.DataBody)/3]
			}
		},
		"batch_header_as_schema": func(i int, fd *flight.FlightData) {
			if i == 0 {
				fd.DataHeader = []byte{0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0}
			}
		},
		"header_bytes_flipped": func(i int, fd *flight.FlightData) {
			if i == 1 {
				for j := 8; j < len(fd.DataHeader); j += 3 {
					fd.DataHeader[j] ^= 0x5a
				}
			}
		},
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			raw, err := c.Client.DoPut(ctx)
			if err != nil {
				t.Fatal(err)
			}
			stream := &corruptingStream{FlightService_DoPutClient: raw, mutate: mutate}
			w := flight.NewRecordWriter(stream, ipc.WithSchema(idBatch(0, 1).Schema()))
			w.SetFlightDescriptor(ingestDescriptor(t, "victim_"+name))
			rec := idBatch(0, 100)
			werr := w.Write(rec)
			rec.Release()
			w.Close()
			raw.CloseSend()
			_, err = raw.Recv()
			for err == nil {
				_, err = raw.Recv()
			}
			if werr == nil && err == io.EOF {
				t.Fatalf("the broken stream was acknowledged")
			}
			if c := status.Code(err); c == codes.Unavailable || c == codes.Unknown && err != io.EOF {
				t.Fatalf("answered %v", err)
			}
		})
	}
	// a well-formed ingest still works and no broken one left rows
	if _, err := ingestRecs(context.Background(), c, "after", modeCreate, idBatch(0, 3)); err != nil {
		t.Fatalf("ingest after the broken streams: %v", err)
	}
	for name := range mutations {
		_, recs, err := queryAll(context.Background(), c, "SELECT count(*) FROM victim_"+name)
		if err == nil {
			n := recs[0].Column(0).(*array.Int64).Value(0)
			releaseRecs(recs)
			if n != 0 {
				t.Errorf("%s: %d rows were written", name, n)
			}
		}
	}
}
