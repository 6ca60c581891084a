package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// DefaultMaxMessageBytes is the gRPC send and receive message limit used when
// Options.MaxMessageBytes is zero.
const DefaultMaxMessageBytes = 256 << 20

// Options configures a connection made by Dial.
type Options struct {
	// Username and Password, when Username is set, are exchanged for a bearer
	// token with a Flight handshake using HTTP Basic authentication. The token
	// the server returns is then sent with every call (it takes precedence
	// over Token).
	Username, Password string
	// Token, when set (and Username is not), is sent with every call as
	// "authorization: Bearer <Token>".
	Token string
	// TLS enables TLS with this configuration; nil means plaintext.
	TLS *tls.Config
	// MaxMessageBytes is the gRPC message size limit in both directions;
	// zero means DefaultMaxMessageBytes.
	MaxMessageBytes int
}

func (o Options) maxMessageBytes() int {
	if o.MaxMessageBytes <= 0 {
		return DefaultMaxMessageBytes
	}
	return o.MaxMessageBytes
}

func (o Options) dialOptions() []grpc.DialOption {
	creds := insecure.NewCredentials()
	if o.TLS != nil {
		creds = credentials.NewTLS(o.TLS)
	}
	n := o.maxMessageBytes()
	return []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(n), grpc.MaxCallSendMsgSize(n)),
	}
}

// Client is a connection to one MinIODB node. It is safe for concurrent use.
type Client struct {
	addr string
	opts Options
	sql  *flightsql.Client
	auth *authHeader
}

// authHeader adds the authorization header to every outgoing call once it
// is known. It is set during Dial, before the Client is shared.
type authHeader struct{ value string }

func (a *authHeader) StartCall(ctx context.Context) context.Context {
	if a.value == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", a.value)
}

// Dial connects to the Flight SQL server at addr ("host:port"). With
// opts.Username set it performs the Basic-auth handshake before returning.
// The connection itself is established lazily by gRPC, so an unreachable
// server is usually reported by the first call rather than by Dial.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	auth := &authHeader{}
	mw := []flight.ClientMiddleware{flight.CreateClientMiddleware(auth)}
	cl, err := flightsql.NewClientCtx(ctx, addr, nil, mw, opts.dialOptions()...)
	if err != nil {
		return nil, fmt.Errorf("miniodb: dial %s: %w", addr, err)
	}
	c := &Client{addr: addr, opts: opts, sql: cl, auth: auth}
	if err := c.authenticate(ctx); err != nil {
		return nil, errors.Join(err, cl.Close())
	}
	return c, nil
}

func (c *Client) authenticate(ctx context.Context) error {
	if c.opts.Username == "" {
		if c.opts.Token != "" {
			c.auth.value = "Bearer " + c.opts.Token
		}
		return nil
	}
	authCtx, err := c.sql.Client.AuthenticateBasicToken(ctx, c.opts.Username, c.opts.Password)
	if err != nil {
		return fmt.Errorf("miniodb: authenticate as %q: %w", c.opts.Username, err)
	}
	md, _ := metadata.FromOutgoingContext(authCtx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return fmt.Errorf("miniodb: authenticate as %q: no token in the handshake response", c.opts.Username)
	}
	c.auth.value = vals[len(vals)-1]
	return nil
}

// Addr returns the address the client was dialed with.
func (c *Client) Addr() string { return c.addr }

// Close closes the connection.
func (c *Client) Close() error { return c.sql.Close() }

// Exec runs a statement that returns no rows (Flight SQL
// CommandStatementUpdate) and returns the affected row count the server
// reports (-1 when unknown). A server that does not support updates answers
// with codes.Unimplemented, which is passed through.
func (c *Client) Exec(ctx context.Context, sql string) (int64, error) {
	n, err := c.sql.ExecuteUpdate(ctx, sql)
	if err != nil {
		return n, fmt.Errorf("miniodb: exec: %w", err)
	}
	return n, nil
}
