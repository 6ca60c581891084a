package flight

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/auth"
)

// RateLimitInterceptors refuse calls over l's rate with RESOURCE_EXHAUSTED
// and the headers retry-after (seconds) and x-ratelimit-limit. Chain them
// after AuthInterceptors, so that authenticated clients are limited per
// user or API key rather than per address. The health probes pass.
func RateLimitInterceptors(l *auth.Limiter) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	admit := func(ctx context.Context, method string) error {
		if method == "/grpc.health.v1.Health/Check" || method == "/grpc.health.v1.Health/Watch" {
			return nil
		}
		id, _ := auth.FromContext(ctx)
		var addr string
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			addr = p.Addr.String()
		}
		d := l.Allow(id, addr)
		if d.Allowed {
			return nil
		}
		secs := int(math.Ceil(d.RetryAfter.Seconds()))
		grpc.SetHeader(ctx, metadata.Pairs("retry-after", strconv.Itoa(secs),
			"x-ratelimit-limit", strconv.FormatFloat(d.Limit, 'g', -1, 64), "x-ratelimit-remaining", "0"))
		return status.Error(codes.ResourceExhausted, fmt.Sprintf("rate limit of %g requests/s exceeded; retry after %ds", d.Limit, secs))
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := admit(ctx, info.FullMethod); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := admit(ss.Context(), info.FullMethod); err != nil {
			return err
		}
		return h(srv, ss)
	}
	return unary, stream
}
