//go:build !linux

package wal

// directFlag is 0 where the WAL does not use direct I/O.
const directFlag = 0
