package duckarrow

// #include <stdlib.h>
import "C"

import (
	"context"
	"fmt"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/cdata"
	bindings "github.com/duckdb/duckdb-go-bindings"
)

// With registers view, an Arrow scan of batches (all of schema), on conn,
// runs f, then drops the view. DuckDB keeps these views per database, not
// per connection: view must be a name no concurrent caller uses.
//
// The view can be read once, by one SELECT * (DuckDB pushes projections
// and filters into the scan, which the C API's stream producer ignores).
// The caller keeps its batches.
func With(conn bindings.Connection, view string, schema *arrow.Schema, batches []arrow.RecordBatch, f func() error) error {
	rdr, err := array.NewRecordReader(schema, batches)
	if err != nil {
		return fmt.Errorf("batch reader: %w", err)
	}
	defer rdr.Release()
	stream := C.calloc(1, C.size_t(unsafe.Sizeof(cdata.CArrowArrayStream{})))
	defer func() {
		cdata.ReleaseCArrowArrayStream((*cdata.CArrowArrayStream)(stream))
		C.free(stream)
	}()
	cdata.ExportRecordReader(rdr, (*cdata.CArrowArrayStream)(stream))
	if bindings.ArrowScan(conn, view, bindings.ArrowStream{Ptr: stream}) == bindings.StateError {
		return fmt.Errorf("register arrow scan %s", view)
	}
	// The view goes before the stream behind it is released (deferred
	// above, so it runs after this).
	defer func() {
		var res bindings.Result
		bindings.Query(conn, "DROP VIEW IF EXISTS "+Ident(view), &res)
		bindings.DestroyResult(&res)
	}()
	return f()
}

// InterruptOnDone interrupts what conn runs when ctx ends. The returned
// stop returns once no interrupt can touch conn any more (one already
// running is waited for), so conn can be disconnected after it.
func InterruptOnDone(ctx context.Context, conn bindings.Connection) (stop func()) {
	interrupted := make(chan struct{})
	after := context.AfterFunc(ctx, func() {
		defer close(interrupted)
		bindings.Interrupt(conn)
	})
	return func() {
		if !after() {
			<-interrupted
		}
	}
}

// Ident quotes an identifier for DuckDB's SQL.
func Ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// String quotes a string literal for DuckDB's SQL.
func String(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
