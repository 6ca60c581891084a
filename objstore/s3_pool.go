package objstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"
)

// PoolStats is the state of one endpoint's connection pool and circuit
// breaker: the data of the seed's /v1/pool/status and of the metrics.
type PoolStats struct {
	Name     string `json:"name"` // "primary" or "backup"
	Endpoint string `json:"endpoint"`
	Bucket   string `json:"bucket"`
	// Breaker is "closed" (healthy), "open" (calls fail at once) or
	// "half-open" (one probe decides).
	Breaker             string    `json:"breaker"`
	ConsecutiveFailures uint32    `json:"consecutive_failures"`
	OpenConns           int64     `json:"open_conns"` // TCP connections open now
	InFlight            int64     `json:"in_flight"`  // calls running now
	MaxIdleConns        int       `json:"max_idle_conns"`
	MaxConnsPerHost     int       `json:"max_conns_per_host"` // 0: unlimited
	Requests            uint64    `json:"requests"`           // attempts sent to the endpoint
	Failures            uint64    `json:"failures"`           // attempts that failed (network, 5xx, throttling)
	Retries             uint64    `json:"retries"`            // attempts after the first of a call
	Rejected            uint64    `json:"rejected"`           // calls refused by the open breaker
	LastError           string    `json:"last_error,omitempty"`
	LastErrorAt         time.Time `json:"last_error_at,omitempty"`
}

// endpointPool is everything per endpoint: the HTTP transport (the
// connection pool), the breaker and the counters.
type endpointPool struct {
	name, endpoint, bucket string
	maxIdle, maxPerHost    int
	retry                  retryPolicy
	transport              *http.Transport
	breaker                *gobreaker.CircuitBreaker[struct{}]

	openConns, inFlight                     atomic.Int64
	requests, failures, retries, rejections atomic.Uint64

	mu        sync.Mutex
	lastErr   string
	lastErrAt time.Time
}

type retryPolicy struct {
	attempts          int
	initial, maxDelay time.Duration
	probeWait         time.Duration // how long a call waits for a half-open breaker's probe
}

func newEndpointPool(cfg S3Config, name string, roots *x509.CertPool, log *zap.Logger) *endpointPool {
	p := &endpointPool{
		name: name, endpoint: cfg.Endpoint, bucket: cfg.Bucket,
		maxIdle: cfg.MaxIdleConns, maxPerHost: cfg.MaxConnsPerHost,
		retry: retryPolicy{cfg.RetryMaxAttempts, cfg.RetryInitialInterval, cfg.RetryMaxInterval, cfg.ResponseHeaderTimeout},
	}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	p.transport = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           p.countingDial(dialer),
		MaxIdleConns:          cfg.MaxIdleConns,
		MaxIdleConnsPerHost:   cfg.MaxIdleConnsPerHost,
		MaxConnsPerHost:       cfg.MaxConnsPerHost,
		IdleConnTimeout:       cfg.IdleConnTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Objects are stored bytes: never let the transport gunzip them.
		DisableCompression: true,
	}
	failures := cfg.BreakerFailures
	p.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name + " " + cfg.Endpoint,
		MaxRequests: 1,
		Timeout:     cfg.BreakerOpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		// Answers such as not-found or access-denied prove the endpoint
		// is up: they must not trip the breaker.
		IsSuccessful: func(err error) bool { return err == nil || !countsAgainstEndpoint(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(n string, from, to gobreaker.State) {
			log.Warn("object store circuit breaker", zap.String("endpoint", n),
				zap.Stringer("from", from), zap.Stringer("to", to))
		},
	})
	return p
}

// countingDial wraps dial so that OpenConns counts live connections.
func (p *endpointPool) countingDial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		p.openConns.Add(1)
		return &countedConn{Conn: c, pool: p}, nil
	}
}

type countedConn struct {
	net.Conn
	pool *endpointPool
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.pool.openConns.Add(-1) })
	return c.Conn.Close()
}

// do runs one call: each attempt passes the breaker; transient failures are
// retried with exponential backoff, up to maxAttempts failed attempts (0:
// the pool's setting). An open breaker fails the call at once; while the
// breaker is half-open and another call is its probe, the call waits (with
// the same backoff, at most probeWait) for the probe's verdict rather than
// failing. Either way the end is ErrUnavailable.
func (p *endpointPool) do(ctx context.Context, op, key string, maxAttempts int, attempt func(context.Context) error) error {
	p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	if maxAttempts <= 0 {
		maxAttempts = p.retry.attempts
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = p.retry.initial, p.retry.maxDelay
	start, tries, failures := time.Now(), 0, 0
	unavailable := func(why string) error {
		p.rejections.Add(1)
		return backoff.Permanent(fmt.Errorf("%w: %s %s: %s endpoint %s: %s (last failure: %s)",
			ErrUnavailable, op, key, p.name, p.endpoint, why, p.lastError()))
	}
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		if tries++; tries > 1 {
			p.retries.Add(1)
		}
		_, err := p.breaker.Execute(func() (struct{}, error) {
			p.requests.Add(1)
			return struct{}{}, attempt(ctx)
		})
		switch {
		case err == nil:
			return struct{}{}, nil
		case errors.Is(err, gobreaker.ErrOpenState):
			return struct{}{}, unavailable("circuit breaker open after repeated failures")
		case errors.Is(err, gobreaker.ErrTooManyRequests):
			if time.Since(start) < p.retry.probeWait {
				return struct{}{}, err // another call is probing the endpoint: wait for it
			}
			return struct{}{}, unavailable("circuit breaker half-open and its probe unanswered")
		case !countsAgainstEndpoint(err) || ctx.Err() != nil:
			var unknown x509.UnknownAuthorityError
			if errors.As(err, &unknown) {
				err = fmt.Errorf("%w (%s endpoint %s: its certificate is not signed by a CA this node trusts; ca_file names one)", err, p.name, p.endpoint)
			}
			return struct{}{}, backoff.Permanent(err)
		}
		p.noteFailure(err)
		if failures++; failures >= maxAttempts {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(bo), backoff.WithMaxElapsedTime(0))
	if err != nil && countsAgainstEndpoint(err) && ctx.Err() == nil {
		return fmt.Errorf("%w: %s %s on %s after %d attempts: %w", ErrUnavailable, op, key, p.endpoint, failures, err)
	}
	return err
}

// countsAgainstEndpoint tells failures of the endpoint (network errors,
// timeouts, 5xx, throttling: worth a retry) from answers about the request
// (4xx: retrying cannot help).
func countsAgainstEndpoint(err error) bool {
	var src sourceError
	if errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) || errors.As(err, &src) {
		return false
	}
	var cert *tls.CertificateVerificationError
	if errors.As(err, &cert) { // a configuration to mend (ca_file), not a failure to wait out
		return false
	}
	resp, ok := s3Error(err)
	if !ok {
		return true // not an S3 answer: a network or protocol failure
	}
	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	}
	return resp.StatusCode >= 500
}

func (p *endpointPool) noteFailure(err error) {
	p.failures.Add(1)
	p.mu.Lock()
	p.lastErr, p.lastErrAt = err.Error(), time.Now()
	p.mu.Unlock()
}

func (p *endpointPool) lastError() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

func (p *endpointPool) stats() PoolStats {
	p.mu.Lock()
	lastErr, lastAt := p.lastErr, p.lastErrAt
	p.mu.Unlock()
	return PoolStats{
		Name: p.name, Endpoint: p.endpoint, Bucket: p.bucket,
		Breaker: p.breaker.State().String(), ConsecutiveFailures: p.breaker.Counts().ConsecutiveFailures,
		OpenConns: p.openConns.Load(), InFlight: p.inFlight.Load(),
		MaxIdleConns: p.maxIdle, MaxConnsPerHost: p.maxPerHost,
		Requests: p.requests.Load(), Failures: p.failures.Load(), Retries: p.retries.Load(), Rejected: p.rejections.Load(),
		LastError: lastErr, LastErrorAt: lastAt,
	}
}
