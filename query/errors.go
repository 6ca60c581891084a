package query

import (
	"errors"
	"fmt"
	"strings"

	bindings "github.com/duckdb/duckdb-go-bindings"
)

// ErrRefused marks a statement the sandbox does not allow.
var ErrRefused = errors.New("statement refused")

// ErrInvalid marks a statement DuckDB cannot parse, bind or run as written.
var ErrInvalid = errors.New("invalid query")

// ErrCanceled marks a query interrupted because its caller went away.
var ErrCanceled = errors.New("query canceled")

// ErrResources marks a query that ran out of memory or other resources.
var ErrResources = errors.New("query out of resources")

// ErrInternal marks a failure inside the engine.
var ErrInternal = errors.New("query engine failure")

// classify wraps DuckDB's message in the sentinel matching its error type.
func classify(t bindings.ErrorType, msg string) error {
	var kind error
	switch t {
	case bindings.ErrorTypeInterrupt:
		kind = ErrCanceled
	case bindings.ErrorTypeOutOfMemory:
		kind = ErrResources
	case bindings.ErrorTypePermission:
		kind = ErrRefused
	case bindings.ErrorTypeInternal, bindings.ErrorTypeFatal, bindings.ErrorTypeErrorIO,
		bindings.ErrorTypeConnection, bindings.ErrorTypeNullPointer, bindings.ErrorTypeScheduler:
		kind = ErrInternal
	default:
		kind = ErrInvalid
	}
	return fmt.Errorf("%w: %s", kind, strings.TrimSpace(msg))
}

// classifyMessage is for the few C calls that return only a message; DuckDB
// prefixes messages with their error type ("Binder Error: ...").
func classifyMessage(msg string) error {
	switch {
	case strings.HasPrefix(msg, "Permission Error"):
		return classify(bindings.ErrorTypePermission, msg)
	case strings.HasPrefix(msg, "INTERRUPT Error"), strings.HasPrefix(msg, "Interrupt Error"):
		return classify(bindings.ErrorTypeInterrupt, msg)
	case strings.HasPrefix(msg, "Out of Memory Error"):
		return classify(bindings.ErrorTypeOutOfMemory, msg)
	case strings.HasPrefix(msg, "INTERNAL Error"), strings.HasPrefix(msg, "FATAL Error"):
		return classify(bindings.ErrorTypeInternal, msg)
	}
	return classify(bindings.ErrorTypeInvalid, msg)
}
