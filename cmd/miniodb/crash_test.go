package main

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestCrashRecovery ingests continuously from two clients, SIGKILLs the
// server at random moments and restarts it, and checks after every restart
// that every acknowledged ingest is present exactly once and every other
// ingest is either wholly present or wholly absent. Flushes and WAL segment
// rotation run during the test (small buffer and segment sizes), so kills
// land before, during and after flushes and truncations.
//
// MINIODB_CRASH_KILLS sets the number of kills (default 20; make soak: 200).
func TestCrashRecovery(t *testing.T) {
	kills := 20
	if v := os.Getenv("MINIODB_CRASH_KILLS"); v != "" {
		kills, _ = strconv.Atoi(v)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "buffer:\n  buffer_size: 3000\n  flush_interval: 300ms\nwal:\n  segment_size: 262144\n")
	s := startServer(t, filepath.Join(dir, "data"), "--config", cfg)
	led := &ledger{acked: map[int64]bool{}, tried: map[int64]bool{}}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for k := 0; k < kills; k++ {
		runUntilKilled(t, s, led, time.Duration(50+rng.IntN(600))*time.Millisecond)
		s.restart()
		led.verify(t, s, k)
	}
	files := parquetFiles(t, filepath.Join(dir, "data"))
	segs, _ := filepath.Glob(filepath.Join(dir, "data", "wal", "*.wal"))
	t.Logf("%d kills; %d ingests acknowledged, %d attempted; %d Parquet files, %d WAL segments left", kills, len(led.acked), len(led.tried), len(files), len(segs))
	if len(files) == 0 {
		t.Fatal("no flush ran during the crash test; it did not exercise kills around flushes")
	}
}

// Each ingest is one DoPut of txnBatches batches of batchRows rows with
// consecutive ids starting at seq*txnRows.
const (
	batchRows  = 200
	txnBatches = 3
	txnRows    = batchRows * txnBatches
)

type ledger struct {
	mu    sync.Mutex
	next  int64
	acked map[int64]bool // sequence numbers of acknowledged ingests
	tried map[int64]bool // every ingest sent, acknowledged or not
}

func (l *ledger) take() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := l.next
	l.next++
	l.tried[seq] = true
	return seq
}

func (l *ledger) ack(seq int64) {
	l.mu.Lock()
	l.acked[seq] = true
	l.mu.Unlock()
}

// runUntilKilled ingests from two goroutines and SIGKILLs the server after d.
func runUntilKilled(t *testing.T, s *server, led *ledger, d time.Duration) {
	c := s.client()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				seq := led.take()
				recs := make([]arrow.RecordBatch, txnBatches)
				for i := range recs {
					recs[i] = idBatch(seq*txnRows+int64(i*batchRows), batchRows)
				}
				_, err := ingestRecs(ctx, c, "crash", modeCreateAppend, recs...)
				releaseRecs(recs)
				if err == nil {
					led.ack(seq)
				}
			}
		}()
	}
	time.Sleep(d)
	s.kill()
	cancel()
	wg.Wait()
}

func (l *ledger) verify(t *testing.T, s *server, round int) {
	t.Helper()
	if len(l.acked) == 0 {
		return // nothing acknowledged yet: the table may not even exist
	}
	c := s.client()
	_, recs, err := queryAll(context.Background(), c,
		"SELECT id // "+strconv.Itoa(txnRows)+" AS seq, count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo FROM crash GROUP BY 1")
	if err != nil {
		t.Fatalf("round %d: query after restart: %v\n%s", round, err, tail(s.logs.String(), 4000))
	}
	defer releaseRecs(recs)
	present := map[int64]bool{}
	for _, r := range recs {
		for i := 0; i < int(r.NumRows()); i++ {
			seq, n, d, lo := intValue(t, r.Column(0), i), intValue(t, r.Column(1), i), intValue(t, r.Column(2), i), intValue(t, r.Column(3), i)
			switch {
			case !l.tried[seq]:
				t.Fatalf("round %d: rows of ingest %d that was never sent", round, seq)
			case n != txnRows || d != txnRows || lo != seq*txnRows:
				t.Fatalf("round %d: ingest %d present with %d rows (%d distinct, lowest id %d), want all %d exactly once", round, seq, n, d, lo, txnRows)
			}
			present[seq] = true
		}
	}
	for seq := range l.acked {
		if !present[seq] {
			t.Fatalf("round %d: acknowledged ingest %d is missing", round, seq)
		}
	}
	// Unacknowledged ingests that survived are now durable; count them as
	// acknowledged so later rounds check them too.
	for seq := range present {
		l.acked[seq] = true
	}
}
