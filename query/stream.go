package query

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/miniodb/miniodb/ingest"
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
//
// With parameters, the statement runs once per parameter row and the
// results follow each other in one stream.
type Stream struct {
	s      *session
	ctx    context.Context // the query's; interrupts the connection when done
	stmt   bindings.PreparedStatement
	params arrow.RecordBatch // nil: no parameters
	row    int64             // the parameter row of the current execution
	res    bindings.Result
	rd     *chunkReader
	schema *arrow.Schema
	cur    arrow.RecordBatch
	// held are batches to stream before DuckDB's result, if any (a
	// verbatim scan's rows in memory, memscan.go), and files the files a
	// verbatim scan decodes itself (filescan.go), streamed after them; rd
	// is nil when there is no DuckDB result.
	held   []arrow.RecordBatch
	files  *fileScan
	begun  bool // a batch has been streamed
	err    error
	closed bool
	cap    resultCap
}

// execute prepares and starts the statement as a streaming result, bound
// to the first parameter row if there are parameters.
func (s *session) execute(ctx context.Context, sql string, params arrow.RecordBatch) (*Stream, error) {
	stmt, err := s.prepare(sql)
	if err != nil {
		return nil, err
	}
	if params != nil {
		params.Retain() // the stream binds its later rows after the caller returns
	}
	st := &Stream{s: s, ctx: ctx, stmt: stmt, params: params,
		cap: resultCap{maxRows: s.e.cfg.MaxResultRows, maxBytes: s.e.cfg.MaxResultBytes}}
	if err := st.start(); err != nil {
		bindings.DestroyPrepare(&st.stmt)
		bindings.DestroyResult(&st.res)
		st.releaseParams()
		return nil, s.e.memoryError(err)
	}
	st.schema = st.rd.schema
	if params != nil {
		st.schema = st.boundSchema()
	}
	return st, nil
}

// boundSchema is the schema of a parameterised stream: the prepared
// statement's declared result when DuckDB could type every column, so
// every parameter row's result (DuckDB re-binds with the values: a NULL
// can change a column's type) is cast to one schema, the one GetFlightInfo
// reported.
func (st *Stream) boundSchema() *arrow.Schema {
	declared, err := describedResult(st.s.conn, st.stmt)
	if err != nil || declared.NumFields() != st.rd.schema.NumFields() {
		return st.rd.schema
	}
	for _, f := range declared.Fields() {
		if f.Type.ID() == arrow.NULL {
			return st.rd.schema
		}
	}
	return declared
}

func (st *Stream) start() error {
	if err := bindParams(st.stmt, st.params, st.row); err != nil {
		return err
	}
	var pending bindings.PendingResult
	defer bindings.DestroyPending(&pending)
	if bindings.PendingPreparedStreaming(st.stmt, &pending) == bindings.StateError {
		return classifyMessage(bindings.PendingError(pending))
	}
	// ExecutePending runs the query until its first chunk can be fetched,
	// as duckdb-go does; ctx's cancellation interrupts it (session.go). An
	// interrupt that came before the pending query began was cleared by
	// it, hence the check first.
	if err := st.ctx.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrCanceled, err)
	}
	if bindings.ExecutePending(pending, &st.res) == bindings.StateError {
		if err := st.ctx.Err(); err != nil { // interrupted because the caller went away or cancelled
			return fmt.Errorf("%w: %v", ErrCanceled, err)
		}
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
func (st *Stream) Schema() *arrow.Schema { return st.schema }

// Next advances to the next batch; false at the end or on error (see Err).
func (st *Stream) Next() bool {
	if st.cur != nil {
		st.cur.Release()
		st.cur = nil
	}
	if st.err != nil || st.closed {
		return false
	}
	if b, err := st.ahead(); b != nil || err != nil {
		if err == nil {
			err = st.cap.add(b)
		}
		if err != nil {
			if b != nil {
				b.Release()
			}
			st.err = err
			return false
		}
		st.cur = b
		return true
	}
	if st.rd == nil {
		return false
	}
	for {
		st.cur, st.err = st.rd.next()
		if st.cur != nil && !st.cur.Schema().Equal(st.schema) {
			rec := st.cur
			st.cur, st.err = conformTo(rec, st.schema)
			rec.Release()
		}
		if st.cur != nil && st.err == nil {
			st.err = st.cap.add(st.cur)
		}
		if st.err != nil {
			st.err = st.s.e.memoryError(st.err)
			if st.cur != nil {
				st.cur.Release()
				st.cur = nil
			}
			return false
		}
		if st.cur != nil {
			return true
		}
		if !st.nextParams() {
			st.err = st.s.e.memoryError(st.err)
			return false
		}
	}
}

// ahead returns the next batch streamed before DuckDB's result: held,
// then the file scan's; nil when none is left. The stream's first batch
// is cut to firstRows rows.
func (st *Stream) ahead() (b arrow.RecordBatch, err error) {
	switch {
	case len(st.held) > 0:
		if err := st.ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCanceled, err)
		}
		b, st.held = st.held[0], st.held[1:]
	case st.files != nil:
		if b, err = st.files.next(); b == nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	if !st.begun {
		st.begun = true
		if n := firstCut(b); n < b.NumRows() {
			head, tail := b.NewSlice(0, n), b.NewSlice(n, b.NumRows())
			b.Release()
			b, st.held = head, append([]arrow.RecordBatch{tail}, st.held...)
		}
	}
	return b, nil
}

// firstCut is how many rows of b a stream's first batch takes: at most
// firstRows, and no more than fit in firstBytes.
func firstCut(b arrow.RecordBatch) int64 {
	n := min(b.NumRows(), firstRows)
	if size := ingest.BatchBytes(b); size > 0 {
		n = min(n, max(1, firstBytes*b.NumRows()/size))
	}
	return n
}

// nextParams runs the statement with the next parameter row, if any.
func (st *Stream) nextParams() bool {
	if st.params == nil || st.row+1 >= st.params.NumRows() {
		return false
	}
	st.rd.close()
	st.rd = nil
	bindings.DestroyResult(&st.res)
	st.row++
	if st.err = st.start(); st.err != nil {
		return false
	}
	return true
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
	st.releaseHeld()
	if st.files != nil {
		st.files.close()
	}
	if st.rd != nil {
		st.rd.close()
	}
	bindings.DestroyResult(&st.res)
	bindings.DestroyPrepare(&st.stmt)
	st.releaseParams()
	st.s.close()
}

func (st *Stream) releaseParams() {
	if st.params != nil {
		st.params.Release()
		st.params = nil
	}
}

func (st *Stream) releaseHeld() {
	releaseBatches(st.held)
	st.held = nil
}
