package flight

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/ingest"
)

// Node-to-node calls. A node pulls another node's buffered rows of a table
// with a DoGet whose ticket is peerTicketPrefix followed by JSON
// {"table": ...}; the answer is an Arrow stream whose schema metadata
// carries the WAL cut (ingest.Snapshot.Node and FlushedLSN). Peer calls
// carry the header PeerHeader: "<node id>:<hex HMAC-SHA256 of the node id
// under the cluster secret>"; a node with a cluster secret refuses peer
// tickets without a valid one.

const (
	peerTicketPrefix = "miniodb.peer.buffer.v1:"
	// PeerHeader is the metadata key of a node-to-node call's credential.
	PeerHeader       = "x-miniodb-peer"
	metaPeerNode     = "miniodb.peer.node"
	metaPeerFlushed  = "miniodb.peer.flushed_lsn"
	metaPeerInc      = "miniodb.peer.incarnation"
	peerRecvMaxBytes = 1 << 30
)

// PeerNode is what other nodes' calls reach (ingest.Service): this node's
// durable buffer of a table, and its parts of split ingests
// (peer_ingest.go).
type PeerNode interface {
	Snapshot(ctx context.Context, table string) (*ingest.Snapshot, error)
	Stage(ctx context.Context, req ingest.Request) (*ingest.Staged, error)
	Resolve(ctx context.Context, gid string, commit bool) error
}

// PeerToken is the credential node sends to its peers under secret.
func PeerToken(secret, node string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(node))
	return node + ":" + hex.EncodeToString(m.Sum(nil))
}

// checkPeer verifies a peer call's credential; with no secret every call
// is accepted (a cluster without one runs on a trusted network).
func checkPeer(ctx context.Context, secret string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(PeerHeader)
	if len(vals) == 0 {
		if secret == "" {
			return nil
		}
		return status.Error(codes.Unauthenticated, "node-to-node call without its "+PeerHeader+" credential")
	}
	node, _, _ := strings.Cut(vals[0], ":")
	if secret != "" && subtle.ConstantTimeCompare([]byte(vals[0]), []byte(PeerToken(secret, node))) != 1 {
		return status.Errorf(codes.Unauthenticated, "node-to-node credential of %q does not match this cluster's secret", node)
	}
	return nil
}

// IsPeerCall reports whether ctx is a node-to-node call with a credential
// valid under secret (the auth interceptors let it through without user
// credentials).
func IsPeerCall(ctx context.Context, secret string) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	if len(md.Get(PeerHeader)) == 0 {
		return false
	}
	return checkPeer(ctx, secret) == nil
}

// WithPeers answers other nodes' calls from node and passes everything
// else to inner.
func WithPeers(inner flight.FlightServer, node PeerNode, secret string) flight.FlightServer {
	return &peerServer{FlightServer: inner, node: node, secret: secret}
}

type peerServer struct {
	flight.FlightServer
	node   PeerNode
	secret string
}

type peerTicket struct {
	Table string `json:"table"`
}

func (p *peerServer) DoGet(tkt *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	rest, ok := strings.CutPrefix(string(tkt.GetTicket()), peerTicketPrefix)
	if !ok {
		if stream.Context().Value(peerCallKey{}) != nil {
			return errPeerOnly
		}
		return p.FlightServer.DoGet(tkt, stream)
	}
	ctx := stream.Context()
	if err := p.verified(ctx); err != nil {
		return err
	}
	var req peerTicket
	if err := json.Unmarshal([]byte(rest), &req); err != nil || req.Table == "" {
		return status.Errorf(codes.InvalidArgument, "malformed node-to-node ticket %q", rest)
	}
	sn, err := p.node.Snapshot(ctx, req.Table)
	if err != nil {
		return Status(err)
	}
	defer sn.Release()
	md := arrow.NewMetadata([]string{metaPeerNode, metaPeerFlushed, metaPeerInc},
		[]string{sn.Node, strconv.FormatUint(sn.FlushedLSN, 10), sn.Incarnation})
	schema := arrow.NewSchema(sn.Schema.Fields(), &md)
	w := newBatchWriter(stream, schema)
	defer w.close()
	for _, b := range sn.Batches {
		rec := array.NewRecordBatch(schema, b.Columns(), b.NumRows())
		err := w.write(rec, nil, nil)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// peerCallKey marks the context of a call the auth interceptors let in on
// a node-to-node credential alone.
type peerCallKey struct{}

// peerMethods are the methods node-to-node calls use.
var peerMethods = map[string]bool{
	"/arrow.flight.protocol.FlightService/DoGet":    true,
	"/arrow.flight.protocol.FlightService/DoPut":    true,
	"/arrow.flight.protocol.FlightService/DoAction": true,
}

// ErrPeerUnavailable wraps a failed pull from another node.
var ErrPeerUnavailable = errors.New("node unavailable")

// Peers pulls buffered rows from other nodes over Flight, one connection
// per address.
type Peers struct {
	self, secret string
	dial         []grpc.DialOption

	mu      sync.Mutex
	clients map[string]flight.Client
}

// NewPeers returns a client for node self's calls to its peers; dial
// carries the transport credentials (TLS when the cluster uses it).
func NewPeers(self, secret string, dial ...grpc.DialOption) *Peers {
	dial = append(dial, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(peerRecvMaxBytes)))
	return &Peers{self: self, secret: secret, dial: dial, clients: map[string]flight.Client{}}
}

func (p *Peers) client(addr string) (flight.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.clients == nil {
		return nil, errors.New("node-to-node client closed")
	}
	if c, ok := p.clients[addr]; ok {
		return c, nil
	}
	c, err := flight.NewClientWithMiddleware(addr, nil, nil, p.dial...)
	if err != nil {
		return nil, err
	}
	p.clients[addr] = c
	return c, nil
}

// Buffer pulls the buffered rows of table from the node at addr. A table
// the node does not know is an empty snapshot.
func (p *Peers) Buffer(ctx context.Context, node, addr, table string) (*ingest.Snapshot, error) {
	c, err := p.client(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s at %s: %v", ErrPeerUnavailable, node, addr, err)
	}
	body, _ := json.Marshal(peerTicket{Table: table})
	ctx = metadata.AppendToOutgoingContext(ctx, PeerHeader, PeerToken(p.secret, p.self))
	stream, err := c.DoGet(ctx, &flight.Ticket{Ticket: append([]byte(peerTicketPrefix), body...)})
	if err != nil {
		return nil, peerError(node, addr, err)
	}
	rdr, err := flight.NewRecordReader(stream)
	if status.Code(err) == codes.NotFound {
		// The node does not know the table (yet): nothing buffered, and
		// no cut (Node "") that would hide its files.
		return &ingest.Snapshot{Table: table}, nil
	}
	if err != nil {
		return nil, peerError(node, addr, err)
	}
	defer rdr.Release()
	sn := &ingest.Snapshot{Table: table, Node: node}
	md := rdr.Schema().Metadata()
	if v := md.FindKey(metaPeerFlushed); v >= 0 {
		sn.FlushedLSN, _ = strconv.ParseUint(md.Values()[v], 10, 64)
	}
	if v := md.FindKey(metaPeerInc); v >= 0 {
		sn.Incarnation = md.Values()[v]
	}
	sn.Schema = arrow.NewSchema(rdr.Schema().Fields(), nil)
	for rdr.Next() {
		b := rdr.RecordBatch()
		sn.Batches = append(sn.Batches, array.NewRecordBatch(sn.Schema, b.Columns(), b.NumRows()))
	}
	if err := rdr.Err(); err != nil {
		sn.Release()
		return nil, peerError(node, addr, err)
	}
	return sn, nil
}

func peerError(node, addr string, err error) error {
	if status.Code(err) == codes.NotFound {
		return err
	}
	return fmt.Errorf("%w: %s at %s: %w", ErrPeerUnavailable, node, addr, err)
}

// Close closes every connection.
func (p *Peers) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, c := range p.clients {
		errs = append(errs, c.Close())
	}
	p.clients = nil
	return errors.Join(errs...)
}
