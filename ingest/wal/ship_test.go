package wal

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// Ship sees every record once, in whole groups (possibly several at
// once), and a record is durable only once it and every record before it
// were shipped; ScanFrames reads the groups back. A Ship error fails the
// waits and breaks the WAL.
func TestShip(t *testing.T) {
	var mu sync.Mutex
	shipped := map[uint64]bool{}
	fail := false
	w := openT(t, Options{Dir: t.TempDir(), NoSync: true, Ship: func(first, last uint64, frames []byte) error {
		mu.Lock()
		bad := fail
		mu.Unlock()
		if bad {
			return errors.New("store down")
		}
		var got []uint64
		err := ScanFrames("group", frames, first, func(lsn uint64, payload []byte) error {
			if string(payload) != fmt.Sprint("r", lsn) {
				return fmt.Errorf("lsn %d holds %q", lsn, payload)
			}
			got = append(got, lsn)
			return nil
		})
		if err == nil && (len(got) == 0 || got[len(got)-1] != last) {
			err = fmt.Errorf("group %d-%d holds %v", first, last, got)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, lsn := range got {
			if shipped[lsn] {
				return fmt.Errorf("lsn %d shipped twice", lsn)
			}
			shipped[lsn] = true
		}
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
			for lsn := uint64(1); lsn <= p.LSN; lsn++ {
				if !shipped[lsn] {
					t.Fatalf("lsn %d durable before lsn %d was shipped", p.LSN, lsn)
				}
			}
			mu.Unlock()
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
