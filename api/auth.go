package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/auth"
	"github.com/miniodb/miniodb/flight"
)

// Authentication and authorization of the row APIs.
//
// The OlapService shares the gRPC server, and so the authentication
// interceptors, of Flight SQL (flight.AuthInterceptors). The REST API
// authenticates in RequireAuth with the same credentials
// (Authorization: Basic or Bearer; without a header, an mTLS client
// certificate named in security.client_certs), answering 401 with
// WWW-Authenticate, and 429 with Retry-After while a user or client is
// locked out after failed logins;
// GET /v1/health and /v1/openapi.json go without, /v1/metadata/* (backup
// and restore) need the admin role. The Service then checks each table:
// read to describe it or see it listed, write to write rows, admin to
// create or drop it; queries are checked by the Runner the node gives it
// (flight.AuthorizeSQL). Every check happens before the table is looked
// up, so a refusal never tells whether a table exists.

// RequireAuth authenticates every REST request against a (nil: pass
// through).
func RequireAuth(a *auth.Authenticator, next http.Handler) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/health" || r.URL.Path == "/v1/openapi.json" {
			next.ServeHTTP(w, r)
			return
		}
		id, err := authenticate(a, r)
		var throttled *auth.ThrottledError
		if errors.As(err, &throttled) {
			secs := int(math.Ceil(throttled.RetryAfter.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(w, r, status.Errorf(codes.ResourceExhausted,
				"too many failed logins for this user or from this client; retry after %ds (security.login_lockout)", secs))
			return
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="miniodb", Bearer realm="miniodb"`)
			writeError(w, r, status.Error(codes.Unauthenticated, "authentication required: send Authorization: Basic or Bearer credentials"))
			return
		}
		ctx := auth.NewContext(r.Context(), id)
		if strings.HasPrefix(r.URL.Path, "/v1/metadata/") {
			if err := auth.CheckAdmin(ctx, a, "backup and restore"); err != nil {
				writeError(w, r, authStatus(err))
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authenticate checks the request's Authorization header, or without one
// the client certificate of an mTLS connection (security.client_certs).
func authenticate(a *auth.Authenticator, r *http.Request) (*auth.Identity, error) {
	if hdr := r.Header.Get("Authorization"); strings.TrimSpace(hdr) != "" || r.TLS == nil {
		return a.AuthenticateFrom(hdr, r.RemoteAddr)
	}
	return a.Certificate(r.TLS.VerifiedChains)
}

// allow checks perm on table for the caller (Deps.Auth nil: allowed).
func (s *Service) allow(ctx context.Context, table string, perm auth.Perm) error {
	return authStatus(auth.Check(ctx, s.d.Auth, table, perm))
}

// authStatus turns an auth error into its gRPC status (the Flight
// interceptors' mapping, so every port answers alike).
func authStatus(err error) error { return flight.AuthStatus(err) }
