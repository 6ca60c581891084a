package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/auth"
)

// RateLimit refuses REST requests over l's rate with 429 Too Many
// Requests, Retry-After (seconds) and X-RateLimit-Limit/-Remaining, as
// {code, message, status} with RESOURCE_EXHAUSTED. Wrap it inside
// RequireAuth so authenticated clients are limited per user or API key;
// GET /v1/health passes. A nil l passes everything.
func RateLimit(l *auth.Limiter, next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/health" {
			next.ServeHTTP(w, r)
			return
		}
		id, _ := auth.FromContext(r.Context())
		d := l.Allow(id, r.RemoteAddr)
		w.Header().Set("X-RateLimit-Limit", strconv.FormatFloat(d.Limit, 'g', -1, 64))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
		if !d.Allowed {
			secs := int(math.Ceil(d.RetryAfter.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(w, r, status.Error(codes.ResourceExhausted, fmt.Sprintf("rate limit of %g requests/s exceeded; retry after %ds", d.Limit, secs)))
			return
		}
		next.ServeHTTP(w, r)
	})
}
