package wal

import "syscall"

// directFlag opens a file for direct I/O.
const directFlag = syscall.O_DIRECT
