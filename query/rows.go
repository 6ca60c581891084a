package query

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/miniodb/miniodb/duckarrow"
)

// Rows are the rows an INSERT or CREATE TABLE ... AS statement writes,
// evaluated by DuckDB under the sandbox and not yet stored anywhere: the
// caller hands them to ingest (Rows is an ingest.BatchReader). Close must
// be called.
type Rows struct {
	table  string
	schema *arrow.Schema
	st     *Stream
	cur    arrow.RecordBatch
	err    error
}

// Table is the table the rows go to.
func (r *Rows) Table() string { return r.table }

// Schema is the rows' schema: the target table's for an INSERT, the
// query's for CREATE TABLE ... AS.
func (r *Rows) Schema() *arrow.Schema { return r.schema }

// Next advances to the next batch; false at the end or on error.
func (r *Rows) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil || !r.st.Next() {
		return false
	}
	r.cur, r.err = conformTo(r.st.RecordBatch(), r.schema)
	return r.err == nil
}

// RecordBatch is the current batch, valid until the next call to Next.
func (r *Rows) RecordBatch() arrow.RecordBatch { return r.cur }

// Err is the error that ended the rows, if any.
func (r *Rows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.st.Err()
}

// Close frees the query. Idempotent.
func (r *Rows) Close() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.st.Close()
}

// Rows evaluates the rows of an INSERT or CREATE TABLE ... AS statement,
// once per parameter row of params (nil: no parameters), all in one
// stream. Other statements are refused with ErrInvalid.
func (e *Engine) Rows(ctx context.Context, sql string, params arrow.RecordBatch) (_ *Rows, err error) {
	s, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	c, err := s.classify(sql)
	if err != nil {
		return nil, err
	}
	switch d := c.ddl.(type) {
	case *insertInto:
		return s.insertRows(ctx, d, params)
	case *createTable:
		if d.asQuery != "" {
			return s.queryRows(ctx, d.name, d.asQuery, params)
		}
	}
	return nil, fmt.Errorf("%w: the statement does not insert rows", ErrInvalid)
}

func (s *session) queryRows(ctx context.Context, table, sql string, params arrow.RecordBatch) (*Rows, error) {
	if err := checkTable(table); err != nil {
		return nil, err
	}
	an, run, err := s.analyze(sql)
	if err != nil {
		return nil, err
	}
	if err := s.define(ctx, an); err != nil {
		return nil, err
	}
	st, err := s.execute(ctx, run, params)
	if err != nil {
		return nil, err
	}
	return &Rows{table: table, schema: st.Schema(), st: st}, nil
}

// insertRows runs the prepared INSERT into the connection's TEMP TABLE
// once per parameter row, then streams that table's rows.
func (s *session) insertRows(ctx context.Context, d *insertInto, params arrow.RecordBatch) (*Rows, error) {
	stmt, schema, err := s.prepareInsert(ctx, d)
	if err != nil {
		return nil, err
	}
	defer bindings.DestroyPrepare(&stmt)
	runs := int64(1)
	if params != nil {
		runs = params.NumRows()
	}
	for r := range runs {
		if err := bindParams(stmt, params, r); err != nil {
			return nil, err
		}
		if err := execPrepared(stmt); err != nil {
			return nil, fmt.Errorf("INSERT INTO %s: %w", d.name, err)
		}
	}
	st, err := s.execute(ctx, "SELECT * FROM "+duckarrow.Ident(insertTarget), nil)
	if err != nil {
		return nil, err
	}
	return &Rows{table: d.name, schema: schema, st: st}, nil
}

func execPrepared(stmt bindings.PreparedStatement) error {
	var res bindings.Result
	defer bindings.DestroyResult(&res)
	if bindings.ExecutePrepared(stmt, &res) == bindings.StateError {
		return classify(bindings.ResultErrorType(&res), bindings.ResultError(&res))
	}
	return nil
}

// emptyTable creates an empty TEMP TABLE with DuckDB's types for an Arrow
// schema, mapped as buffers are (copyBatches of no batches).
func (s *session) emptyTable(name string, schema *arrow.Schema) error {
	return s.copyBatches(name, schema, nil)
}

// conformTo casts a batch DuckDB produced to the target schema, column by
// column (DuckDB returns Utf8 for a LargeUtf8 column, Date32 for Date64,
// ...), so ingest sees exactly the table's types.
func conformTo(rec arrow.RecordBatch, schema *arrow.Schema) (arrow.RecordBatch, error) {
	if int(rec.NumCols()) != schema.NumFields() {
		return nil, fmt.Errorf("%w: %d columns for a table of %d", ErrInternal, rec.NumCols(), schema.NumFields())
	}
	ctx := compute.WithAllocator(context.Background(), memory.DefaultAllocator)
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range rec.Columns() {
		want := schema.Field(i).Type
		if arrow.TypeEqual(c.DataType(), want) {
			c.Retain()
			cols[i] = c
			continue
		}
		out, err := compute.CastArray(ctx, c, compute.SafeCastOptions(want))
		if err != nil {
			return nil, fmt.Errorf("%w: column %q: cannot store %s as %s: %v", ErrInvalid, schema.Field(i).Name, c.DataType(), want, err)
		}
		cols[i] = out
	}
	return array.NewRecordBatch(schema, cols, rec.NumRows()), nil
}
