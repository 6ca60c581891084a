package auth

import (
	"context"
	"fmt"
	"sync"
)

// Slots bounds how many queries each identity runs at once; a query over
// the bound waits (queues) until a slot frees or its context ends. Slots
// of an identity are dropped when it has none in use.
type Slots struct {
	per int
	mu  sync.Mutex
	m   map[string]*userSlots
}

type userSlots struct {
	sem   chan struct{}
	users int // holders and waiters
}

// NewSlots returns per-identity slots, nil when per <= 0 (no bound).
func NewSlots(per int) *Slots {
	if per <= 0 {
		return nil
	}
	return &Slots{per: per, m: map[string]*userSlots{}}
}

// Acquire waits for a slot of the identity in ctx. Without an identity
// (authentication off) or with nil Slots it returns at once. The returned
// release must be called exactly once.
func (s *Slots) Acquire(ctx context.Context) (release func(), err error) {
	id, ok := FromContext(ctx)
	if s == nil || !ok {
		return func() {}, nil
	}
	s.mu.Lock()
	u := s.m[id.Subject]
	if u == nil {
		u = &userSlots{sem: make(chan struct{}, s.per)}
		s.m[id.Subject] = u
	}
	u.users++
	s.mu.Unlock()
	done := func() {
		s.mu.Lock()
		if u.users--; u.users == 0 {
			delete(s.m, id.Subject)
		}
		s.mu.Unlock()
	}
	select {
	case u.sem <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-u.sem; done() }) }, nil
	case <-ctx.Done():
		done()
		return nil, fmt.Errorf("%s has %d queries running and this one waited until %w", id.Subject, s.per, ctx.Err())
	}
}
