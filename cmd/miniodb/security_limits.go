package main

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/auth"
)

// queryAdmission applies query.max_concurrent_per_user (queuing) and
// query.timeout to every query of Flight SQL, REST and the OlapService.
type queryAdmission struct {
	slots   *auth.Slots // nil: no per-user bound
	timeout time.Duration
}

// admit waits for one of the caller's query slots and returns the context
// the query runs under. The slot is held until ctx ends: the DoGet stream
// or the REST/OlapService request is over, or the timeout fired.
func (a queryAdmission) admit(ctx context.Context) (context.Context, error) {
	release, err := a.slots.Acquire(ctx)
	if err != nil {
		return nil, status.Errorf(codes.ResourceExhausted, "query queue: %v (query.max_concurrent_per_user)", err)
	}
	ctx = withQueryTimeout(ctx, a.timeout)
	context.AfterFunc(ctx, release)
	return ctx, nil
}

// withQueryTimeout bounds a query by query.timeout (d <= 0: no bound).
// The bound covers the whole stream: the engine interrupts DuckDB when the
// context ends, and the client sees the query fail with its deadline.
func withQueryTimeout(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return ctx
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	context.AfterFunc(ctx, cancel) // NOTE: releases the timer when the caller's context ends first
	return ctx
}
