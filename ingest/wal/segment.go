package wal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

const segExt = ".wal"

// segment describes one segment file.
type segment struct {
	first uint64 // LSN of its first record, from its name
	path  string
	size  int64 // bytes on disk (for the active segment: bytes written)
}

// CorruptionError reports bytes in a segment that are not a whole record where
// one is required: anywhere in a segment that is not the last one, or a
// checksum-valid record with an unexpected LSN. A torn tail of the last
// segment is not a CorruptionError; Open repairs it.
type CorruptionError struct {
	Segment string // path of the segment file
	Offset  int64  // byte offset of the first invalid record
	Err     error  // what is wrong
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("wal: corrupt segment %s at offset %d: %v", e.Segment, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

func segName(first uint64) string { return fmt.Sprintf("%016x%s", first, segExt) }

// parseSegName returns the first LSN of a segment file name, or false if the
// name is not exactly a segment name.
func parseSegName(name string) (uint64, bool) {
	if len(name) != 16+len(segExt) {
		return 0, false
	}
	first, err := strconv.ParseUint(name[:16], 16, 64)
	if err != nil || segName(first) != name {
		return 0, false
	}
	return first, true
}

// listSegments returns the segments in dir, sorted by first LSN.
func listSegments(dir string) ([]segment, error) {
	entries, err := os.ReadDir(dir) // sorted by name, hence by LSN
	if err != nil {
		return nil, fmt.Errorf("wal: list segments: %w", err)
	}
	var segs []segment
	for _, e := range entries {
		first, ok := parseSegName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("wal: stat segment: %w", err)
		}
		segs = append(segs, segment{first: first, path: filepath.Join(dir, e.Name()), size: info.Size()})
	}
	return segs, nil
}

// createSegment creates an empty segment file, fsyncs it and the directory.
func createSegment(dir string, first uint64, noSync bool) (*os.File, segment, error) {
	seg := segment{first: first, path: filepath.Join(dir, segName(first))}
	f, err := os.OpenFile(seg.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, segment{}, fmt.Errorf("wal: create segment: %w", err)
	}
	if !noSync {
		err = errors.Join(f.Sync(), syncDir(dir))
	}
	if err != nil {
		_ = f.Close()
		return nil, segment{}, fmt.Errorf("wal: sync new segment %s: %w", seg.path, err)
	}
	return f, seg, nil
}

// syncDir fsyncs a directory so that created or removed entries are durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be fsynced there; NTFS journals entries
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("wal: open dir: %w", err)
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return fmt.Errorf("wal: sync dir: %w", err)
	}
	return d.Close()
}

// openActive opens the last segment for appending. It scans it for the last
// whole record and truncates a torn tail away. It returns the file positioned
// at the end, the segment with its repaired size, and the next LSN.
func openActive(seg segment, noSync bool) (*os.File, segment, uint64, error) {
	f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return nil, segment{}, 0, fmt.Errorf("wal: open segment: %w", err)
	}
	end, err := repairTail(f, seg, noSync)
	if err == nil {
		_, err = f.Seek(end.off, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return nil, segment{}, 0, err
	}
	seg.size = end.off
	return f, seg, end.next, nil
}

func repairTail(f *os.File, seg segment, noSync bool) (scanEnd, error) {
	s := newSegmentScanner(f, seg.size, seg.first)
	for {
		_, _, ok, err := s.next(false)
		if err != nil {
			return scanEnd{}, fmt.Errorf("wal: scan segment %s: %w", seg.path, err)
		}
		if !ok {
			break
		}
	}
	if errors.Is(s.end.tail, errLSN) {
		return scanEnd{}, &CorruptionError{Segment: seg.path, Offset: s.end.off, Err: s.end.tail}
	}
	if s.end.off == seg.size {
		return s.end, nil
	}
	if err := f.Truncate(s.end.off); err != nil {
		return scanEnd{}, fmt.Errorf("wal: truncate torn tail of %s: %w", seg.path, err)
	}
	if !noSync {
		if err := f.Sync(); err != nil {
			return scanEnd{}, fmt.Errorf("wal: sync repaired segment %s: %w", seg.path, err)
		}
	}
	return s.end, nil
}

// replaySegment calls fn for every record of seg, which must start at LSN
// seg.first and consist of whole records only. It returns the next LSN.
func replaySegment(seg segment, fn func(uint64, []byte) error) (uint64, error) {
	f, err := os.Open(seg.path)
	if err != nil {
		return 0, fmt.Errorf("wal: open segment: %w", err)
	}
	defer f.Close()
	s := newSegmentScanner(f, seg.size, seg.first)
	for {
		lsn, payload, ok, err := s.next(true)
		if err != nil {
			return 0, fmt.Errorf("wal: read segment %s: %w", seg.path, err)
		}
		if !ok {
			break
		}
		if err := fn(lsn, payload); err != nil {
			return 0, fmt.Errorf("wal: replay lsn %d: %w", lsn, err)
		}
	}
	if s.end.tail != nil {
		return 0, &CorruptionError{Segment: seg.path, Offset: s.end.off, Err: s.end.tail}
	}
	return s.end.next, nil
}

// removeSegment deletes a segment file and makes the deletion durable. A file
// that is already gone counts as deleted.
func removeSegment(dir string, seg segment, noSync bool) error {
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("wal: remove segment: %w", err)
	}
	if noSync {
		return nil
	}
	return syncDir(dir)
}
