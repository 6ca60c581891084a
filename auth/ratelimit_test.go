package auth

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	if d := (*Limiter)(nil).Allow(nil, "10.0.0.1:5"); !d.Allowed {
		t.Fatal("nil limiter refused")
	}
	if NewLimiter(RateConfig{}) != nil {
		t.Fatal("rate 0 made a limiter")
	}
	now := time.Unix(1000, 0)
	l := NewLimiter(RateConfig{Rate: 2, Burst: 2})
	l.now = func() time.Time { return now }
	alice := &Identity{Subject: "alice"}
	for i := range 2 {
		if d := l.Allow(alice, "10.0.0.1:5"); !d.Allowed {
			t.Fatalf("request %d refused", i)
		}
	}
	d := l.Allow(alice, "10.0.0.2:6")
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > time.Second || d.Key != "sub:alice" {
		t.Fatalf("third request: %+v", d)
	}
	if d := l.Allow(&Identity{Subject: "bob"}, "10.0.0.1:5"); !d.Allowed {
		t.Fatal("bob shares alice's bucket")
	}
	if d := l.Allow(nil, "10.0.0.1:5"); !d.Allowed || d.Key != "ip:10.0.0.1" {
		t.Fatalf("anonymous: %+v", d)
	}
	for range 10 {
		if d := l.Allow(alice, "127.0.0.1:1"); !d.Allowed {
			t.Fatal("loopback limited by default")
		}
	}
	now = now.Add(time.Second)
	if d := l.Allow(alice, "10.0.0.1:5"); !d.Allowed {
		t.Fatal("not refilled after 1s")
	}
	now = now.Add(time.Hour)
	l.Allow(nil, "10.9.9.9")
	if len(l.buckets) != 1 {
		t.Fatalf("idle buckets kept: %d", len(l.buckets))
	}
	lb := NewLimiter(RateConfig{Rate: 1, Loopback: true})
	lb.now = func() time.Time { return now }
	lb.Allow(nil, "127.0.0.1:1")
	if d := lb.Allow(nil, "127.0.0.1:2"); d.Allowed {
		t.Fatal("include_loopback ignored")
	}
}
