package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Query runs a SQL statement (Flight SQL CommandStatementQuery) and returns
// a stream of its result batches. Every endpoint of the returned FlightInfo
// is fetched with DoGet, in parallel when there are several; an endpoint
// that names locations is fetched from the first location that answers
// (dialed with this client's Options), otherwise from this connection.
//
// The Result must be released. Cancelling ctx aborts the stream.
func (c *Client) Query(ctx context.Context, sql string) (*Result, error) {
	info, err := c.sql.Execute(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("miniodb: query: %w", err)
	}
	return c.fetch(ctx, info)
}

func (c *Client) fetch(ctx context.Context, info *flight.FlightInfo) (*Result, error) {
	qctx, cancel := context.WithCancel(ctx)
	pool := newLocationPool(c)
	readers, err := openAll(qctx, pool, info.GetEndpoint())
	if err == nil {
		var schema *arrow.Schema
		if schema, err = resultSchema(info, readers); err == nil {
			return newResult(qctx, cancel, schema, readers, pool), nil
		}
		releaseReaders(readers)
	}
	cancel()
	return nil, fmt.Errorf("miniodb: query: %w", errors.Join(err, pool.close()))
}

func resultSchema(info *flight.FlightInfo, readers []*flight.Reader) (*arrow.Schema, error) {
	switch {
	case len(info.GetSchema()) > 0:
		return flight.DeserializeSchema(info.GetSchema(), memory.DefaultAllocator)
	case len(readers) > 0:
		return readers[0].Schema(), nil
	default:
		return arrow.NewSchema(nil, nil), nil
	}
}

// openAll starts a DoGet for every endpoint concurrently. On failure it
// releases the readers it opened and returns the first error in endpoint
// order.
func openAll(ctx context.Context, pool *locationPool, eps []*flight.FlightEndpoint) ([]*flight.Reader, error) {
	readers := make([]*flight.Reader, len(eps))
	errs := make([]error, len(eps))
	var wg sync.WaitGroup
	for i, ep := range eps {
		wg.Go(func() { readers[i], errs[i] = pool.open(ctx, ep) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			releaseReaders(readers)
			return nil, err
		}
	}
	return readers, nil
}

func releaseReaders(readers []*flight.Reader) {
	for _, r := range readers {
		if r != nil {
			r.Release()
		}
	}
}

// Result is the stream of record batches of a query. It implements
// array.RecordReader. Records of different endpoints may interleave; the
// records of one endpoint keep their order. A Result is not safe for
// concurrent use, and must be released.
type Result struct {
	refs    atomic.Int64
	schema  *arrow.Schema
	recs    chan arrow.RecordBatch
	cancel  context.CancelFunc
	readers []*flight.Reader
	pool    *locationPool
	cur     arrow.RecordBatch

	mu  sync.Mutex
	err error
}

var _ array.RecordReader = (*Result)(nil)

func newResult(ctx context.Context, cancel context.CancelFunc, schema *arrow.Schema, readers []*flight.Reader, pool *locationPool) *Result {
	r := &Result{
		schema:  schema,
		recs:    make(chan arrow.RecordBatch, len(readers)),
		cancel:  cancel,
		readers: readers,
		pool:    pool,
	}
	r.refs.Store(1)
	var wg sync.WaitGroup
	for _, rd := range readers {
		wg.Go(func() { r.pump(ctx, rd) })
	}
	go func() {
		wg.Wait()
		close(r.recs)
	}()
	return r
}

// pump forwards the records of one endpoint's stream to the channel.
func (r *Result) pump(ctx context.Context, rd *flight.Reader) {
	for rd.Next() {
		rec := rd.RecordBatch()
		rec.Retain()
		select {
		case r.recs <- rec:
		case <-ctx.Done():
			rec.Release()
			return
		}
	}
	if err := rd.Err(); err != nil {
		r.fail(err)
	}
}

func (r *Result) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = fmt.Errorf("miniodb: query: %w", err)
	}
	r.mu.Unlock()
	r.cancel()
}

// Schema returns the schema of the result: the one announced in the
// FlightInfo, else the first endpoint's.
func (r *Result) Schema() *arrow.Schema { return r.schema }

// Next advances to the next record batch. It returns false at the end of
// the stream or on error (see Err).
func (r *Result) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.Err() != nil {
		return false
	}
	rec, ok := <-r.recs
	if !ok {
		return false
	}
	if r.Err() != nil {
		rec.Release()
		return false
	}
	r.cur = rec
	return true
}

// RecordBatch returns the current batch. It is valid until the next call to
// Next or Release; retain it to keep it longer.
func (r *Result) RecordBatch() arrow.RecordBatch { return r.cur }

// Record returns the current batch.
//
// Deprecated: use RecordBatch (kept to implement array.RecordReader).
func (r *Result) Record() arrow.RecordBatch { return r.cur }

// Err returns the first error met by any endpoint stream, with its gRPC
// status.
func (r *Result) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Retain increments the reference count.
func (r *Result) Retain() { r.refs.Add(1) }

// Release decrements the reference count; at zero it cancels the streams
// still running and frees every resource of the result.
func (r *Result) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.cancel()
	for rec := range r.recs {
		rec.Release()
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	releaseReaders(r.readers)
	_ = r.pool.close()
}
