package ingest

import (
	"testing"
	"time"
)

// A table whose flush failed waits, longer after each failure (capped),
// and is due again at once after a success.
func TestFlushBackoff(t *testing.T) {
	var f flushBackoff
	now := time.Unix(1000, 0)
	if !f.ready("t", now) {
		t.Fatal("a table that never failed is not ready")
	}
	var last time.Duration
	for i := range 12 {
		wait := f.failed("t", now)
		if f.ready("t", now) || !f.ready("t", now.Add(wait)) {
			t.Fatalf("failure %d: wait %s not honoured", i, wait)
		}
		if wait > 5*time.Second*3/2 { // 5 s cap plus jitter
			t.Fatalf("failure %d: wait %s above the cap", i, wait)
		}
		last = wait
	}
	if last < 2*time.Second {
		t.Fatalf("after 12 failures the wait is only %s", last)
	}
	if !f.ready("other", now) {
		t.Fatal("one table's failures delay another")
	}
	f.succeeded("t")
	if !f.ready("t", now) {
		t.Fatal("a success did not reset the backoff")
	}
}
