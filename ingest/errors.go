package ingest

import "errors"

// ErrInvalid marks input that can never succeed as sent: a bad table or
// column name, an unsupported type, a type conflict, unsupported options.
var ErrInvalid = errors.New("invalid ingest")

// ErrTableExists marks an ingest refused because the table exists and the
// request said to fail in that case.
var ErrTableExists = errors.New("table already exists")

// ErrTableNotFound marks an ingest or query naming a table that does not
// exist when the request said not to create it.
var ErrTableNotFound = errors.New("table does not exist")

// ErrBackpressure marks an ingest refused because the buffers are at their
// memory cap (e.g. while the object store is unreachable).
var ErrBackpressure = errors.New("ingest buffers are full")

// ErrConflict marks an ingest refused because another node replaced or
// dropped the table while it ran; nothing was added.
var ErrConflict = errors.New("ingest conflicts with a concurrent change of the table")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("ingest service is closed")
