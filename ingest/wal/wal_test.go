package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashDirEnv) != "" {
		os.Exit(crashChild())
	}
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every wait in the tests.
const testTimeout = 30 * time.Second

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func openT(t testing.TB, opts Options) *WAL {
	t.Helper()
	w, err := Open(opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// payloadFor returns a deterministic payload of varying length for record i.
func payloadFor(i int) []byte {
	n := 10 + (i*37)%140
	p := make([]byte, n)
	for j := range p {
		p[j] = byte(i*7 + j)
	}
	return p
}

func appendWait(t testing.TB, w *WAL, payload []byte) uint64 {
	t.Helper()
	p, err := w.Append(payload)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := p.Wait(ctxT(t)); err != nil {
		t.Fatalf("wait lsn %d: %v", p.LSN, err)
	}
	return p.LSN
}

// appendN appends payloadFor(1..n) and waits for all of them.
func appendN(t testing.TB, w *WAL, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if lsn := appendWait(t, w, payloadFor(i)); lsn != uint64(i) {
			t.Fatalf("append %d got lsn %d", i, lsn)
		}
	}
}

type rec struct {
	lsn     uint64
	payload []byte
}

func replayAll(t testing.TB, w *WAL) []rec {
	t.Helper()
	var out []rec
	err := w.Replay(func(lsn uint64, p []byte) error {
		out = append(out, rec{lsn, p})
		return nil
	})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return out
}

// checkRecords asserts that got holds exactly payloadFor(from..to) at LSNs from..to.
func checkRecords(t testing.TB, got []rec, from, to int) {
	t.Helper()
	if len(got) != to-from+1 {
		t.Fatalf("replayed %d records, want %d (lsn %d..%d)", len(got), to-from+1, from, to)
	}
	for k, r := range got {
		i := from + k
		if r.lsn != uint64(i) || !bytes.Equal(r.payload, payloadFor(i)) {
			t.Fatalf("record %d: lsn %d payload %x, want lsn %d payload %x", k, r.lsn, r.payload, i, payloadFor(i))
		}
	}
}

func segFiles(t testing.TB, dir string) []segment {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

func TestRoundtripAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, Options{Dir: dir, SegmentSize: 512})
	if got := replayAll(t, w); len(got) != 0 {
		t.Fatalf("fresh wal replayed %d records", len(got))
	}
	appendN(t, w, 60)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n < 5 {
		t.Fatalf("got %d segments, want several", n)
	}
	w = openT(t, Options{Dir: dir, SegmentSize: 512})
	if w.LastLSN() != 60 || w.DurableLSN() != 60 {
		t.Fatalf("after reopen last=%d durable=%d, want 60", w.LastLSN(), w.DurableLSN())
	}
	checkRecords(t, replayAll(t, w), 1, 60)
	if lsn := appendWait(t, w, payloadFor(61)); lsn != 61 {
		t.Fatalf("next lsn %d, want 61", lsn)
	}
	if got, want := w.Size(), dirSize(t, dir); got != want {
		t.Fatalf("Size()=%d, files hold %d", got, want)
	}
}

func dirSize(t testing.TB, dir string) int64 {
	var n int64
	for _, s := range segFiles(t, dir) {
		n += s.size
	}
	return n
}

func TestConcurrentAppendLSNOrder(t *testing.T) {
	const goroutines, per = 16, 50
	w := openT(t, Options{Dir: t.TempDir(), SegmentSize: 4096, NoSync: true})
	var (
		callerMu sync.Mutex
		order    []uint64 // LSNs in the order the caller's lock was taken
		wg       sync.WaitGroup
		errs     = make(chan error, goroutines)
		ctx      = ctxT(t)
	)
	for g := range goroutines {
		wg.Go(func() {
			for i := range per {
				id := g*per + i + 1
				callerMu.Lock()
				p, err := w.Append(payloadFor(id))
				if err == nil {
					order = append(order, p.LSN)
				}
				callerMu.Unlock()
				if err == nil {
					err = p.Wait(ctx)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for k, lsn := range order {
		if lsn != uint64(k+1) {
			t.Fatalf("call %d got lsn %d, want %d", k, lsn, k+1)
		}
	}
	if got := w.DurableLSN(); got != goroutines*per {
		t.Fatalf("durable %d, want %d", got, goroutines*per)
	}
}

func TestGroupCommitBatches(t *testing.T) {
	t.Run("concurrent_appenders", func(t *testing.T) {
		const goroutines, per = 64, 20
		w := openT(t, Options{Dir: t.TempDir()}) // real fsyncs
		ctx := ctxT(t)
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for range per {
					if p, err := w.Append([]byte("x")); err != nil {
						t.Error(err)
					} else if err := p.Wait(ctx); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		appends, flushes := int64(goroutines*per), w.flushes.Load()
		t.Logf("%d appends in %d fsyncs", appends, flushes)
		if flushes*4 > appends {
			t.Fatalf("%d fsyncs for %d appends: group commit does not batch", flushes, appends)
		}
	})
	t.Run("queued_while_writer_busy", func(t *testing.T) {
		gate := make(chan struct{})
		w := openHooked(t, Options{Dir: t.TempDir()}, func() error { <-gate; return nil })
		var pend []*Pending
		for i := range 64 {
			p, err := w.Append(payloadFor(i))
			if err != nil {
				t.Fatal(err)
			}
			pend = append(pend, p)
		}
		close(gate)
		for _, p := range pend {
			if err := p.Wait(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		}
		if got := w.flushes.Load(); got != 1 {
			t.Fatalf("64 queued appends took %d fsyncs, want 1", got)
		}
	})
}

func openHooked(t testing.TB, opts Options, hook func() error) *WAL {
	t.Helper()
	w, err := open(opts, hook)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func TestWaitWithCancelledContext(t *testing.T) {
	gate := make(chan struct{})
	w := openHooked(t, Options{Dir: t.TempDir(), NoSync: true}, func() error { <-gate; return nil })
	p, err := w.Append([]byte("blocked"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with cancelled ctx: %v, want context.Canceled", err)
	}
	if w.DurableLSN() != 0 {
		t.Fatalf("durable %d before the write", w.DurableLSN())
	}
	close(gate)
	if err := p.Wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("wait on a durable record with cancelled ctx: %v", err)
	}
}

func TestWriteFailureIsSticky(t *testing.T) {
	gate := make(chan struct{})
	injected := errors.New("injected disk failure")
	w, err := open(Options{Dir: t.TempDir(), NoSync: true}, func() error { <-gate; return injected })
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.Append([]byte("doomed"))
	if err != nil {
		t.Fatal(err)
	}
	close(gate)
	if err := p.Wait(ctxT(t)); !errors.Is(err, injected) {
		t.Fatalf("wait: %v, want the injected error", err)
	}
	for range 3 {
		if _, err := w.Append([]byte("later")); !errors.Is(err, injected) {
			t.Fatalf("append after failure: %v, want the sticky error", err)
		}
	}
	if w.DurableLSN() != 0 {
		t.Fatalf("durable %d after a failed write", w.DurableLSN())
	}
	if err := w.Close(); !errors.Is(err, injected) {
		t.Fatalf("close: %v, want the sticky error", err)
	}
}

func TestAppendAfterClose(t *testing.T) {
	w := openT(t, Options{Dir: t.TempDir(), NoSync: true})
	p, err := w.Append([]byte("queued before close"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(ctxT(t)); err != nil {
		t.Fatalf("append queued before close: %v", err)
	}
	if _, err := w.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("append: %v, want ErrClosed", err)
	}
	if err := w.Replay(func(uint64, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("replay: %v, want ErrClosed", err)
	}
	if err := w.TruncateBefore(10); !errors.Is(err, ErrClosed) {
		t.Fatalf("truncate: %v, want ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestReplayAfterAppendFails(t *testing.T) {
	w := openT(t, Options{Dir: t.TempDir(), NoSync: true})
	appendWait(t, w, []byte("a"))
	if err := w.Replay(func(uint64, []byte) error { return nil }); err == nil {
		t.Fatal("replay after append succeeded")
	}
}

func TestReplayStopsOnCallbackError(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, Options{Dir: dir, NoSync: true})
	appendN(t, w, 3)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = openT(t, Options{Dir: dir, NoSync: true})
	stop := errors.New("stop")
	var seen int
	err := w.Replay(func(lsn uint64, _ []byte) error {
		seen++
		if lsn == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 2 {
		t.Fatalf("replay: err=%v after %d records, want stop after 2", err, seen)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]Options{
		"empty_dir":            {},
		"negative_segmentsize": {Dir: t.TempDir(), SegmentSize: -1},
		"negative_maxbytes":    {Dir: t.TempDir(), MaxBytes: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if w, err := Open(opts); err == nil {
				_ = w.Close()
				t.Fatal("open succeeded")
			}
		})
	}
}

func TestErrFullWithMaxBytes(t *testing.T) {
	payload := bytes.Repeat([]byte("p"), 80)
	rs := recordSize(len(payload))
	// Every record fills a segment, so each sits in its own file.
	// Buffered: the sizes below are records' own (direct I/O would round
	// every group up to directAlign, and MaxBytes counts that padding too).
	w := openT(t, Options{Dir: t.TempDir(), SegmentSize: 1, MaxBytes: 3 * rs, NoSync: true, BufferedIO: true})
	for range 3 {
		appendWait(t, w, payload)
	}
	if _, err := w.Append(payload); !errors.Is(err, ErrFull) {
		t.Fatalf("append over MaxBytes: %v, want ErrFull", err)
	}
	if _, err := w.Append(make([]byte, 4*rs)); !errors.Is(err, ErrFull) {
		t.Fatalf("record larger than MaxBytes: %v, want ErrFull", err)
	}
	if w.Size() != 3*rs || w.LastLSN() != 3 {
		t.Fatalf("size %d last %d after ErrFull, want %d and 3", w.Size(), w.LastLSN(), 3*rs)
	}
	if err := w.TruncateBefore(3); err != nil {
		t.Fatal(err)
	}
	if lsn := appendWait(t, w, payload); lsn != 4 {
		t.Fatalf("append after truncate got lsn %d, want 4", lsn)
	}
}

func TestTruncateBefore(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentSize: 400, NoSync: true}
	w := openT(t, opts)
	appendN(t, w, 40)
	// The writer may still rotate after the last acknowledged group; once
	// closed and reopened it is idle, and the listing below is the log's.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = openT(t, opts)
	segs := segFiles(t, dir)
	if len(segs) < 4 {
		t.Fatalf("want at least 4 segments, got %d", len(segs))
	}
	t.Logf("segments start at %v", firsts(segs))

	cut := segs[2].first // segments 0 and 1 hold only LSNs below cut
	for _, lsn := range []uint64{0, 1, segs[1].first, cut - 1} {
		if err := w.TruncateBefore(lsn); err != nil {
			t.Fatal(err)
		}
		if n := len(segFiles(t, dir)); n < len(segs)-1 {
			t.Fatalf("TruncateBefore(%d) left %d of %d segments", lsn, n, len(segs))
		}
	}
	for range 2 { // idempotent
		if err := w.TruncateBefore(cut); err != nil {
			t.Fatal(err)
		}
		if got := firsts(segFiles(t, dir)); got[0] != cut || len(got) != len(segs)-2 {
			t.Fatalf("after TruncateBefore(%d) segments start at %v", cut, got)
		}
	}
	if w.Size() != dirSize(t, dir) {
		t.Fatalf("Size()=%d, files hold %d", w.Size(), dirSize(t, dir))
	}
	if err := w.TruncateBefore(1 << 62); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(t, dir); len(got) != 1 || got[0].first != segs[len(segs)-1].first {
		t.Fatalf("TruncateBefore(max) left %v, want only the active segment", firsts(got))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	last := int(segs[len(segs)-1].first)
	w = openT(t, opts)
	checkRecords(t, replayAll(t, w), last, 40)
	if lsn := appendWait(t, w, payloadFor(41)); lsn != 41 {
		t.Fatalf("next lsn %d, want 41", lsn)
	}
}

func firsts(segs []segment) []uint64 {
	var out []uint64
	for _, s := range segs {
		out = append(out, s.first)
	}
	return out
}

// TestSegmentRotationDurableNames pins segment naming: each file is named by
// its first LSN and files are contiguous.
func TestSegmentRotationDurableNames(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, Options{Dir: dir, SegmentSize: 300, NoSync: true})
	appendN(t, w, 20)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range segFiles(t, dir) {
		if filepath.Base(s.path) != fmt.Sprintf("%016x.wal", s.first) {
			t.Fatalf("segment %s", s.path)
		}
		f, err := os.Open(s.path)
		if err != nil {
			t.Fatal(err)
		}
		sc := newSegmentScanner(f, s.size, s.first)
		lsn, _, ok, err := sc.next(false)
		_ = f.Close()
		if err != nil || (ok && lsn != s.first) {
			t.Fatalf("segment %s starts with lsn %d (ok=%v err=%v)", s.path, lsn, ok, err)
		}
	}
}
