package flight

import (
	"context"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/session"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/query"
)

// Session options. "catalog" and "schema" are stateless: the service has
// one catalog and one schema, so they accept exactly those names (any
// case) and always read back as them. "miniodb.partial_results" is the one
// option with state: when true, a query on a cluster answers without the
// buffered rows of a node that is down or unreachable instead of failing
// with UNAVAILABLE (its flushed files are still read). Other option names
// are refused per option, as the protocol asks, without failing the call.
//
// The state lives in the client's session cookie, not on the server:
// arrow-go's stateless session (arrow_flight_session, the options as a
// protobuf, base64) carries it, so any node of a cluster reads it, nothing
// is kept per client, and a client without a session costs nothing. It is
// read in the calls that need it rather than by the session middleware,
// which would create a session for every call of every client (peer pulls
// included). Clients without cookie support send PartialResultsHeader
// with a call instead.

// PartialResultsOption is the session option allowing partial results.
const PartialResultsOption = "miniodb.partial_results"

// PartialResultsHeader, sent with GetFlightInfo or DoGet ("true" or
// "false"), sets partial results for that call, ahead of the session.
const PartialResultsHeader = "x-miniodb-partial-results"

// sessionOptions are the stateless options, with their only value.
var sessionOptions = map[string]string{"catalog": query.Catalog, "schema": query.Schema}

// SetSessionOptions accepts catalog and schema when they name ours, and
// sets or unsets partial results in the client's session cookie.
func (s *Server) SetSessionOptions(ctx context.Context, req *flight.SetSessionOptionsRequest) (*flight.SetSessionOptionsResult, error) {
	res := &flight.SetSessionOptionsResult{Errors: map[string]*flight.SetSessionOptionsResultError{}}
	invalid := func(name string, why pb.SetSessionOptionsResult_ErrorValue) {
		res.Errors[name] = &flight.SetSessionOptionsResultError{Value: why}
	}
	var sess session.ServerSession
	for name, v := range req.GetSessionOptions() {
		if strings.EqualFold(name, PartialResultsOption) {
			if v.GetOptionValue() != nil {
				if _, ok := optionBool(v); !ok {
					invalid(name, flight.SetSessionOptionsResultErrorInvalidValue)
					continue
				}
			}
			if sess == nil {
				if sess = clientSession(ctx); sess == nil {
					sess = session.NewStatelessServerSession(nil)
				}
			}
			if v.GetOptionValue() == nil {
				sess.EraseSessionOption(PartialResultsOption)
			} else {
				sess.SetSessionOption(PartialResultsOption, v)
			}
			continue
		}
		want, known := sessionOptions[strings.ToLower(name)]
		switch {
		case !known:
			invalid(name, flight.SetSessionOptionsResultErrorInvalidName)
		case v.GetOptionValue() == nil: // unset: back to the default, which is the only value
		case !strings.EqualFold(v.GetStringValue(), want):
			invalid(name, flight.SetSessionOptionsResultErrorInvalidValue)
		}
	}
	if sess != nil {
		if err := sendSessionCookie(ctx, sess, 0); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// GetSessionOptions reports catalog, schema and partial results.
func (s *Server) GetSessionOptions(ctx context.Context, _ *flight.GetSessionOptionsRequest) (*flight.GetSessionOptionsResult, error) {
	opts := map[string]*flight.SessionOptionValue{}
	for name, v := range sessionOptions {
		val, _ := flight.NewSessionOptionValue(v) // a string never fails
		opts[name] = &val
	}
	partial, err := partialResults(ctx)
	if err != nil {
		return nil, err
	}
	val, _ := flight.NewSessionOptionValue(partial)
	opts[PartialResultsOption] = &val
	return &flight.GetSessionOptionsResult{SessionOptions: opts}, nil
}

// CloseSession expires the client's session cookie, if it has one.
func (s *Server) CloseSession(ctx context.Context, _ *flight.CloseSessionRequest) (*flight.CloseSessionResult, error) {
	if sess := clientSession(ctx); sess != nil {
		if err := sendSessionCookie(ctx, session.NewStatelessServerSession(nil), -1); err != nil {
			return nil, err
		}
	}
	return &flight.CloseSessionResult{Status: flight.CloseSessionResultClosed}, nil
}

// clientSession is the session the client's cookie carries, or nil (no
// cookie, or one this server cannot read).
func clientSession(ctx context.Context) session.ServerSession {
	sess, err := session.NewStatelessServerSessionManager().GetSession(ctx)
	if err != nil {
		return nil
	}
	return sess
}

// sendSessionCookie sets the client's session cookie to sess; maxAge -1
// deletes it.
func sendSessionCookie(ctx context.Context, sess session.ServerSession, maxAge int) error {
	c, err := session.CreateCookieForSession(sess)
	if err != nil {
		return status.Errorf(codes.Internal, "session cookie: %v", err)
	}
	c.MaxAge = maxAge
	if err := grpc.SetHeader(ctx, metadata.Pairs("Set-Cookie", c.String())); err != nil {
		return status.Errorf(codes.Internal, "session cookie: %v", err)
	}
	return nil
}

// partialResults reports whether the call allows partial results: its
// PartialResultsHeader if sent, else the session option (default false).
func partialResults(ctx context.Context) (bool, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if vs := md.Get(PartialResultsHeader); len(vs) > 0 {
			b, err := strconv.ParseBool(strings.TrimSpace(vs[len(vs)-1]))
			if err != nil {
				return false, status.Errorf(codes.InvalidArgument, "header %s: %q is not true or false", PartialResultsHeader, vs[len(vs)-1])
			}
			return b, nil
		}
	}
	sess := clientSession(ctx)
	if sess == nil {
		return false, nil
	}
	v := sess.GetSessionOption(PartialResultsOption)
	if v == nil {
		return false, nil
	}
	b, _ := optionBool(v)
	return b, nil
}

// optionBool reads a boolean option given as a bool or as "true"/"false".
func optionBool(v *flight.SessionOptionValue) (bool, bool) {
	switch x := v.GetOptionValue().(type) {
	case *pb.SessionOptionValue_BoolValue:
		return x.BoolValue, true
	case *pb.SessionOptionValue_StringValue:
		b, err := strconv.ParseBool(x.StringValue)
		return b, err == nil
	}
	return false, false
}
