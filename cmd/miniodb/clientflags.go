package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	client "github.com/miniodb/miniodb/clients/go"
)

const defaultAddr = "127.0.0.1:8080"

// clientFlags are the connection flags shared by the client subcommands.
type clientFlags struct {
	addr, user, password, token string
	tls                         bool
	tlsCA                       string
}

// register adds --addr, --user, --password and --token to cmd.
func (f *clientFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", envOr("MINIODB_ADDR", defaultAddr), "server address host:port (env MINIODB_ADDR)")
	fl.StringVar(&f.user, "user", os.Getenv("MINIODB_USER"), "user name for Basic auth; exchanged for a token (env MINIODB_USER)")
	fl.StringVar(&f.password, "password", "", "password for --user (env MINIODB_PASSWORD)")
	fl.StringVar(&f.token, "token", "", "bearer token, used when --user is not set (env MINIODB_TOKEN)")
	fl.BoolVar(&f.tls, "tls", false, "connect with TLS, verifying the server with the system's roots (or --tls-ca)")
	fl.StringVar(&f.tlsCA, "tls-ca", "", "PEM file of the CA that signed the server's certificate (implies --tls)")
}

// options resolves the flags, falling back to the environment for secrets
// so that they need not appear in the process list or in --help.
func (f *clientFlags) options() (client.Options, error) {
	o := client.Options{
		Username: f.user,
		Password: valueOr(f.password, os.Getenv("MINIODB_PASSWORD")),
		Token:    valueOr(f.token, os.Getenv("MINIODB_TOKEN")),
	}
	if !f.tls && f.tlsCA == "" {
		return o, nil
	}
	o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	if f.tlsCA != "" {
		pemBytes, err := os.ReadFile(f.tlsCA)
		if err != nil {
			return o, fmt.Errorf("read --tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return o, fmt.Errorf("--tls-ca %s holds no PEM certificate", f.tlsCA)
		}
		o.TLS.RootCAs = pool
	}
	return o, nil
}

func (f *clientFlags) dial(ctx context.Context) (*client.Client, error) {
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(ctx, f.addr, opts)
	if err != nil {
		return nil, cliError("connect to "+f.addr, err)
	}
	return c, nil
}

func envOr(key, def string) string { return valueOr(os.Getenv(key), def) }

func valueOr(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// statusError presents a gRPC error as "what: Code: server message" while
// keeping the original error (and so its status) in the chain.
type statusError struct {
	what string
	st   *status.Status
	err  error
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.what, e.st.Code(), e.st.Message())
}

func (e *statusError) Unwrap() error { return e.err }

// cliError wraps err for the command line, with the server's status code
// and message when err carries one.
func cliError(what string, err error) error {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) && se.GRPCStatus() != nil {
		return &statusError{what: what, st: se.GRPCStatus(), err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}
