// Package wal is the write-ahead log of the ingest path. Its one job is to
// make opaque payloads (Arrow IPC bytes prepared by the caller) durable in
// order, numbered by a log sequence number (LSN), and to hand them back after
// a restart.
//
// # Use
//
//	w, err := wal.Open(wal.Options{Dir: dir})
//	err = w.Replay(func(lsn uint64, payload []byte) error { ... }) // optional, before the first Append
//	p, err := w.Append(payload)                                     // LSN assigned now, write queued
//	err = p.Wait(ctx)                                               // returns once durable
//	err = w.TruncateBefore(lsn)                                     // after the data is persisted elsewhere
//	err = w.Close()
//
// # Invariants
//
//   - LSNs start at 1, are strictly increasing and have no gaps. Append assigns
//     the LSN synchronously, so callers that serialise their Append calls with
//     their own lock get LSNs in their call order.
//   - An append is acknowledged (Pending.Wait returns nil) only after the
//     record has been written and fsynced. Durability is always a prefix: every
//     LSN <= DurableLSN is durable.
//   - A single background goroutine does group commit: it takes every pending
//     record, writes them with one write, fsyncs once, and then wakes all their
//     waiters. The write bypasses the page cache (O_DIRECT) where the file
//     system allows it; Options.BufferedIO turns that off.
//   - A failed write or fsync breaks the WAL: that error is sticky, and every
//     later Append fails with it. Records that were never acknowledged may or
//     may not be replayed after a restart.
//   - Replay hands out every whole record once, in LSN order. Exactly-once
//     application is the caller's job: it skips LSNs it has already covered
//     (for example those at or below the LSN of its last flushed table).
//   - After a crash, the last segment may end in a torn record. Open truncates
//     it away, so a torn tail never makes Open or Replay fail. Invalid bytes in
//     any earlier segment are reported by Replay as *CorruptionError.
//   - A directory is used by at most one WAL at a time.
//
// # On-disk format
//
// The log is a directory of segment files. A segment is named after the first
// LSN it holds, as 16 lower-case hex digits plus ".wal" (fmt verb "%016x.wal",
// so names sort in LSN order), e.g. "0000000000000001.wal". The segment with
// the highest name is the active one; appends go to its end. Once the active
// segment exceeds Options.SegmentSize, the writer creates the next segment,
// named after the next LSN, fsyncs the new file and then fsyncs the
// directory, before it writes any record into it. A segment has no header: it
// is a sequence of records, and the LSNs of consecutive records (also across
// segments) differ by exactly one.
//
// Each record is a 20-byte header followed by the payload. Integers are
// little-endian.
//
//	offset  size  field
//	     0     4  magic "MWL1" (0x4d 0x57 0x4c 0x31); the "1" is the format version
//	     4     4  payload length n, uint32
//	     8     4  CRC-32C (Castagnoli) over bytes 12..20+n, i.e. the LSN followed by the payload
//	    12     8  LSN, uint64
//	    20     n  payload
//
//	+------+------+------+------+------+------+------+------+------+------+------+------+
//	| 'M'  | 'W'  | 'L'  | '1'  |        length n (u32)     |         crc32c (u32)      |
//	+------+------+------+------+------+------+------+------+------+------+------+------+
//	|                      lsn (u64)                        |  payload (n bytes) ...
//	+------+------+------+------+------+------+------+------+------ ...
//
// With direct I/O (direct.go) every group of records written at once ends
// with a padding record, so that the next write starts on a 4096-byte
// boundary: magic "MWLP" (0x4d 0x57 0x4c 0x50), a u32 filler length n,
// then n zero bytes; no LSN. Readers skip padding records wherever a record
// may start; one whose filler runs past the end is a torn tail.
//
// A record is whole when its header is complete, the magic matches, n bytes
// of payload follow, the CRC matches and the LSN is the expected one. Zeroes
// or a partially written record therefore never pass for a record: a zero
// tail fails the magic, a short tail fails the length check, and torn
// contents fail the CRC. A checksum-valid record with an unexpected LSN cannot
// come from a crash, so Open (in the last segment) and Replay report it as a
// *CorruptionError. The format is pinned by TestFormatGolden and is also
// described in docs/format/wal.md.
package wal
