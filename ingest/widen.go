package ingest

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// WidenColumn changes an integer column of a table to float64, the one
// widening the row APIs need: a column that so far held whole numbers
// receives a fraction. Rows already buffered, in the WAL or in Parquet files
// keep their integer type there; buffered rows are cast when read (conform)
// and DuckDB unifies BIGINT and DOUBLE across files. Idempotent: a float64
// column is left alone. Any other type is refused with ErrInvalid.
func (s *Service) WidenColumn(ctx context.Context, table, column string) error {
	ts := s.table(table)
	if ts == nil {
		return fmt.Errorf("%w: %q", ErrTableNotFound, table)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	i, ok := fieldIndex(ts.schema)[strings.ToLower(column)]
	if !ok {
		return fmt.Errorf("%w: table %q has no column %q", ErrInvalid, table, column)
	}
	f := ts.schema.Field(i)
	if f.Type.ID() == arrow.FLOAT64 {
		return nil
	}
	if !arrow.IsInteger(f.Type.ID()) {
		return fmt.Errorf("%w: table %q column %q has type %s; only integer columns widen to double", ErrInvalid, table, f.Name, f.Type)
	}
	fields := append([]arrow.Field(nil), ts.schema.Fields()...)
	fields[i].Type = arrow.PrimitiveTypes.Float64
	schema := arrow.NewSchema(fields, nil)
	if err := s.cat.UpdateTable(ctx, ts.name, schema, ts.config); err != nil {
		return fmt.Errorf("widen column %s of table %s: %w", f.Name, ts.name, err)
	}
	ts.schema = schema
	return nil
}

// conformColumn returns col as typ: col itself when the types agree, else a
// cast (a column widened since the batch arrived). The result must be
// released.
func conformColumn(mem memory.Allocator, col arrow.Array, typ arrow.DataType) arrow.Array {
	if arrow.TypeEqual(col.DataType(), typ) {
		col.Retain()
		return col
	}
	ctx := compute.WithAllocator(context.Background(), mem)
	out, err := compute.CastArray(ctx, col, compute.UnsafeCastOptions(typ))
	if err != nil {
		panic(err) // NOTE: only integer -> float64 reaches here (WidenColumn), which always casts
	}
	return out
}
