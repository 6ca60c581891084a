package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// clock is a settable time for the lockout tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func throttled(err error) (time.Duration, bool) {
	var te *ThrottledError
	if errors.As(err, &te) {
		return te.RetryAfter, true
	}
	return 0, false
}

func TestLoginLockout(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	a := newTestAuth(t, nil)
	a.now = clk.now
	const host = "10.0.0.1:4000"

	t.Run("user_locked_after_max_failures", func(t *testing.T) {
		for i := range 5 {
			if _, err := a.AuthenticateFrom(basic("alice", "guess"), host); err == nil {
				t.Fatalf("guess %d accepted", i)
			} else if _, ok := throttled(err); ok {
				t.Fatalf("guess %d throttled before the 5th failure", i)
			}
		}
		_, err := a.AuthenticateFrom(basic("alice", "pw-alice"), "10.9.9.9:1")
		wait, ok := throttled(err)
		if !ok || wait != 30*time.Second || !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("alice's right password during the lock: %v", err)
		}
		if id, err := a.AuthenticateFrom(basic("bob", "pw-bob"), host); err != nil || id.Subject != "bob" {
			t.Fatalf("another user from the same host: %v", err)
		}
		if id, err := a.AuthenticateFrom("Bearer key-loader-123", host); err != nil || id.Subject != "loader" {
			t.Fatalf("an API key from the same host: %v", err)
		}
	})
	t.Run("lock_expires_and_doubles", func(t *testing.T) {
		clk.advance(31 * time.Second)
		if _, err := a.AuthenticateFrom(basic("alice", "guess"), host); err == nil {
			t.Fatal("guess accepted")
		}
		_, err := a.AuthenticateFrom(basic("alice", "pw-alice"), host)
		if wait, ok := throttled(err); !ok || wait != 60*time.Second {
			t.Fatalf("the 6th failure locks for 60s, got %v", err)
		}
		clk.advance(61 * time.Second)
		if id, err := a.AuthenticateFrom(basic("alice", "pw-alice"), host); err != nil || id.Subject != "alice" {
			t.Fatalf("after the lock: %v", err)
		}
		if _, err := a.AuthenticateFrom(basic("alice", "guess"), host); err == nil {
			t.Fatal("guess accepted")
		} else if _, ok := throttled(err); ok {
			t.Fatal("a success did not reset alice's failures")
		}
	})
	t.Run("client_host_locked_after_client_max_failures", func(t *testing.T) {
		const scanner = "10.0.0.66:5000"
		for i := range 20 {
			a.AuthenticateFrom(basic(fmt.Sprintf("user%d", i), "guess"), scanner)
		}
		_, err := a.AuthenticateFrom(basic("bob", "pw-bob"), "10.0.0.66:5001")
		if _, ok := throttled(err); !ok {
			t.Fatalf("bob from the locked host: %v", err)
		}
		if _, err := a.AuthenticateFrom(basic("bob", "pw-bob"), "10.0.0.67:5001"); err != nil {
			t.Fatalf("bob from another host: %v", err)
		}
	})
	t.Run("hosts_never_locked", func(t *testing.T) {
		b := newTestAuth(t, func(c *Config) { c.Lockout.ClientMaxFailures = -1 })
		for i := range 50 {
			if _, err := b.AuthenticateFrom(basic(fmt.Sprintf("user%d", i), "guess"), host); err == nil {
				t.Fatal("guess accepted")
			} else if _, ok := throttled(err); ok {
				t.Fatalf("guess %d throttled with host locks off", i)
			}
		}
		if _, err := b.AuthenticateFrom(basic("alice", "pw-alice"), host); err != nil {
			t.Fatalf("host locks off: %v", err)
		}
	})
	t.Run("off", func(t *testing.T) {
		b := newTestAuth(t, func(c *Config) { c.Lockout.MaxFailures = -1 })
		for range 50 {
			b.AuthenticateFrom(basic("alice", "guess"), host)
		}
		if _, err := b.AuthenticateFrom(basic("alice", "pw-alice"), host); err != nil {
			t.Fatalf("lockout off: %v", err)
		}
	})
}
