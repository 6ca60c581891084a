package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSlotsQueuePerIdentity(t *testing.T) {
	s := NewSlots(2)
	alice := NewContext(context.Background(), &Identity{Subject: "alice"})
	bob := NewContext(context.Background(), &Identity{Subject: "bob"})
	r1, _ := s.Acquire(alice)
	r2, _ := s.Acquire(alice)
	rb, err := s.Acquire(bob)
	if err != nil {
		t.Fatal("bob waits for alice")
	}
	rb()
	got := make(chan func(), 1)
	go func() {
		r, err := s.Acquire(alice)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("a third query of alice ran at once")
	case <-time.After(50 * time.Millisecond):
	}
	r1()
	r1() // idempotent
	select {
	case r3 := <-got:
		r3()
	case <-time.After(5 * time.Second):
		t.Fatal("the queued query never ran")
	}
	ctx, cancel := context.WithTimeout(alice, 20*time.Millisecond)
	defer cancel()
	r4, _ := s.Acquire(alice)
	if _, err := s.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued past its deadline: %v", err)
	}
	r2()
	r4()
	if len(s.m) != 0 {
		t.Fatalf("slots kept: %v", s.m)
	}
	if r, err := (*Slots)(nil).Acquire(alice); err != nil || r == nil {
		t.Fatal("nil slots")
	}
}
