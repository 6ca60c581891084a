package flight

import (
	"context"
	"crypto/x509"
	"errors"
	"math"
	"strconv"
	"strings"

	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/auth"
	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/query"

	"github.com/apache/arrow-go/v18/arrow"
)

// Authentication covers the whole gRPC server of a node: Flight SQL and
// the OlapService. Every call carries "authorization: Basic ..." or
// "authorization: Bearer <API key | JWT>"; the Flight Handshake with Basic
// credentials answers with "authorization: Bearer <JWT>" in its response
// headers (what arrow-go's AuthenticateBasicToken, ADBC and the JDBC
// driver read). Only the grpc.health.v1 probes go without.

const handshakeMethod = "/arrow.flight.protocol.FlightService/Handshake"

// adminMethods are node-wide operations that need the admin role.
var adminMethods = map[string]string{
	"/olap.v1.OlapService/TriggerBackup": "TriggerBackup",
	"/olap.v1.OlapService/RecoverData":   "RecoverData",
}

// AuthInterceptors returns the interceptors that authenticate every gRPC
// call against a (which must not be nil).
func AuthInterceptors(a *auth.Authenticator, peerSecret string) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	check := func(ctx context.Context) (context.Context, error) {
		method, _ := grpc.Method(ctx)
		if strings.HasPrefix(method, "/grpc.health.v1.Health/") {
			return ctx, nil
		}
		if peerMethods[method] && peerSecret != "" && IsPeerCall(ctx, peerSecret) {
			// Another node pulling a buffer or sending a part of a split
			// ingest: WithPeers serves it only those.
			return context.WithValue(ctx, peerCallKey{}, true), nil
		}
		id, err := authenticate(ctx, a, authHeader(ctx))
		if err != nil {
			return nil, loginStatus(ctx, err, "authentication required: send authorization: Basic or Bearer credentials, or a mapped client certificate")
		}
		ctx = auth.NewContext(ctx, id)
		if op, ok := adminMethods[method]; ok {
			if err := auth.CheckAdmin(ctx, a, op); err != nil {
				return nil, AuthStatus(err)
			}
		}
		return ctx, nil
	}
	unary := grpcauth.UnaryServerInterceptor(check)
	inner := grpcauth.StreamServerInterceptor(check)
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if info.FullMethod == handshakeMethod {
			return handshake(a, srv, ss, h)
		}
		return inner(srv, ss, info, h)
	}
	return unary, stream
}

// handshake authenticates the Flight Handshake and returns a bearer token
// in the response headers: a JWT issued for Basic credentials or a client
// certificate, the same bearer token for a bearer token.
func handshake(a *auth.Authenticator, srv any, ss grpc.ServerStream, h grpc.StreamHandler) error {
	hdr := authHeader(ss.Context())
	id, err := authenticate(ss.Context(), a, hdr)
	if err != nil {
		return loginStatus(ss.Context(), err, "authentication failed")
	}
	token := strings.TrimSpace(hdr)
	if scheme, _, _ := strings.Cut(token, " "); token == "" || strings.EqualFold(scheme, "Basic") {
		tok, err := a.Issue(id)
		if err != nil {
			return status.Error(codes.Internal, "issue token")
		}
		token = "Bearer " + tok
	}
	if err := ss.SetHeader(metadata.Pairs("authorization", token)); err != nil {
		return err
	}
	return h(srv, ss)
}

// loginStatus is UNAUTHENTICATED with msg, or RESOURCE_EXHAUSTED with a
// retry-after header (seconds) while the user or client is locked out
// after failed logins (security.login_lockout).
func loginStatus(ctx context.Context, err error, msg string) error {
	var throttled *auth.ThrottledError
	if !errors.As(err, &throttled) {
		return status.Error(codes.Unauthenticated, msg)
	}
	secs := int(math.Ceil(throttled.RetryAfter.Seconds()))
	grpc.SetHeader(ctx, metadata.Pairs("retry-after", strconv.Itoa(secs)))
	return status.Errorf(codes.ResourceExhausted, "too many failed logins for this user or from this client; retry after %ds (security.login_lockout)", secs)
}

// authenticate checks the call's credentials: the authorization header
// when there is one, else the client certificate of an mTLS connection
// (security.client_certs).
func authenticate(ctx context.Context, a *auth.Authenticator, hdr string) (*auth.Identity, error) {
	if strings.TrimSpace(hdr) != "" {
		return a.AuthenticateFrom(hdr, peerAddr(ctx))
	}
	var chains [][]*x509.Certificate
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			chains = ti.State.VerifiedChains
		}
	}
	return a.Certificate(chains)
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

func authHeader(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) > 0 {
		return v[0]
	}
	return ""
}

// AuthStatus turns an auth error into its gRPC status; other errors pass.
func AuthStatus(err error) error {
	var denied *auth.DeniedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &denied):
		return status.Error(codes.PermissionDenied, denied.Error())
	case errors.Is(err, auth.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, "authentication required")
	}
	return err
}

// Accessor lists what a statement touches (query.Engine.Access).
type Accessor interface {
	Access(ctx context.Context, sql string) (*query.Access, error)
}

// AuthorizeSQL checks that the caller in ctx may run sql: admin on the
// table CREATE and DROP change, write on the table INSERT changes, read
// on every table it reads (joins, subqueries, CTEs: all that DuckDB's
// parser finds). A nil a allows everything without parsing. The error is
// a gRPC status naming the first table refused.
func AuthorizeSQL(ctx context.Context, a *auth.Authenticator, acc Accessor, sql string) error {
	if a == nil {
		return nil
	}
	if _, ok := auth.FromContext(ctx); !ok {
		return AuthStatus(auth.ErrUnauthenticated) // before parsing anything
	}
	ac, err := acc.Access(ctx, sql)
	if err != nil {
		return Status(err)
	}
	switch ac.Kind {
	case query.KindCreateTable, query.KindDropTable:
		err = auth.Check(ctx, a, ac.Table, auth.Admin)
	case query.KindInsert:
		err = auth.Check(ctx, a, ac.Table, auth.Write)
	}
	if err != nil {
		return AuthStatus(err)
	}
	for _, t := range ac.Reads {
		if err := auth.Check(ctx, a, t, auth.Read); err != nil {
			return AuthStatus(err)
		}
	}
	return nil
}

// authQuerier checks every statement before it is described or run. A
// ticket is checked again when it is fetched: tickets are not bound to
// the caller who planned them.
type authQuerier struct {
	Querier
	a *auth.Authenticator
}

func (q authQuerier) Describe(ctx context.Context, sql string, params arrow.RecordBatch) (*query.Statement, error) {
	if err := AuthorizeSQL(ctx, q.a, q.Querier, sql); err != nil {
		return nil, err
	}
	return q.Querier.Describe(ctx, sql, params)
}

func (q authQuerier) Query(ctx context.Context, sql string, params arrow.RecordBatch) (*query.Stream, error) {
	if err := AuthorizeSQL(ctx, q.a, q.Querier, sql); err != nil {
		return nil, err
	}
	return q.Querier.Query(ctx, sql, params)
}

func (q authQuerier) Rows(ctx context.Context, sql string, params arrow.RecordBatch) (*query.Rows, error) {
	if err := AuthorizeSQL(ctx, q.a, q.Querier, sql); err != nil {
		return nil, err
	}
	return q.Querier.Rows(ctx, sql, params)
}

// authIngester checks the table of every write and DDL call.
type authIngester struct {
	Ingester
	a *auth.Authenticator
}

func (in authIngester) Ingest(ctx context.Context, req ingest.Request) (int64, error) {
	perm := auth.Write
	if req.IfExists == ingest.Replace {
		perm = auth.Admin // replacing deletes the table's rows
	}
	if err := auth.Check(ctx, in.a, req.Table, perm); err != nil {
		return 0, AuthStatus(err)
	}
	return in.Ingester.Ingest(ctx, req)
}

func (in authIngester) CreateTable(ctx context.Context, name string, schema *arrow.Schema, cfg catalog.TableConfig, ifNotExists bool) (bool, error) {
	if err := auth.Check(ctx, in.a, name, auth.Admin); err != nil {
		return false, AuthStatus(err)
	}
	return in.Ingester.CreateTable(ctx, name, schema, cfg, ifNotExists)
}

func (in authIngester) DropTable(ctx context.Context, name string, ifExists bool) (bool, error) {
	if err := auth.Check(ctx, in.a, name, auth.Admin); err != nil {
		return false, AuthStatus(err)
	}
	return in.Ingester.DropTable(ctx, name, ifExists)
}

// visibleTables lists the tables the caller may read, in name order.
func (s *Server) visibleTables(ctx context.Context) []ingest.TableInfo {
	all := s.ingest.Tables()
	if s.cfg.Auth == nil {
		return all
	}
	out := all[:0:0]
	for _, t := range all {
		if auth.Visible(ctx, s.cfg.Auth, t.Name) {
			out = append(out, t)
		}
	}
	return out
}
