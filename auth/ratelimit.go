package auth

import (
	"math"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateConfig is security.rate_limit: a token bucket per client, keyed by
// the authenticated subject (user or API key name) or, without
// authentication, by the client's IP address. Zero Rate: no limit.
type RateConfig struct {
	Rate  float64 `yaml:"requests_per_second"`
	Burst int     `yaml:"burst"` // default: max(1, ceil(Rate))
	// Loopback limits clients on 127.0.0.1/::1 too; off by default, so
	// local tools and tests are never throttled.
	Loopback bool `yaml:"include_loopback"`
}

// Limiter holds the buckets; safe for concurrent use. Buckets idle for
// idleAfter are dropped.
type Limiter struct {
	cfg     RateConfig
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
	now     func() time.Time
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

const idleAfter = 10 * time.Minute

// NewLimiter returns a limiter, nil when cfg.Rate is 0 (no limit).
func NewLimiter(cfg RateConfig) *Limiter {
	if cfg.Rate <= 0 {
		return nil
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.Rate)))
	}
	return &Limiter{cfg: cfg, buckets: map[string]*bucket{}, now: time.Now}
}

// Decision is one admission: Allowed, or refused with the time after
// which a retry may pass. Limit and Remaining feed the X-RateLimit-*
// headers.
type Decision struct {
	Allowed    bool
	Key        string
	Limit      float64
	Remaining  int
	RetryAfter time.Duration
}

// Allow admits one request of the client with identity id (nil: none)
// from address addr (host or host:port). A nil Limiter admits all.
func (l *Limiter) Allow(id *Identity, addr string) Decision {
	if l == nil {
		return Decision{Allowed: true}
	}
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if ip := net.ParseIP(host); !l.cfg.Loopback && ip != nil && ip.IsLoopback() {
		return Decision{Allowed: true}
	}
	key := "ip:" + host
	if id != nil {
		key = "sub:" + id.Subject
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.cfg.Rate), l.cfg.Burst)}
		l.buckets[key] = b
	}
	b.used = now
	d := Decision{Key: key, Limit: l.cfg.Rate}
	r := b.lim.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		d.RetryAfter = delay
		return d
	}
	d.Allowed = true
	d.Remaining = max(0, int(b.lim.TokensAt(now)))
	return d
}

// sweep drops idle buckets at most once a minute.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if now.Sub(b.used) > idleAfter {
			delete(l.buckets, k)
		}
	}
}
