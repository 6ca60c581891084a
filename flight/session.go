package flight

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/flight"

	"github.com/miniodb/miniodb/query"
)

// Session options are stateless: the service has one catalog and one
// schema, so "catalog" and "schema" accept exactly those names (any case)
// and always read back as them. Other option names are refused per option,
// as the protocol asks, without failing the call.

// sessionOptions are the options every session has, with their only value.
var sessionOptions = map[string]string{"catalog": query.Catalog, "schema": query.Schema}

// SetSessionOptions accepts catalog and schema when they name ours.
func (s *Server) SetSessionOptions(_ context.Context, req *flight.SetSessionOptionsRequest) (*flight.SetSessionOptionsResult, error) {
	res := &flight.SetSessionOptionsResult{Errors: map[string]*flight.SetSessionOptionsResultError{}}
	for name, v := range req.GetSessionOptions() {
		want, known := sessionOptions[strings.ToLower(name)]
		switch {
		case !known:
			res.Errors[name] = &flight.SetSessionOptionsResultError{Value: flight.SetSessionOptionsResultErrorInvalidName}
		case v.GetOptionValue() == nil: // unset: back to the default, which is the only value
		case !strings.EqualFold(v.GetStringValue(), want):
			res.Errors[name] = &flight.SetSessionOptionsResultError{Value: flight.SetSessionOptionsResultErrorInvalidValue}
		}
	}
	return res, nil
}

// GetSessionOptions reports catalog and schema.
func (s *Server) GetSessionOptions(context.Context, *flight.GetSessionOptionsRequest) (*flight.GetSessionOptionsResult, error) {
	opts := map[string]*flight.SessionOptionValue{}
	for name, v := range sessionOptions {
		val, _ := flight.NewSessionOptionValue(v) // a string never fails
		opts[name] = &val
	}
	return &flight.GetSessionOptionsResult{SessionOptions: opts}, nil
}

// CloseSession succeeds: there is nothing to close.
func (s *Server) CloseSession(context.Context, *flight.CloseSessionRequest) (*flight.CloseSessionResult, error) {
	return &flight.CloseSessionResult{Status: flight.CloseSessionResultClosed}, nil
}
