package auth

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// LockoutConfig is security.login_lockout: how failed logins slow down
// password guessing. Zero values take the defaults noted; MaxFailures
// below zero turns it off.
//
//	login_lockout: {max_failures: 5, client_max_failures: 20, lockout: 30s, max_lockout: 15m}
type LockoutConfig struct {
	// MaxFailures is how many failed Basic logins of one user name in a
	// row lock that name; default 5.
	MaxFailures int `yaml:"max_failures"`
	// ClientMaxFailures is how many failed Basic logins (any user name)
	// from one client host lock that host; default 20; below zero: hosts
	// are never locked. NOTE: behind a proxy every client is the proxy's
	// host; turn this off there, or the proxy's users lock each other out.
	ClientMaxFailures int `yaml:"client_max_failures"`
	// Lockout is the first lock's length, doubled by every further
	// failure up to MaxLockout; defaults 30s and 15m. Failures older than
	// MaxLockout are forgotten.
	Lockout    time.Duration `yaml:"lockout"`
	MaxLockout time.Duration `yaml:"max_lockout"`
}

func (c *LockoutConfig) setDefaults() {
	if c.MaxFailures == 0 {
		c.MaxFailures = 5
	}
	if c.ClientMaxFailures == 0 {
		c.ClientMaxFailures = 20
	}
	if c.Lockout <= 0 {
		c.Lockout = 30 * time.Second
	}
	if c.MaxLockout <= 0 {
		c.MaxLockout = 15 * time.Minute
	}
	c.MaxLockout = max(c.MaxLockout, c.Lockout)
}

// ThrottledError refuses a login while its user name or client host is
// locked. It says nothing about whether the name exists or the password
// was right.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("auth: too many failed logins; retry after %ds", retrySeconds(e.RetryAfter))
}

// Is makes a ThrottledError also an ErrUnauthenticated.
func (e *ThrottledError) Is(target error) bool { return target == ErrUnauthenticated }

func retrySeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// lockout counts failed logins per user name and per client host.
type lockout struct {
	cfg     LockoutConfig
	mu      sync.Mutex
	entries map[string]*failures // "user:<name>" or "host:<host>"
}

type failures struct {
	n     int
	last  time.Time
	until time.Time
}

// maxEntries bounds the table an attacker could grow with made-up names.
const maxEntries = 100_000

func newLockout(cfg LockoutConfig) *lockout {
	cfg.setDefaults()
	if cfg.MaxFailures < 0 {
		return nil
	}
	return &lockout{cfg: cfg, entries: map[string]*failures{}}
}

// check returns a ThrottledError if the user name or the client host is
// locked at now. A nil lockout never locks.
func (l *lockout) check(name, client string, now time.Time) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range l.keys(name, client) {
		if f := l.entries[k]; f != nil && now.Before(f.until) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// failed counts a failed login of name (empty: not a Basic login) from
// client (host or host:port; empty: unknown).
func (l *lockout) failed(name, client string, now time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) >= maxEntries {
		l.sweep(now)
	}
	for i, k := range l.keys(name, client) {
		limit := l.cfg.MaxFailures
		if i == 1 || name == "" {
			limit = l.cfg.ClientMaxFailures
		}
		f := l.entries[k]
		if f == nil || now.Sub(f.last) > l.cfg.MaxLockout {
			f = &failures{}
			l.entries[k] = f
		}
		f.n++
		f.last = now
		if over := f.n - limit; over >= 0 {
			d := l.cfg.Lockout << min(over, 20)
			f.until = now.Add(min(d, l.cfg.MaxLockout))
		}
	}
}

// succeeded forgets the user name's failures; the client host's stay, so
// an attacker cannot clear them by logging in to an account of its own.
func (l *lockout) succeeded(name string) {
	if l == nil || name == "" {
		return
	}
	l.mu.Lock()
	delete(l.entries, "user:"+name)
	l.mu.Unlock()
}

// keys are the entries a login touches: the user name's first if any.
func (l *lockout) keys(name, client string) []string {
	var ks []string
	if name != "" {
		ks = append(ks, "user:"+name)
	}
	if client != "" && l.cfg.ClientMaxFailures >= 0 {
		if h, _, err := net.SplitHostPort(client); err == nil {
			client = h
		}
		ks = append(ks, "host:"+client)
	}
	return ks
}

// sweep drops entries neither locked nor recent.
func (l *lockout) sweep(now time.Time) {
	for k, f := range l.entries {
		if now.After(f.until) && now.Sub(f.last) > l.cfg.MaxLockout {
			delete(l.entries, k)
		}
	}
}
