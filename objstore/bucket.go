package objstore

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned (wrapped) when an object does not exist.
var ErrNotFound = errors.New("objstore: object not found")

// ErrUnavailable is returned (wrapped) when the object store cannot be
// reached: retries are exhausted or the endpoint's circuit breaker is open.
// The call may succeed later; nothing was changed by it.
var ErrUnavailable = errors.New("objstore: object store unavailable")

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key      string
	Size     int64
	Modified time.Time
	ETag     string // opaque version tag of backends that have one (S3); "" otherwise
}

// BucketReader is the read half of a Bucket; queries only need this.
type BucketReader interface {
	// Get opens an object for reading; ErrNotFound if it is missing.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// GetRange reads length bytes from offset (length < 0: to the end).
	GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Stat describes an object; ErrNotFound if it is missing.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List calls fn for every object whose key starts with prefix, in key
	// order. Stops at and returns fn's first error.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
}

// Bucket is an object store.
type Bucket interface {
	BucketReader
	// Put stores an object atomically, replacing any object of that key.
	// size is the number of bytes r yields (-1 if unknown).
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Delete removes an object. Deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
}

// Exists reports whether key exists, turning not-found into (false, nil).
func Exists(ctx context.Context, b BucketReader, key string) (bool, error) {
	_, err := b.Stat(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
