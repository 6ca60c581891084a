package bench

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/miniodb/miniodb/ingest"
)

// rawFlight is the baseline: a plain arrow-go Flight server whose DoPut
// only counts the rows it decodes and whose DoGet streams ready batches
// from memory. Nothing MinIODB does is on its path.
type rawFlight struct {
	flight.BaseFlightServer
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	fetched *fetchedFiles // the tickets "fetched" and "decoded" stream these instead
	rows    atomic.Int64
	srv     *grpc.Server
	Addr    string
}

func startRaw(schema *arrow.Schema, batches []arrow.RecordBatch) (*rawFlight, error) {
	r := &rawFlight{schema: schema, batches: batches}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.srv = grpc.NewServer(grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
	flight.RegisterFlightServiceServer(r.srv, r)
	r.Addr = lis.Addr().String()
	go r.srv.Serve(lis)
	return r, nil
}

func (r *rawFlight) Close() { r.srv.Stop() }

func (r *rawFlight) DoPut(stream flight.FlightService_DoPutServer) error {
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		return err
	}
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
	}
	if err := rdr.Err(); err != nil {
		return err
	}
	r.rows.Add(n)
	return stream.Send(&flight.PutResult{})
}

func (r *rawFlight) DoGet(t *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	w := flight.NewRecordWriter(stream, ipc.WithSchema(r.schema))
	defer w.Close()
	switch {
	case string(t.Ticket) == "fetched" && r.fetched != nil:
		return r.fetched.stream(stream.Context(), w.Write)
	case string(t.Ticket) == "decoded" && r.fetched != nil:
		return r.fetched.streamHeld(stream.Context(), w.Write)
	}
	for _, b := range r.batches {
		if err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// rawClient is a plain Flight client of rawFlight.
func rawClient(addr string) (flight.Client, error) {
	return flight.NewClientWithMiddleware(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
}

// rawPut sends batches to the raw server in one DoPut and waits for its ack.
func rawPut(ctx context.Context, c flight.Client, schema *arrow.Schema, batches []arrow.RecordBatch) error {
	stream, err := c.DoPut(ctx)
	if err != nil {
		return err
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(schema))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte("count")})
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	_, err = stream.Recv()
	return err
}

// rawRate reads the raw server's DoGet stream of ticket ("all": the ready
// batches; "fetched" and "decoded": rawFlight.fetched) and returns its
// rate in MiB/s.
func rawRate(ctx context.Context, c flight.Client, ticket string) (float64, error) {
	t := startTimer()
	stream, err := c.DoGet(ctx, &flight.Ticket{Ticket: []byte(ticket)})
	if err != nil {
		return 0, err
	}
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	var bytes int64
	for rdr.Next() {
		bytes += ingest.BatchBytes(rdr.RecordBatch())
	}
	return float64(bytes) / t.seconds() / (1 << 20), rdr.Err()
}

type rawGetter = flight.Client
