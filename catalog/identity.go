package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
)

// ErrCatalogLost is returned by a catalog whose identity is gone or is not
// the one it was opened with: its store was flushed (Redis FLUSHALL),
// replaced by another, or rolled back to an older state. Nothing was
// changed. An empty catalog is then not the truth about the data, and must
// not be served as such: the catalog has to be rebuilt from the objects or
// restored from a backup.
var ErrCatalogLost = errors.New("catalog: catalog identity lost (store flushed, replaced or rolled back)")

// Identified is implemented by catalogs that live outside the node (Redis)
// and can therefore vanish behind its back. The identity is a random ID
// written once, when the catalog is created; a node remembers it and
// refuses a catalog without it.
type Identified interface {
	// ID returns the identity stored in the catalog, "" if it has none
	// (never initialised, or wiped).
	ID(ctx context.Context) (string, error)
	// InitID gives a catalog without identity the identity id and binds
	// this handle to it. Idempotent for the same id; ErrCatalogLost if the
	// catalog already has another one.
	InitID(ctx context.Context, id string) error
}

// NewID returns a fresh random catalog identity (32 hex digits).
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
