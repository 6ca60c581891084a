package flight

import (
	"context"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Cancel keeps soft state only: the queries DoGet is running, by handle
// id, and for a while the ids cancelled before their DoGet started.
const (
	cancelledTTL = 10 * time.Minute
	cancelledMax = 10_000
)

// registry finds running queries by handle id.
type registry struct {
	mu        sync.Mutex
	seq       uint64
	running   map[[idLen]byte]map[uint64]context.CancelFunc
	cancelled map[[idLen]byte]time.Time
}

func newRegistry() *registry {
	return &registry{running: map[[idLen]byte]map[uint64]context.CancelFunc{}, cancelled: map[[idLen]byte]time.Time{}}
}

// start registers a query about to run under id and returns its context;
// done must be called when it ends. A query whose FlightInfo was
// cancelled before the DoGet fails with Canceled. A zero id (a version-1
// ticket) cannot be cancelled.
func (r *registry) start(ctx context.Context, id [idLen]byte) (qctx context.Context, done func(), err error) {
	qctx, cancel := context.WithCancel(ctx)
	if id == ([idLen]byte{}) {
		return qctx, cancel, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cancelled[id]; ok {
		cancel()
		return nil, nil, status.Error(codes.Canceled, "query was cancelled by CancelFlightInfo")
	}
	r.seq++
	key := r.seq
	if r.running[id] == nil {
		r.running[id] = map[uint64]context.CancelFunc{}
	}
	r.running[id][key] = cancel
	done = func() {
		cancel()
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.running[id], key)
		if len(r.running[id]) == 0 {
			delete(r.running, id)
		}
	}
	return qctx, done, nil
}

// cancel interrupts every query running under id and makes later DoGets
// of it fail.
func (r *registry) cancel(id [idLen]byte, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.running[id] {
		c()
	}
	for k, at := range r.cancelled {
		if now.Sub(at) > cancelledTTL || len(r.cancelled) >= cancelledMax {
			delete(r.cancelled, k)
		}
	}
	r.cancelled[id] = now
}

// CancelFlightInfo interrupts the DuckDB queries running for the
// FlightInfo's endpoints (bindings.Interrupt on their connections) and
// makes DoGets that have not started yet fail with Canceled.
func (s *Server) CancelFlightInfo(_ context.Context, req *flight.CancelFlightInfoRequest) (flight.CancelFlightInfoResult, error) {
	eps := req.GetInfo().GetEndpoint()
	if len(eps) == 0 {
		return flight.CancelFlightInfoResult{}, status.Error(codes.InvalidArgument, "cancel: the FlightInfo has no endpoints")
	}
	now := time.Now()
	for _, ep := range eps {
		id, err := ticketID(ep.GetTicket().GetTicket())
		if err != nil {
			return flight.CancelFlightInfoResult{}, status.Errorf(codes.InvalidArgument, "cancel: %v", err)
		}
		s.runs.cancel(id, now)
	}
	return flight.CancelFlightInfoResult{Status: flight.CancelStatusCancelled}, nil
}

// ticketID extracts the handle id of a ticket this server issued.
func ticketID(ticket []byte) ([idLen]byte, error) {
	var zero [idLen]byte
	var anycmd anypb.Any
	if err := proto.Unmarshal(ticket, &anycmd); err != nil {
		return zero, errBadTicket
	}
	msg, err := anycmd.UnmarshalNew()
	if err != nil {
		return zero, errBadTicket
	}
	var raw []byte
	switch m := msg.(type) {
	case *pb.TicketStatementQuery:
		raw = m.GetStatementHandle()
	case *pb.CommandPreparedStatementQuery:
		raw = m.GetPreparedStatementHandle()
	default:
		return zero, errBadTicket
	}
	if len(raw) < v2HeaderLen || raw[0] != handleV2 {
		return zero, errBadTicket
	}
	var id [idLen]byte
	copy(id[:], raw[2:v2HeaderLen])
	return id, nil
}

// PollFlightInfo handles descriptors that are not Flight SQL commands.
func (s *Server) PollFlightInfo(context.Context, *flight.FlightDescriptor) (*flight.PollInfo, error) {
	return nil, status.Error(codes.InvalidArgument, "PollFlightInfo needs a Flight SQL statement or prepared statement command")
}
