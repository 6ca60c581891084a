package api

import (
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/miniodb/miniodb/flight"
	"github.com/miniodb/miniodb/query"
)

// errUnimplementedBackup is what the backup and recovery calls answer until
// the backup service exists.
var errUnimplementedBackup = status.Error(codes.Unimplemented,
	"backup and recovery are not available in this build of MinIODB yet; no backup was taken and nothing was restored")

// invalidf is an InvalidArgument status naming what is wrong.
func invalidf(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// toStatus is the node-wide mapping of errors to gRPC statuses.
func toStatus(err error) error { return flight.Status(err) }

// httpStatus is the HTTP status of a gRPC code, as grpc-gateway maps them.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499 // client closed request
	case codes.InvalidArgument, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.FailedPrecondition:
		return http.StatusPreconditionFailed
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// httpError is an error with its own HTTP status, for the few REST failures
// that have no gRPC counterpart (413, 405, 406, 415).
type httpError struct {
	status int
	code   codes.Code
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func httpErrorf(httpStatus int, code codes.Code, format string, args ...any) error {
	return &httpError{status: httpStatus, code: code, msg: fmt.Sprintf(format, args...)}
}

// restStatus returns the HTTP status, gRPC code and message of err.
func restStatus(err error) (int, codes.Code, string) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, he.code, he.msg
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge, codes.ResourceExhausted,
			fmt.Sprintf("request body exceeds the limit of %d bytes (server.max_request_bytes)", tooBig.Limit)
	}
	if errors.Is(err, query.ErrResultTooLarge) {
		return http.StatusRequestEntityTooLarge, codes.ResourceExhausted, err.Error()
	}
	st := status.Convert(toStatus(err))
	return httpStatus(st.Code()), st.Code(), st.Message()
}
