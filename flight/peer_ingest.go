package flight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/ingest"
)

// Split ingests, node to node. The receiving node streams each owner its
// part with a DoPut carrying the header peerIngestHeader, JSON
// {"gid": ..., "table": ..., "incarnation": ...}; the owner stages and prepares the rows
// (ingest.Staged.Prepare) and answers one PutResult whose app_metadata is
// JSON {"rows": n}. The outcome follows as a DoAction of type
// peerResolveAction with body JSON {"gid": ..., "commit": bool}.

const (
	peerIngestHeader  = "x-miniodb-peer-ingest"
	peerResolveAction = "miniodb.peer.resolve.v1"
)

type peerIngest struct {
	GID         string `json:"gid"`
	Table       string `json:"table"`
	Incarnation string `json:"incarnation,omitempty"`
}

type peerResolve struct {
	GID    string `json:"gid"`
	Commit bool   `json:"commit"`
}

type peerPrepared struct {
	Rows int64 `json:"rows"`
}

// DoPut takes this node's part of a split ingest; anything else goes to
// the Flight SQL service.
func (p *peerServer) DoPut(stream flight.FlightService_DoPutServer) error {
	ctx := stream.Context()
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(peerIngestHeader)
	if len(vals) == 0 {
		if ctx.Value(peerCallKey{}) != nil {
			return errPeerOnly
		}
		return p.FlightServer.DoPut(stream)
	}
	if err := p.verified(ctx); err != nil {
		return err
	}
	var req peerIngest
	if err := json.Unmarshal([]byte(vals[0]), &req); err != nil || req.GID == "" || req.Table == "" {
		return status.Errorf(codes.InvalidArgument, "malformed %s header %q", peerIngestHeader, vals[0])
	}
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "part of split ingest %s: %v", req.GID, err)
	}
	defer rdr.Release()
	st, err := p.node.Stage(ctx, ingest.Request{Table: req.Table, IfMissing: ingest.FailIfMissing, IfExists: ingest.Append,
		Batches: rdr, Incarnation: req.Incarnation})
	if err != nil {
		return Status(err)
	}
	rows := st.Rows()
	if err := st.Prepare(ctx, req.GID); err != nil {
		return Status(err)
	}
	body, _ := json.Marshal(peerPrepared{Rows: rows})
	return stream.Send(&flight.PutResult{AppMetadata: body})
}

// DoAction applies the outcome of a split ingest to this node's part;
// anything else goes to the Flight SQL service.
func (p *peerServer) DoAction(action *flight.Action, stream flight.FlightService_DoActionServer) error {
	ctx := stream.Context()
	if action.GetType() != peerResolveAction {
		if ctx.Value(peerCallKey{}) != nil {
			return errPeerOnly
		}
		return p.FlightServer.DoAction(action, stream)
	}
	if err := p.verified(ctx); err != nil {
		return err
	}
	var req peerResolve
	if err := json.Unmarshal(action.GetBody(), &req); err != nil || req.GID == "" {
		return status.Errorf(codes.InvalidArgument, "malformed %s body", peerResolveAction)
	}
	if err := p.node.Resolve(ctx, req.GID, req.Commit); err != nil {
		return Status(err)
	}
	return stream.Send(&flight.Result{Body: []byte("ok")})
}

var errPeerOnly = status.Error(codes.PermissionDenied, "node-to-node credentials serve node-to-node calls only; send a user's credentials for anything else")

// verified checks a peer call's credential unless the auth interceptors
// did already.
func (p *peerServer) verified(ctx context.Context) error {
	if ctx.Value(peerCallKey{}) != nil {
		return nil
	}
	return checkPeer(ctx, p.secret)
}

// Prepare streams batches (until the channel closes) to the node at addr
// as its part of split ingest gid into table (its life incarnation), and
// returns the rows the node prepared. It releases every batch it receives. On an error it
// keeps draining the channel, so the sender never blocks on it; the
// sender stops on ctx.
func (p *Peers) Prepare(ctx context.Context, node, addr, gid, table, incarnation string, schema *arrow.Schema, batches <-chan arrow.RecordBatch) (int64, error) {
	defer func() {
		for rec := range batches {
			rec.Release()
		}
	}()
	c, err := p.client(addr)
	if err != nil {
		return 0, fmt.Errorf("%w: %s at %s: %v", ErrPeerUnavailable, node, addr, err)
	}
	hdr, _ := json.Marshal(peerIngest{GID: gid, Table: table, Incarnation: incarnation})
	ctx = metadata.AppendToOutgoingContext(ctx, PeerHeader, PeerToken(p.secret, p.self), peerIngestHeader, string(hdr))
	stream, err := c.DoPut(ctx)
	if err != nil {
		return 0, peerError(node, addr, err)
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(schema))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{table}})
	var werr error
	for rec := range batches {
		if werr == nil {
			werr = w.Write(rec)
		}
		rec.Release()
		if werr != nil {
			break // the answer below says why
		}
	}
	if werr == nil {
		werr = w.Close()
	}
	stream.CloseSend()
	res, err := stream.Recv()
	if err != nil {
		if err == io.EOF && werr != nil {
			err = werr
		}
		return 0, peerError(node, addr, err)
	}
	var got peerPrepared
	if err := json.Unmarshal(res.GetAppMetadata(), &got); err != nil {
		return 0, fmt.Errorf("%w: %s at %s answered a prepare with %q", ErrPeerUnavailable, node, addr, res.GetAppMetadata())
	}
	return got.Rows, nil
}

// Resolve tells the node at addr the outcome of split ingest gid.
func (p *Peers) Resolve(ctx context.Context, node, addr, gid string, commit bool) error {
	c, err := p.client(addr)
	if err != nil {
		return fmt.Errorf("%w: %s at %s: %v", ErrPeerUnavailable, node, addr, err)
	}
	body, _ := json.Marshal(peerResolve{GID: gid, Commit: commit})
	ctx = metadata.AppendToOutgoingContext(ctx, PeerHeader, PeerToken(p.secret, p.self))
	stream, err := c.DoAction(ctx, &flight.Action{Type: peerResolveAction, Body: body})
	if err != nil {
		return peerError(node, addr, err)
	}
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return peerError(node, addr, err)
		}
	}
}
