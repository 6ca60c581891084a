package flight

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// endlessDoGet sends 64 KiB messages until a send fails, then reports
// that failure on ended.
type endlessDoGet struct {
	flight.BaseFlightServer
	ended chan error
	limit int // messages to send; 0: no end
}

func (s *endlessDoGet) DoGet(_ *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	body := make([]byte, 64<<10)
	for i := 0; s.limit == 0 || i < s.limit; i++ {
		if err := stream.Send(&flight.FlightData{DataBody: body}); err != nil {
			s.ended <- err
			return err
		}
	}
	s.ended <- nil
	return nil
}

// serveGuarded runs svc behind a StallGuard on a loopback port and
// returns a client of it.
func serveGuarded(t *testing.T, svc flight.FlightServer, timeout time.Duration) flight.FlightServiceClient {
	t.Helper()
	g := NewStallGuard(timeout)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainStreamInterceptor(g.StreamInterceptor()))
	flight.RegisterFlightServiceServer(srv, svc)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(g.Listener(lis)) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); srv.Stop(); <-done })
	return flight.NewFlightServiceClient(conn)
}

func TestStallGuard(t *testing.T) {
	t.Run("reader_that_never_reads_is_cut", func(t *testing.T) {
		svc := &endlessDoGet{ended: make(chan error, 1)}
		c := serveGuarded(t, svc, 300*time.Millisecond)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stream, err := c.DoGet(ctx, &flight.Ticket{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil { // one message, then nothing
			t.Fatal(err)
		}
		select {
		case err := <-svc.ended:
			if err == nil {
				t.Fatal("the endless stream ended without an error")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the server's send is still blocked 30s after a 300ms idle timeout")
		}
		for {
			if _, err := stream.Recv(); err != nil {
				break // what was in flight, then the cut connection
			}
		}
	})
	t.Run("steady_reader_is_not_cut", func(t *testing.T) {
		svc := &endlessDoGet{ended: make(chan error, 1), limit: 200}
		c := serveGuarded(t, svc, 300*time.Millisecond)
		stream, err := c.DoGet(context.Background(), &flight.Ticket{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err := stream.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("after %d messages: %v", n, err)
				}
				break
			}
			n++
		}
		if n != 200 || <-svc.ended != nil {
			t.Fatalf("got %d of 200 messages", n)
		}
	})
	if NewStallGuard(0) != nil {
		t.Fatal("a zero timeout must disable the guard")
	}
}
