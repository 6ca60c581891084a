package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"
)

// Direct I/O. The writer opens the active segment with O_DIRECT where the
// file system allows it: a group then goes from the writer's buffer to the
// device without being copied into the page cache, which cost a node ingesting
// lineitem over a third of its CPU (perf; the copy, not the disk, was the
// bottleneck on 2 cores). O_DIRECT wants the buffer's address, the length
// and the file offset aligned, so group buffers are allocated on a
// directAlign boundary and every group ends with a padding record
// (appendPad) that makes the segment's size a multiple of directAlign.
// Where O_DIRECT is refused (EINVAL: a file system without it), the segment
// is written through the page cache as before, without padding.

// directAlign is the alignment of direct writes: the common page and
// physical sector size, a multiple of every logical block size.
const directAlign = 4096

// alignedBuf returns an empty slice with capacity n whose first byte sits
// on a directAlign boundary.
func alignedBuf(n int) []byte {
	raw := make([]byte, n+directAlign)
	off := int(-uintptr(unsafe.Pointer(&raw[0])) & (directAlign - 1))
	return raw[off : off : off+n]
}

// grow returns buf, or a copy of it on a directAlign boundary, with room for
// extra more bytes.
func grow(buf []byte, extra int) []byte {
	if cap(buf)-len(buf) >= extra {
		return buf
	}
	nb := alignedBuf(max(2*cap(buf), len(buf)+extra))
	return append(nb, buf...)
}

// reopenDirect opens f's file again with O_DIRECT, positioned at off, and
// closes f; it returns f itself, with false, where direct I/O is not
// available (or off is not aligned).
func reopenDirect(f *os.File, off int64) (*os.File, bool, error) {
	if directFlag == 0 || off%directAlign != 0 {
		return f, false, nil
	}
	d, err := openAt(f.Name(), directFlag, off)
	if errors.Is(err, syscall.EINVAL) {
		return f, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("wal: reopen segment for direct i/o: %w", err)
	}
	if err := f.Close(); err != nil {
		_ = d.Close()
		return nil, false, fmt.Errorf("wal: close segment: %w", err)
	}
	return d, true, nil
}

// reopenBuffered replaces a direct file whose write was refused by one
// that writes through the page cache, positioned at off.
func reopenBuffered(f *os.File, off int64) (*os.File, error) {
	b, err := openAt(f.Name(), 0, off)
	if err != nil {
		return nil, fmt.Errorf("wal: reopen segment: %w", err)
	}
	_ = f.Close()
	return b, nil
}

// openAt opens the segment at path for writing with the extra open flag,
// positioned at off.
func openAt(path string, flag int, off int64) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|flag, 0)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}
