package ingest

import (
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// flushBackoff spaces out the flushes of a table whose last flush failed
// (object store or catalog unreachable): exponentially from 250 ms up to
// 5 s, with jitter, reset by a success. Without it the flusher would
// re-encode the table's whole buffer as Parquet on every tick of an outage,
// taking the CPU that ingest into the WAL needs meanwhile. The rows stay
// in the buffer and the WAL until a flush succeeds.
type flushBackoff struct {
	mu     sync.Mutex
	tables map[string]*tableBackoff
}

type tableBackoff struct {
	next time.Time
	bo   *backoff.ExponentialBackOff
}

// ready reports whether table may be flushed at now.
func (f *flushBackoff) ready(table string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	tb, ok := f.tables[table]
	return !ok || !now.Before(tb.next)
}

// failed records a failed flush and returns how long the table waits.
func (f *flushBackoff) failed(table string, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tables == nil {
		f.tables = map[string]*tableBackoff{}
	}
	tb, ok := f.tables[table]
	if !ok {
		bo := backoff.NewExponentialBackOff()
		bo.InitialInterval, bo.MaxInterval = 250*time.Millisecond, 5*time.Second
		tb = &tableBackoff{bo: bo}
		f.tables[table] = tb
	}
	wait := tb.bo.NextBackOff()
	tb.next = now.Add(wait)
	return wait
}

// succeeded forgets the table's failures.
func (f *flushBackoff) succeeded(table string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tables, table)
}
