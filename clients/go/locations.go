package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/flight"
)

// locationPool holds the connections a query dials to fetch endpoints from
// other locations; they live as long as the query's Result.
type locationPool struct {
	base    *Client
	mu      sync.Mutex
	clients map[string]*Client
}

func newLocationPool(base *Client) *locationPool {
	return &locationPool{base: base, clients: map[string]*Client{}}
}

// open starts the DoGet of one endpoint, trying its locations in order.
func (p *locationPool) open(ctx context.Context, ep *flight.FlightEndpoint) (*flight.Reader, error) {
	locs := ep.GetLocation()
	if len(locs) == 0 {
		return p.base.sql.DoGet(ctx, ep.GetTicket())
	}
	var errs []error
	for _, loc := range locs {
		cl, err := p.client(ctx, loc.GetUri())
		if err == nil {
			var rd *flight.Reader
			if rd, err = cl.sql.DoGet(ctx, ep.GetTicket()); err == nil {
				return rd, nil
			}
		}
		errs = append(errs, fmt.Errorf("location %s: %w", loc.GetUri(), err))
	}
	return nil, errors.Join(errs...)
}

// client returns the connection for a location URI, dialing it on first use.
func (p *locationPool) client(ctx context.Context, uri string) (*Client, error) {
	if uri == "" || uri == flight.LocationReuseConnection {
		return p.base, nil
	}
	addr, opts, err := locationTarget(uri, p.base.opts)
	if err != nil {
		return nil, err
	}
	if addr == p.base.addr && opts.TLS == p.base.opts.TLS {
		return p.base, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cl, ok := p.clients[uri]; ok {
		return cl, nil
	}
	cl, err := Dial(ctx, addr, opts)
	if err != nil {
		return nil, err
	}
	p.clients[uri] = cl
	return cl, nil
}

func (p *locationPool) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for uri, cl := range p.clients {
		errs = append(errs, cl.Close())
		delete(p.clients, uri)
	}
	return errors.Join(errs...)
}

// locationTarget maps a Flight location URI to a gRPC target and the
// options to dial it with: grpc://, grpc+tcp:// keep the client's options,
// grpc+tls:// forces TLS (the client's config, else the system roots), and
// grpc+unix:///path dials a Unix socket.
func locationTarget(uri string, opts Options) (string, Options, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", opts, fmt.Errorf("bad location %q: %w", uri, err)
	}
	switch u.Scheme {
	case "grpc", "grpc+tcp", "grpc+tls":
		if u.Host == "" {
			return "", opts, fmt.Errorf("bad location %q: no host", uri)
		}
		if u.Scheme == "grpc+tls" && opts.TLS == nil {
			opts.TLS = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		}
		return u.Host, opts, nil
	case "grpc+unix":
		return "unix://" + u.Path, opts, nil
	default:
		return "", opts, fmt.Errorf("unsupported location scheme in %q", uri)
	}
}
