package wal

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// With direct I/O every group ends with a padding record. A crash can tear
// the log anywhere, inside a record or inside the padding: Open keeps
// exactly the whole records before the cut, the next append continues after
// them, and a reopen replays them all.
func TestDirectTornTail(t *testing.T) {
	src := t.TempDir()
	w := openT(t, Options{Dir: src, NoSync: true})
	direct := w.direct
	const groups = 6
	for i := 1; i <= groups; i++ {
		appendWait(t, w, payloadFor(i)) // one record per group
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	seg := segFiles(t, src)[0]
	data, err := os.ReadFile(seg.path)
	if err != nil {
		t.Fatal(err)
	}
	if direct && len(data) != groups*directAlign {
		t.Fatalf("direct segment of %d bytes, want %d groups of %d", len(data), groups, directAlign)
	}
	// ends[i] is the offset just past record i+1.
	var ends []int64
	s := newSegmentScanner(bytes.NewReader(data), int64(len(data)), 1)
	for {
		_, _, ok, err := s.next(false)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		ends = append(ends, s.end.off)
	}
	if len(ends) != groups || s.end.tail != nil || s.end.off != int64(len(data)) {
		t.Fatalf("scan found %d records ending at %v, stopped at %d (%v), file %d bytes", len(ends), ends, s.end.off, s.end.tail, len(data))
	}
	var cuts []int64
	for _, e := range ends {
		cuts = append(cuts, e-1, e, e+1, e+5, e+8, e+9) // in the record, at its end, in the pad's header and filler
	}
	for c := int64(0); c < int64(len(data)); c += 997 {
		cuts = append(cuts, c)
	}
	for _, cut := range cuts {
		if cut < 0 || cut > int64(len(data)) {
			continue
		}
		whole := 0
		for _, e := range ends {
			if e <= cut {
				whole++
			}
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg.path)), data[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		opts := Options{Dir: dir, NoSync: true}
		w := openT(t, opts)
		if w.LastLSN() != uint64(whole) {
			t.Fatalf("cut at %d: LastLSN %d, want %d", cut, w.LastLSN(), whole)
		}
		checkRecords(t, replayAll(t, w), 1, whole)
		if lsn := appendWait(t, w, payloadFor(whole+1)); lsn != uint64(whole+1) {
			t.Fatalf("cut at %d: next lsn %d, want %d", cut, lsn, whole+1)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		w = openT(t, opts)
		checkRecords(t, replayAll(t, w), 1, whole+1)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Shipped groups carry their padding; ScanFrames reads through it.
func TestScanFramesWithPadding(t *testing.T) {
	var frames []byte
	for i := 1; i <= 3; i++ {
		frames = appendPad(appendRecord(frames, uint64(i), payloadFor(i)), directAlign)
	}
	var got []uint64
	err := ScanFrames("test", frames, 1, func(lsn uint64, p []byte) error {
		if !bytes.Equal(p, payloadFor(int(lsn))) {
			t.Errorf("lsn %d: payload differs", lsn)
		}
		got = append(got, lsn)
		return nil
	})
	if err != nil || len(got) != 3 {
		t.Fatalf("ScanFrames = %v, %v; want lsn 1..3", got, err)
	}
	if err := ScanFrames("torn", frames[:len(frames)-10], 1, func(uint64, []byte) error { return nil }); err == nil {
		t.Fatal("ScanFrames accepted padding cut short")
	}
}
