package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
)

const (
	headerSize = 20
	// maxPayload is the largest payload the u32 length field can describe.
	maxPayload = math.MaxUint32
)

// magic starts every record: "MWL1", format version 1.
const magic = "MWL1"

// padMagic starts a padding record: "MWLP", a u32 filler length n, then n
// filler bytes. It carries no LSN and no payload; the writer ends a group
// with one so that the next write starts on a directAlign boundary (direct
// I/O, direct.go). Readers skip it.
const (
	padMagic  = "MWLP"
	padHeader = 8
)

// appendPad appends the padding record that makes len(buf) a multiple of
// align (a power of two); buf is returned as it is when it already is one.
func appendPad(buf []byte, align int) []byte {
	if len(buf)%align == 0 {
		return buf
	}
	n := -(len(buf) + padHeader) & (align - 1)
	var h [padHeader]byte
	copy(h[0:4], padMagic)
	binary.LittleEndian.PutUint32(h[4:8], uint32(n))
	buf = slices.Grow(append(buf, h[:]...), n)
	start := len(buf)
	buf = buf[:start+n]
	clear(buf[start:])
	return buf
}

// crc32c extends crc with b using CRC-32C (Castagnoli). The standard library
// builds the table once and returns the same one on every call.
func crc32c(crc uint32, b []byte) uint32 {
	return crc32.Update(crc, crc32.MakeTable(crc32.Castagnoli), b)
}

// Reasons why the bytes at some offset are not a whole record. They only
// reach callers inside a *CorruptionError, whose message has the "wal: " prefix.
var (
	errTornHeader  = errors.New("torn record header")
	errBadMagic    = errors.New("bad record magic")
	errTornPayload = errors.New("record length runs past end of segment")
	errChecksum    = errors.New("record checksum mismatch")
	errLSN         = errors.New("record has an unexpected lsn")
)

// recordSize is the number of bytes a record with an n-byte payload takes.
func recordSize(n int) int64 { return headerSize + int64(n) }

// appendRecord encodes one record and appends it to buf.
func appendRecord(buf []byte, lsn uint64, payload []byte) []byte {
	var h [headerSize]byte
	copy(h[0:4], magic)
	binary.LittleEndian.PutUint32(h[4:8], uint32(len(payload)))
	binary.LittleEndian.PutUint64(h[12:20], lsn)
	binary.LittleEndian.PutUint32(h[8:12], crc32c(crc32c(0, h[12:20]), payload))
	buf = append(buf, h[:]...)
	return append(buf, payload...)
}

// header is a decoded record header.
type header struct {
	length uint32
	crc    uint32
	lsn    uint64
}

func decodeHeader(h []byte) (header, error) {
	if string(h[0:4]) != magic {
		return header{}, errBadMagic
	}
	return header{
		length: binary.LittleEndian.Uint32(h[4:8]),
		crc:    binary.LittleEndian.Uint32(h[8:12]),
		lsn:    binary.LittleEndian.Uint64(h[12:20]),
	}, nil
}

// verify checks the CRC of a record whose header and payload were read.
func (h header) verify(rawLSN, payload []byte) error {
	if crc32c(crc32c(0, rawLSN), payload) != h.crc {
		return errChecksum
	}
	return nil
}

// scanEnd says where a segment scan stopped.
type scanEnd struct {
	off  int64  // offset just past the last whole record
	next uint64 // LSN expected after the last whole record
	tail error  // why the bytes at off are not a record; nil if the segment ended there
}

// segmentScanner reads the records of one segment in order.
type segmentScanner struct {
	r    *bufio.Reader
	size int64
	end  scanEnd
	hdr  [headerSize]byte
	buf  []byte // reused payload buffer when the caller does not keep payloads
}

func newSegmentScanner(r io.ReaderAt, size int64, first uint64) *segmentScanner {
	sr := io.NewSectionReader(r, 0, size)
	return &segmentScanner{
		r:    bufio.NewReaderSize(sr, 256<<10),
		size: size,
		end:  scanEnd{next: first},
	}
}

// next reads the next whole record. It returns ok=false when the segment has
// ended or the remaining bytes are not a whole record (see s.end.tail); err is
// only set for I/O errors. With keep set the payload is freshly allocated,
// otherwise it is only valid until the next call.
func (s *segmentScanner) next(keep bool) (lsn uint64, payload []byte, ok bool, err error) {
	left, err := s.skipPads()
	if err != nil || left == 0 {
		return 0, nil, false, err
	}
	if left < headerSize {
		s.end.tail = errTornHeader
		return 0, nil, false, nil
	}
	if _, err := io.ReadFull(s.r, s.hdr[:]); err != nil {
		return 0, nil, false, fmt.Errorf("wal: read record header: %w", err)
	}
	h, err := decodeHeader(s.hdr[:])
	if err != nil {
		s.end.tail = err
		return 0, nil, false, nil
	}
	if int64(h.length) > left-headerSize {
		s.end.tail = errTornPayload
		return 0, nil, false, nil
	}
	payload, err = s.readPayload(int(h.length), keep)
	if err != nil {
		return 0, nil, false, err
	}
	if s.end.tail = s.check(h, payload); s.end.tail != nil {
		return 0, nil, false, nil
	}
	s.end.off += recordSize(len(payload))
	s.end.next++
	return h.lsn, payload, true, nil
}

// skipPads steps over padding records and returns the bytes left after
// them. A padding record whose filler runs past the end is a torn tail.
func (s *segmentScanner) skipPads() (int64, error) {
	for {
		left := s.size - s.end.off
		if left < padHeader {
			return left, nil
		}
		h, err := s.r.Peek(padHeader)
		if err != nil {
			return 0, fmt.Errorf("wal: read record header: %w", err)
		}
		if string(h[0:4]) != padMagic {
			return left, nil
		}
		n := int64(binary.LittleEndian.Uint32(h[4:8]))
		if n > left-padHeader {
			s.end.tail = errTornPayload
			return 0, nil
		}
		if _, err := s.r.Discard(int(padHeader + n)); err != nil {
			return 0, fmt.Errorf("wal: skip padding: %w", err)
		}
		s.end.off += padHeader + n
	}
}

func (s *segmentScanner) readPayload(n int, keep bool) ([]byte, error) {
	var p []byte
	if keep {
		p = make([]byte, n)
	} else {
		if cap(s.buf) < n {
			s.buf = make([]byte, n)
		}
		p = s.buf[:n]
	}
	if _, err := io.ReadFull(s.r, p); err != nil {
		return nil, fmt.Errorf("wal: read record payload: %w", err)
	}
	return p, nil
}

func (s *segmentScanner) check(h header, payload []byte) error {
	if err := h.verify(s.hdr[12:20], payload); err != nil {
		return err
	}
	if h.lsn != s.end.next {
		return fmt.Errorf("%w: got %d, want %d", errLSN, h.lsn, s.end.next)
	}
	return nil
}
