package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// DefaultSegmentSize is the segment size used when Options.SegmentSize is 0.
const DefaultSegmentSize = 64 << 20

// ErrClosed is returned by Append, Replay and TruncateBefore once Close has
// been called.
var ErrClosed = errors.New("wal: closed")

// ErrFull is returned by Append when the record would make the total size of
// all segments exceed Options.MaxBytes. Nothing is written; the caller may
// retry after TruncateBefore has freed space (it maps to RESOURCE_EXHAUSTED).
var ErrFull = errors.New("wal: full")

var (
	errReplayAfterAppend = errors.New("wal: replay must be called before the first append")
	errTooLarge          = errors.New("wal: payload larger than 4 GiB - 1")
)

// Options configures a WAL.
type Options struct {
	Dir         string // folder for segment files; created if missing
	SegmentSize int64  // rotate to a new segment once the active one exceeds this; default 64 MiB
	MaxBytes    int64  // 0 = unlimited; when the total size of all segments would exceed it, Append fails fast with ErrFull
	NoSync      bool   // tests/benchmarks only: skip fsync
	// BufferedIO writes through the page cache even where direct I/O is
	// available (direct.go); segments then hold no padding records.
	BufferedIO bool
	// Ship, if set, is called with every group of records (LSNs
	// first..last, framed exactly as in a segment) after they are written
	// and fsynced and before any of them counts as durable: an Append's
	// Wait returns only once Ship has returned nil for its group and every
	// earlier one. Up to shipDepth calls run at once (the writer goes on
	// with the next groups meanwhile), so Ship must be safe for concurrent
	// use and must not keep frames. An error breaks the WAL like a failed
	// fsync. It is how records reach a second place (ingest's
	// wal.replicate: objstore) before they are acknowledged.
	Ship func(first, last uint64, frames []byte) error
}

// WAL is a write-ahead log in one directory. Its methods are safe for
// concurrent use, except that Replay must be called before the first Append.
type WAL struct {
	opts    Options
	hook    func() error  // tests only: called by the writer each time before it takes queued records; an error breaks the WAL
	kick    chan struct{} // wakes the writer; capacity 1
	stopped chan struct{} // closed when the writer has exited
	active  *os.File      // owned by the writer goroutine once Open returns
	direct  bool          // active was opened for direct I/O (direct.go); writer-owned like active

	mu       sync.Mutex
	next     uint64    // next LSN to assign
	cur      *batch    // records queued for the writer, nil if none
	spare    []byte    // a written batch buffer kept for reuse
	segs     []segment // sorted by first LSN; the last one is active
	reserved int64     // bytes on disk plus bytes queued
	err      error     // sticky write/fsync error
	closed   bool
	appended bool

	truncMu sync.Mutex // serialises TruncateBefore

	size    atomic.Int64  // bytes on disk
	durable atomic.Uint64 // highest LSN known fsynced
	last    atomic.Uint64 // highest LSN assigned
	flushes atomic.Int64  // write+fsync rounds done by the writer
}

// Open opens the WAL in opts.Dir, creating the directory and a first segment
// if needed. It does not replay: call Replay for that. It scans the last
// segment for its last whole record, truncates a torn tail after it, and
// continues the LSNs one past that record. Close must be called to stop the
// background writer.
func Open(opts Options) (*WAL, error) { return open(opts, nil) }

func open(opts Options, hook func() error) (*WAL, error) {
	opts, err := checkOptions(opts)
	if err != nil {
		return nil, err
	}
	w := &WAL{opts: opts, hook: hook, kick: make(chan struct{}, 1), stopped: make(chan struct{})}
	if err := w.load(); err != nil {
		return nil, err
	}
	go w.writeLoop()
	return w, nil
}

func checkOptions(opts Options) (Options, error) {
	if opts.Dir == "" {
		return opts, errors.New("wal: options: empty dir")
	}
	if opts.SegmentSize < 0 || opts.MaxBytes < 0 {
		return opts, errors.New("wal: options: negative size")
	}
	if opts.SegmentSize == 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	return opts, nil
}

// load reads the directory, repairs the active segment and sets the LSNs.
func (w *WAL) load() error {
	if err := os.MkdirAll(w.opts.Dir, 0o755); err != nil {
		return fmt.Errorf("wal: create dir: %w", err)
	}
	segs, err := listSegments(w.opts.Dir)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return w.loadEmpty()
	}
	last := len(segs) - 1
	if segs[last].first == 0 {
		return &CorruptionError{Segment: segs[last].path, Err: errors.New("segment named after lsn 0")}
	}
	f, seg, next, err := openActive(segs[last], w.opts.NoSync)
	if err != nil {
		return err
	}
	segs[last] = seg
	return w.setLoaded(f, segs, next)
}

func (w *WAL) loadEmpty() error {
	f, seg, err := createSegment(w.opts.Dir, 1, w.opts.NoSync)
	if err != nil {
		return err
	}
	return w.setLoaded(f, []segment{seg}, 1)
}

func (w *WAL) setLoaded(active *os.File, segs []segment, next uint64) error {
	var total int64
	for _, s := range segs {
		total += s.size
	}
	// A segment an older version left at an unaligned size is written
	// through the page cache until the next rotation.
	active, direct, err := w.reopen(active, segs[len(segs)-1].size)
	if err != nil {
		return err
	}
	w.active, w.direct, w.segs, w.next, w.reserved = active, direct, segs, next, total
	w.size.Store(total)
	w.durable.Store(next - 1)
	w.last.Store(next - 1)
	return nil
}

// reopen opens the active segment for direct I/O at off unless
// Options.BufferedIO says not to (reopenDirect).
func (w *WAL) reopen(f *os.File, off int64) (*os.File, bool, error) {
	if w.opts.BufferedIO {
		return f, false, nil
	}
	return reopenDirect(f, off)
}

// Replay calls fn for every whole record of every segment, in LSN order,
// starting with the oldest segment that TruncateBefore has kept. fn may keep
// the payload. Replay must be called before the first Append (it returns an
// error otherwise) and not concurrently with TruncateBefore. A torn tail of
// the last segment was already cut away by Open, so replay ends cleanly there;
// invalid bytes in an earlier segment, or a gap in the LSNs, return a
// *CorruptionError. An error returned by fn stops the replay and is returned
// wrapped.
func (w *WAL) Replay(fn func(lsn uint64, payload []byte) error) error {
	w.mu.Lock()
	segs, err := append([]segment(nil), w.segs...), w.replayErr()
	w.mu.Unlock()
	if err != nil {
		return err
	}
	want := segs[0].first
	for _, seg := range segs {
		if seg.first != want {
			return &CorruptionError{Segment: seg.path, Err: fmt.Errorf("segment starts at lsn %d, want %d", seg.first, want)}
		}
		if want, err = replaySegment(seg, fn); err != nil {
			return err
		}
	}
	return nil
}

func (w *WAL) replayErr() error {
	switch {
	case w.closed:
		return ErrClosed
	case w.appended:
		return errReplayAfterAppend
	}
	return nil
}

// ScanFrames calls fn for every record of frames, which holds whole
// records (as Ship gets them, or a segment's bytes) starting at LSN first. Bytes that are not a whole valid record,
// or an LSN out of sequence, are a *CorruptionError naming source. fn may
// keep the payload.
func ScanFrames(source string, frames []byte, first uint64, fn func(lsn uint64, payload []byte) error) error {
	s := newSegmentScanner(bytes.NewReader(frames), int64(len(frames)), first)
	for {
		lsn, payload, ok, err := s.next(true)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := fn(lsn, payload); err != nil {
			return err
		}
	}
	if s.end.tail != nil {
		return &CorruptionError{Segment: source, Offset: s.end.off, Err: s.end.tail}
	}
	return nil
}

// AppendFrame appends the framed record (LSN lsn, payload) to buf, as a
// segment or Ship holds it.
func AppendFrame(buf []byte, lsn uint64, payload []byte) []byte {
	return appendRecord(buf, lsn, payload)
}

// DurableLSN returns the highest LSN known to be fsynced. Every LSN at or
// below it is durable.
func (w *WAL) DurableLSN() uint64 { return w.durable.Load() }

// LastLSN returns the highest LSN assigned so far (0 if none ever was).
func (w *WAL) LastLSN() uint64 { return w.last.Load() }

// Size returns the number of bytes on disk over all segments.
func (w *WAL) Size() int64 { return w.size.Load() }

// TruncateBefore deletes every segment file whose records all have an LSN
// below lsn, oldest first. It never deletes the active segment and is
// idempotent.
func (w *WAL) TruncateBefore(lsn uint64) error {
	w.truncMu.Lock()
	defer w.truncMu.Unlock()
	victims, err := w.truncatable(lsn)
	for _, seg := range victims {
		if err = removeSegment(w.opts.Dir, seg, w.opts.NoSync); err != nil {
			return err
		}
		w.dropOldest(seg.size)
	}
	return err
}

// truncatable returns the non-active segments whose successor starts at or
// below lsn.
func (w *WAL) truncatable(lsn uint64) ([]segment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, ErrClosed
	}
	n := 0
	for n+1 < len(w.segs) && w.segs[n+1].first <= lsn {
		n++
	}
	return append([]segment(nil), w.segs[:n]...), nil
}

func (w *WAL) dropOldest(size int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.segs = w.segs[1:]
	w.reserved -= size
	w.size.Add(-size)
}

// Close waits until every queued append has been written and fsynced, stops
// the background writer and closes the active segment. It returns the sticky
// write error if the WAL is broken. Calling Close again returns nil.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	w.wake()
	<-w.stopped
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	if cerr := w.active.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("wal: close segment: %w", cerr))
	}
	return err
}
