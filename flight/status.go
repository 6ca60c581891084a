package flight

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/objstore"
	"github.com/miniodb/miniodb/query"
	"github.com/miniodb/miniodb/shard"
)

// Status turns an error of the layers below (ingest, query, catalog,
// object store) into the gRPC status a client sees. The message is the
// wrapped error's text, which names the table/column/value at fault. Every
// gRPC service of a node (Flight SQL, the OlapService, REST through its
// status mapping) answers with this one mapping.
func Status(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codeOf(err), err.Error())
}

func codeOf(err error) codes.Code {
	switch {
	case errors.Is(err, ingest.ErrInvalid), errors.Is(err, query.ErrInvalid), errors.Is(err, errBadTicket):
		return codes.InvalidArgument
	case errors.Is(err, ingest.ErrTableExists), errors.Is(err, catalog.ErrTableExists):
		return codes.AlreadyExists
	case errors.Is(err, ingest.ErrTableNotFound), errors.Is(err, catalog.ErrTableNotFound):
		return codes.NotFound
	case errors.Is(err, ingest.ErrTableLimit), errors.Is(err, ingest.ErrBackpressure), errors.Is(err, query.ErrResources):
		return codes.ResourceExhausted
	case errors.Is(err, ingest.ErrClosed), errors.Is(err, objstore.ErrUnavailable), errors.Is(err, catalog.ErrCatalogLost),
		errors.Is(err, shard.ErrNodeUnavailable), errors.Is(err, ErrPeerUnavailable):
		return codes.Unavailable
	case errors.Is(err, query.ErrRefused):
		return codes.PermissionDenied
	case errors.Is(err, ingest.ErrConflict):
		return codes.Aborted
	case errors.Is(err, query.ErrCanceled), errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	}
	return codes.Internal
}
