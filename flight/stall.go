package flight

import (
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
)

// StallGuard ends the connections of clients that stop reading a stream.
//
// A gRPC send blocks on HTTP/2 flow control while the client does not read,
// and grpc-go offers a handler no way to reset its own stream, so a stream
// whose send has been blocked for Timeout gets its client's connection
// closed: every stream on it ends (the client sees UNAVAILABLE), the query
// behind it stops and frees its DuckDB connection and slots. A client's
// own deadline ends a stalled stream earlier, without this guard.
//
// NOTE: the whole connection goes, so a client multiplexing other calls on
// it loses those too. Only one send blocked for the full Timeout counts: a
// client that reads slowly but steadily is cut only if a single message
// (one batch, up to server.max_message_bytes) takes longer than Timeout.
type StallGuard struct {
	timeout time.Duration
	mu      sync.Mutex
	conns   map[string]net.Conn // by remote address, as grpc's peer reports it
}

// NewStallGuard returns a guard with the given timeout; nil if timeout <= 0.
func NewStallGuard(timeout time.Duration) *StallGuard {
	if timeout <= 0 {
		return nil
	}
	return &StallGuard{timeout: timeout, conns: map[string]net.Conn{}}
}

// Listener wraps the gRPC listener so the guard can close its connections.
func (g *StallGuard) Listener(l net.Listener) net.Listener {
	if g == nil {
		return l
	}
	return &guardedListener{Listener: l, g: g}
}

// StreamInterceptor times every message a stream sends.
func (g *StallGuard) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if g == nil {
			return handler(srv, ss)
		}
		p, ok := peer.FromContext(ss.Context())
		if !ok || p.Addr == nil {
			return handler(srv, ss)
		}
		return handler(srv, &guardedStream{ServerStream: ss, g: g, addr: p.Addr.String()})
	}
}

func (g *StallGuard) cut(addr string) {
	g.mu.Lock()
	c := g.conns[addr]
	g.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

type guardedListener struct {
	net.Listener
	g *StallGuard
}

func (l *guardedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &guardedConn{Conn: c, g: l.g, addr: c.RemoteAddr().String()}
	l.g.mu.Lock()
	l.g.conns[gc.addr] = gc
	l.g.mu.Unlock()
	return gc, nil
}

type guardedConn struct {
	net.Conn
	g    *StallGuard
	addr string
	once sync.Once
}

func (c *guardedConn) Close() error {
	c.once.Do(func() {
		c.g.mu.Lock()
		if c.g.conns[c.addr] == c {
			delete(c.g.conns, c.addr)
		}
		c.g.mu.Unlock()
	})
	return c.Conn.Close()
}

type guardedStream struct {
	grpc.ServerStream
	g    *StallGuard
	addr string
}

func (s *guardedStream) SendMsg(m any) error {
	t := time.AfterFunc(s.g.timeout, func() { s.g.cut(s.addr) })
	defer t.Stop()
	return s.ServerStream.SendMsg(m)
}
