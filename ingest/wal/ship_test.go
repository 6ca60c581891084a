package wal

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// Ship sees every record once, in groups that continue each other, before
// any Wait returns; ScanFrames reads the groups back. A Ship error fails
// the waits and breaks the WAL.
func TestShip(t *testing.T) {
	var mu sync.Mutex
	var shipped []uint64
	fail := false
	next := uint64(1)
	w := openT(t, Options{Dir: t.TempDir(), NoSync: true, Ship: func(first, last uint64, frames []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("store down")
		}
		if first != next {
			return fmt.Errorf("group starts at %d, want %d", first, next)
		}
		err := ScanFrames("group", frames, first, func(lsn uint64, payload []byte) error {
			if string(payload) != fmt.Sprint("r", lsn) {
				return fmt.Errorf("lsn %d holds %q", lsn, payload)
			}
			shipped = append(shipped, lsn)
			return nil
		})
		next = last + 1
		return err
	}})
	for range 4 {
		var ps []*Pending
		for range 50 {
			w.mu.Lock()
			lsn := w.next
			w.mu.Unlock()
			p, err := w.Append([]byte(fmt.Sprint("r", lsn)))
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		for _, p := range ps {
			if err := p.Wait(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			n := len(shipped)
			mu.Unlock()
			if uint64(n) < p.LSN {
				t.Fatalf("lsn %d durable with only %d records shipped", p.LSN, n)
			}
		}
	}
	if len(shipped) != 200 {
		t.Fatalf("shipped %d records, want 200", len(shipped))
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	p, err := w.Append([]byte("lost"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(ctxT(t)); err == nil {
		t.Fatal("a record whose shipping failed became durable")
	}
	if _, err := w.Append([]byte("after")); err == nil {
		t.Fatal("the WAL took an append after a failed ship")
	}
	if err := ScanFrames("torn", appendRecord(nil, 7, []byte("x"))[:10], 7, func(uint64, []byte) error { return nil }); err == nil {
		t.Fatal("ScanFrames accepted a torn record")
	}
}
