package wal

import (
	"context"
	"errors"
	"fmt"
	"syscall"
)

// maxSpare caps the capacity of a batch buffer kept for reuse. A bulk
// ingest's records are a batch each, megabytes long (TPC-H lineitem from
// Parquet: 11 MB), and a group of them that outgrew the spare was
// allocated anew, grown by doubling and page-faulted in for every group.
const maxSpare = 64 << 20

// batch is a group of consecutive records written with one write and one
// fsync. done is closed once err is final.
type batch struct {
	buf         []byte
	first, last uint64
	done        chan struct{}
	err         error
	shipped     chan error // with Options.Ship: the outcome of its Ship call
}

// shipDepth bounds the groups written and fsynced whose Ship calls run at
// once: the writer goes on writing while earlier groups are on their way
// to the second copy, and they become durable in LSN order.
const shipDepth = 4

// Pending is an append that may not be durable yet.
type Pending struct {
	LSN uint64 // the LSN assigned to the record
	b   *batch
}

// Wait blocks until the record is durable, its write failed, or ctx is done.
// It returns nil only once the record has been fsynced.
func (p *Pending) Wait(ctx context.Context) error {
	select {
	case <-p.b.done:
		return p.b.err
	default:
	}
	select {
	case <-p.b.done:
		return p.b.err
	case <-ctx.Done():
		return fmt.Errorf("wal: wait for lsn %d: %w", p.LSN, ctx.Err())
	}
}

// Append assigns the next LSN to payload and queues the record for the
// background writer; Wait on the result to learn when it is durable. The LSN
// is assigned before Append returns, so callers holding their own lock get
// LSNs in their call order. Append does not keep payload. It returns ErrClosed
// after Close, ErrFull when the record would exceed Options.MaxBytes, and the
// sticky error once a write or fsync has failed.
func (w *WAL) Append(payload []byte) (*Pending, error) {
	if uint64(len(payload)) > maxPayload {
		return nil, errTooLarge
	}
	n := recordSize(len(payload))
	w.mu.Lock()
	if err := w.appendErr(n); err != nil {
		w.mu.Unlock()
		return nil, err
	}
	lsn := w.next
	w.next++
	w.appended = true
	w.reserved += n
	b := w.queue()
	// Room for the padding too: the group's buffer stays where grow put
	// it, on a directAlign boundary.
	b.buf = appendRecord(grow(b.buf, int(n)+padHeader+directAlign), lsn, payload)
	if b.first == 0 {
		b.first = lsn
	}
	b.last = lsn
	w.last.Store(lsn)
	w.mu.Unlock()
	w.wake()
	return &Pending{LSN: lsn, b: b}, nil
}

// appendErr says why a record of n bytes cannot be appended now.
func (w *WAL) appendErr(n int64) error {
	switch {
	case w.closed:
		return ErrClosed
	case w.err != nil:
		return w.err
	case w.opts.MaxBytes > 0 && w.reserved+n > w.opts.MaxBytes:
		return ErrFull
	}
	return nil
}

// queue returns the batch that collects new records, starting one if needed.
func (w *WAL) queue() *batch {
	if w.cur == nil {
		w.cur = &batch{buf: w.spare, done: make(chan struct{})}
		w.spare = nil
	}
	return w.cur
}

func (w *WAL) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// writeLoop is the background writer: it flushes queued batches until Close
// has been called and nothing is queued.
func (w *WAL) writeLoop() {
	defer close(w.stopped)
	var ships chan *batch
	if w.opts.Ship != nil {
		ships = make(chan *batch, shipDepth)
		done := make(chan struct{})
		go w.completeShips(ships, done)
		defer func() {
			close(ships)
			<-done
		}()
	}
	for {
		b, closed := w.take()
		if b != nil {
			w.flush(b, ships)
			continue
		}
		if closed {
			return
		}
		<-w.kick
	}
}

// completeShips makes shipped groups durable in the order they were
// written, each once its Ship call has returned.
func (w *WAL) completeShips(ships <-chan *batch, done chan<- struct{}) {
	defer close(done)
	for b := range ships {
		err := <-b.shipped
		if err != nil {
			err = fmt.Errorf("wal: ship records %d-%d: %w", b.first, b.last, err)
			w.fail(err)
		} else if err = w.stickyErr(); err == nil {
			w.durable.Store(b.last)
		}
		w.finish(b, err)
	}
}

// take removes the queued batch, if any, and reports whether Close was called.
func (w *WAL) take() (*batch, bool) {
	if w.hook != nil {
		if err := w.hook(); err != nil {
			w.fail(fmt.Errorf("wal: write segment: %w", err))
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.cur
	w.cur = nil
	return b, w.closed
}

// flush writes and fsyncs one batch, then wakes its waiters; with ships
// (Options.Ship) it starts the batch's Ship call and leaves the waking to
// completeShips.
func (w *WAL) flush(b *batch, ships chan<- *batch) {
	if err := w.stickyErr(); err != nil {
		w.finish(b, err)
		return
	}
	if w.direct {
		padded := appendPad(grow(b.buf, padHeader+directAlign), directAlign)
		w.mu.Lock()
		w.reserved += int64(len(padded) - len(b.buf))
		w.mu.Unlock()
		b.buf = padded
	}
	if err := w.write(b.buf); err != nil {
		w.fail(err)
		w.finish(b, err)
		return
	}
	if ships != nil {
		b.shipped = make(chan error, 1)
		go func() { b.shipped <- w.opts.Ship(b.first, b.last, b.buf) }()
		ships <- b
	} else {
		w.durable.Store(b.last)
		w.finish(b, nil)
	}
	if err := w.maybeRotate(b.last + 1); err != nil {
		w.fail(err)
	}
}

func (w *WAL) write(buf []byte) error {
	w.flushes.Add(1)
	n, err := w.active.Write(buf)
	if err != nil && w.direct && n == 0 && errors.Is(err, syscall.EINVAL) {
		// The file system opened the file for direct I/O but refuses the
		// write: go on through the page cache.
		w.mu.Lock()
		off := w.segs[len(w.segs)-1].size
		w.mu.Unlock()
		if w.active, err = reopenBuffered(w.active, off); err == nil {
			w.direct = false
			_, err = w.active.Write(buf)
		}
	}
	if err != nil {
		return fmt.Errorf("wal: write segment: %w", err)
	}
	if !w.opts.NoSync {
		if err := w.active.Sync(); err != nil {
			return fmt.Errorf("wal: fsync segment: %w", err)
		}
	}
	w.mu.Lock()
	w.segs[len(w.segs)-1].size += int64(len(buf))
	w.mu.Unlock()
	w.size.Add(int64(len(buf)))
	return nil
}

// finish publishes the outcome of b and recycles its buffer.
func (w *WAL) finish(b *batch, err error) {
	buf := b.buf[:0]
	b.buf, b.err = nil, err
	close(b.done)
	if cap(buf) <= maxSpare {
		w.mu.Lock()
		w.spare = buf
		w.mu.Unlock()
	}
}

// maybeRotate starts a new active segment at LSN first once the active one
// exceeds the segment size.
func (w *WAL) maybeRotate(first uint64) error {
	w.mu.Lock()
	full := w.segs[len(w.segs)-1].size > w.opts.SegmentSize
	w.mu.Unlock()
	if !full {
		return nil
	}
	f, seg, err := createSegment(w.opts.Dir, first, w.opts.NoSync)
	if err != nil {
		return err
	}
	old := w.active
	if f, w.direct, err = w.reopen(f, 0); err != nil {
		return err
	}
	w.active = f
	w.mu.Lock()
	w.segs = append(w.segs, seg)
	w.mu.Unlock()
	if err := old.Close(); err != nil {
		return fmt.Errorf("wal: close full segment: %w", err)
	}
	return nil
}

func (w *WAL) stickyErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// fail makes err the sticky error, unless there is one already.
func (w *WAL) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}
