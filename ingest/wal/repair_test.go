package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const repairRecords = 30

// The repair tests cut segments at record boundaries they compute, so they
// write without the padding of direct I/O (TestDirectTornTail covers that).
var repairOpts = Options{SegmentSize: 1000, NoSync: true, BufferedIO: true}

// buildLog writes payloadFor(1..repairRecords) into a fresh directory with
// several segments and returns the directory and its segments.
func buildLog(t *testing.T) (string, []segment) {
	t.Helper()
	dir := t.TempDir()
	opts := repairOpts
	opts.Dir = dir
	w := openT(t, opts)
	appendN(t, w, repairRecords)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("want at least 3 segments, got %d", len(segs))
	}
	return dir, segs
}

// recordEnds returns the end offset of each record of seg, in order.
func recordEnds(seg segment) []int64 {
	var ends []int64
	var off int64
	for i := int(seg.first); i <= repairRecords; i++ {
		off += recordSize(len(payloadFor(i)))
		ends = append(ends, off)
	}
	return ends
}

// cloneDir copies every file of src into a fresh dst.
func cloneDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.RemoveAll(dst); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// checkRecovered opens dir and asserts it holds exactly records 1..last, that
// the active segment has been cut back to wantSize, and that the next append
// gets LSN last+1 and survives a reopen.
func checkRecovered(t *testing.T, dir string, active segment, last int, wantSize int64) {
	t.Helper()
	opts := repairOpts
	opts.Dir = dir
	w, err := Open(opts)
	if err != nil {
		t.Fatalf("open after damage: %v", err)
	}
	defer w.Close()
	if w.LastLSN() != uint64(last) {
		t.Fatalf("LastLSN %d, want %d", w.LastLSN(), last)
	}
	if fi, err := os.Stat(active.path); err != nil || fi.Size() != wantSize {
		t.Fatalf("active segment not repaired to %d bytes: %v %v", wantSize, fi.Size(), err)
	}
	checkRecords(t, replayAll(t, w), 1, last)
	if lsn := appendWait(t, w, payloadFor(last+1)); lsn != uint64(last+1) {
		t.Fatalf("next lsn %d, want %d", lsn, last+1)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	checkRecords(t, replayAll(t, w2), 1, last+1)
}

func TestTornLastRecord(t *testing.T) {
	src, segs := buildLog(t)
	active := segs[len(segs)-1]
	ends := recordEnds(active)
	if ends[len(ends)-1] != active.size {
		t.Fatalf("record ends %v do not match segment size %d", ends, active.size)
	}
	scratch := filepath.Join(t.TempDir(), "wal")
	tailStart := int64(0)
	if len(ends) > 2 {
		tailStart = ends[len(ends)-3]
	}
	for cut := int64(0); cut < active.size; cut++ {
		if cut < tailStart && cut%5 != 0 { // every offset of the last two records, a stride before
			continue
		}
		cloneDir(t, src, scratch)
		if err := os.Truncate(filepath.Join(scratch, filepath.Base(active.path)), cut); err != nil {
			t.Fatal(err)
		}
		whole, end := wholeBefore(ends, cut)
		dst := active
		dst.path = filepath.Join(scratch, filepath.Base(active.path))
		checkRecovered(t, scratch, dst, int(active.first)-1+whole, end)
		if t.Failed() {
			t.Fatalf("cut at offset %d", cut)
		}
	}
}

// wholeBefore returns how many records end at or before cut, and where the last of them ends.
func wholeBefore(ends []int64, cut int64) (int, int64) {
	n, end := 0, int64(0)
	for _, e := range ends {
		if e > cut {
			break
		}
		n, end = n+1, e
	}
	return n, end
}

func TestTornTailGarbage(t *testing.T) {
	next := appendRecord(nil, repairRecords+1, bytes.Repeat([]byte{0xab}, 100))
	for _, tc := range []struct {
		name string
		tail []byte
	}{
		{"zero_filled_tail", make([]byte, 4096)},
		{"zero_length_header", make([]byte, headerSize)},
		{"partial_header", next[:10]},
		{"header_without_payload", next[:headerSize+20]},
		{"record_missing_last_byte", next[:len(next)-1]},
		{"length_overflow", append([]byte("MWL1\xff\xff\xff\xff"), make([]byte, 40)...)},
		{"garbage", bytes.Repeat([]byte("garbage!"), 50)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, segs := buildLog(t)
			active := segs[len(segs)-1]
			appendFile(t, active.path, tc.tail)
			checkRecovered(t, src, active, repairRecords, active.size)
		})
	}
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = f.Write(b)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptCRCInLastRecord(t *testing.T) {
	for _, tc := range []struct {
		name   string
		field  int64 // offset inside the record
		record int   // 1 = last record, 2 = the one before
	}{
		{"magic", 0, 1},
		{"length", 5, 1},
		{"crc", 9, 1},
		{"lsn", 12, 1},
		{"payload", headerSize + 3, 1},
		{"payload_of_second_to_last", headerSize, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, segs := buildLog(t)
			active := segs[len(segs)-1]
			ends := recordEnds(active)
			if len(ends) < 3 {
				t.Fatalf("active segment holds %d records, want 3", len(ends))
			}
			start := ends[len(ends)-1-tc.record]
			flipByte(t, active.path, start+tc.field)
			checkRecovered(t, src, active, repairRecords-tc.record, start)
		})
	}
}

func TestRecordWithWrongLSNInLastSegmentFailsOpen(t *testing.T) {
	src, segs := buildLog(t)
	active := segs[len(segs)-1]
	appendFile(t, active.path, appendRecord(nil, repairRecords+5, []byte("misplaced")))
	opts := repairOpts
	opts.Dir = src
	w, err := Open(opts)
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Offset != active.size || !errors.Is(err, errLSN) {
		if err == nil {
			_ = w.Close()
		}
		t.Fatalf("open: %v, want *CorruptionError at offset %d", err, active.size)
	}
}

func TestCorruptionInEarlierSegment(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, segs []segment)
		wantSeg int // index of the segment reported
		wantOff func(segs []segment) int64
		wantErr error
	}{{
		name:    "crc_flip_in_first_segment",
		damage:  func(t *testing.T, s []segment) { flipByte(t, s[0].path, recordSize(len(payloadFor(1)))+headerSize+1) },
		wantOff: func([]segment) int64 { return recordSize(len(payloadFor(1))) },
		wantErr: errChecksum,
	}, {
		name:    "zeroed_header_in_first_segment",
		damage:  func(t *testing.T, s []segment) { zeroRange(t, s[0].path, 0, headerSize) },
		wantOff: func([]segment) int64 { return 0 },
		wantErr: errBadMagic,
	}, {
		name:    "torn_tail_of_first_segment",
		damage:  func(t *testing.T, s []segment) { truncateBy(t, s[0], 3) },
		wantOff: func(s []segment) int64 { return lastRecordStart(s[0], s[1].first) },
		wantErr: errTornPayload,
	}, {
		name:    "missing_middle_segment",
		damage:  func(t *testing.T, s []segment) { removeFile(t, s[1].path) },
		wantSeg: 2,
		wantOff: func([]segment) int64 { return 0 },
	}} {
		t.Run(tc.name, func(t *testing.T) {
			src, segs := buildLog(t)
			tc.damage(t, segs)
			opts := repairOpts
			opts.Dir = src
			w := openT(t, opts) // damage before the last segment never fails Open
			err := w.Replay(func(uint64, []byte) error { return nil })
			var ce *CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("replay: %v, want *CorruptionError", err)
			}
			if ce.Segment != segs[tc.wantSeg].path || ce.Offset != tc.wantOff(segs) {
				t.Fatalf("corruption at %s:%d, want %s:%d", ce.Segment, ce.Offset, segs[tc.wantSeg].path, tc.wantOff(segs))
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("replay: %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func zeroRange(t *testing.T, path string, off, n int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clear(b[off : off+n])
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncateBy(t *testing.T, seg segment, n int64) {
	t.Helper()
	if err := os.Truncate(seg.path, seg.size-n); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// lastRecordStart returns where the last record of seg begins; next is the
// first LSN of the following segment.
func lastRecordStart(seg segment, next uint64) int64 {
	var off int64
	for i := seg.first; i < next-1; i++ {
		off += recordSize(len(payloadFor(int(i))))
	}
	return off
}
