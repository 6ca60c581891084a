package query

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	bindings "github.com/duckdb/duckdb-go-bindings"
)

// chunkReader converts the chunks of a DuckDB result into Arrow batches.
type chunkReader struct {
	res    *bindings.Result
	opts   bindings.ArrowOptions
	schema *arrow.Schema
}

func newChunkReader(res *bindings.Result) (*chunkReader, error) {
	n := int(bindings.ColumnCount(res))
	names := make([]string, n)
	types := make([]bindings.LogicalType, n)
	for i := range n {
		names[i] = bindings.ColumnName(res, bindings.IdxT(i))
		types[i] = bindings.ColumnLogicalType(res, bindings.IdxT(i))
	}
	defer func() {
		for i := range types {
			bindings.DestroyLogicalType(&types[i])
		}
	}()
	opts := bindings.ResultGetArrowOptions(res)
	schema, ed := bindings.NewArrowSchema(opts, types, names)
	if err := errorData(ed); err != nil {
		bindings.DestroyArrowOptions(&opts)
		return nil, err
	}
	return &chunkReader{res: res, opts: opts, schema: schema}, nil
}

// next returns the next batch, or nil at the end of the result.
func (r *chunkReader) next() (arrow.RecordBatch, error) {
	chunk := bindings.FetchChunk(*r.res)
	if chunk.Ptr == nil {
		if msg := bindings.ResultError(r.res); msg != "" {
			return nil, classify(bindings.ResultErrorType(r.res), msg)
		}
		return nil, nil
	}
	defer bindings.DestroyDataChunk(&chunk)
	rec, ed := bindings.DataChunkToArrowArray(r.opts, r.schema, chunk)
	if err := errorData(ed); err != nil {
		return nil, err
	}
	return rec, nil
}

func (r *chunkReader) close() { bindings.DestroyArrowOptions(&r.opts) }

// Stream is a running query's result. It is not safe for concurrent use;
// Close must be called.
type Stream struct {
	s      *session
	stmt   bindings.PreparedStatement
	res    bindings.Result
	rd     *chunkReader
	cur    arrow.RecordBatch
	err    error
	closed bool
}

// execute prepares and starts the statement as a streaming result.
func (s *session) execute(ctx context.Context, sql string) (*Stream, error) {
	stmt, err := s.prepare(sql)
	if err != nil {
		return nil, err
	}
	st := &Stream{s: s, stmt: stmt}
	if err := st.start(ctx); err != nil {
		bindings.DestroyPrepare(&st.stmt)
		bindings.DestroyResult(&st.res)
		return nil, err
	}
	return st, nil
}

func (st *Stream) start(ctx context.Context) error {
	var pending bindings.PendingResult
	defer bindings.DestroyPending(&pending)
	if bindings.PendingPreparedStreaming(st.stmt, &pending) == bindings.StateError {
		return classifyMessage(bindings.PendingError(pending))
	}
	for {
		state := bindings.PendingExecuteTask(pending)
		if state == bindings.PendingStateError || bindings.PendingExecutionIsFinished(state) {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %v", ErrCanceled, ctx.Err())
		}
	}
	if bindings.ExecutePending(pending, &st.res) == bindings.StateError {
		return classify(bindings.ResultErrorType(&st.res), bindings.ResultError(&st.res))
	}
	rd, err := newChunkReader(&st.res)
	if err != nil {
		return err
	}
	st.rd = rd
	return nil
}

// Schema is the result's schema.
func (st *Stream) Schema() *arrow.Schema { return st.rd.schema }

// Next advances to the next batch; false at the end or on error (see Err).
func (st *Stream) Next() bool {
	if st.cur != nil {
		st.cur.Release()
		st.cur = nil
	}
	if st.err != nil || st.closed {
		return false
	}
	st.cur, st.err = st.rd.next()
	return st.cur != nil
}

// RecordBatch is the current batch, valid until the next call to Next.
func (st *Stream) RecordBatch() arrow.RecordBatch { return st.cur }

// Err is the error that ended the stream, if any.
func (st *Stream) Err() error { return st.err }

// Close ends the query and frees everything it held. Idempotent.
func (st *Stream) Close() {
	if st.closed {
		return
	}
	st.closed = true
	if st.cur != nil {
		st.cur.Release()
		st.cur = nil
	}
	st.rd.close()
	bindings.DestroyResult(&st.res)
	bindings.DestroyPrepare(&st.stmt)
	st.s.close()
}
