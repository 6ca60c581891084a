package duckwrite

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/miniodb/miniodb/duckarrow"
)

// Writer writes Parquet files through one in-memory DuckDB database. It
// is safe for concurrent use: each Write has its own connection.
type Writer struct {
	db bindings.Database
	// scans numbers the Arrow scan views, which DuckDB keeps per
	// database, not per connection.
	scans atomic.Uint64
}

// Open starts a DuckDB database that runs each Write on one thread:
// callers write files in parallel, and one thread per file was the
// fastest way to use the cores (two files at once on two cores: 1.5 s;
// two threads per file: 1.9 s). It holds a row group of each file being
// written, like arrow-go's writer, under DuckDB's default memory limit,
// and never spills to disk.
func Open() (*Writer, error) {
	w := &Writer{}
	if bindings.Open("", &w.db) == bindings.StateError {
		return nil, errors.New("duckwrite: open duckdb")
	}
	settings := []string{"SET threads = 1", "SET temp_directory = ''", "SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false"}
	err := w.withConn(func(conn bindings.Connection) error {
		for _, s := range settings {
			if err := exec(conn, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		bindings.Close(&w.db)
		return nil, err
	}
	return w, nil
}

// Close closes the database.
func (w *Writer) Close() { bindings.Close(&w.db) }

// Write writes batches, all of schema, to path as one LZ4_RAW-compressed
// Parquet file with row groups of rowGroupRows rows (0: DuckDB's default),
// meta as the footer's key-value metadata, and schema stored under
// ARROW:schema. The caller keeps its batches. Only a schema Supports
// accepts may be written. Cancelling ctx interrupts the write, which then
// leaves a partial file at path for the caller to remove.
func (w *Writer) Write(ctx context.Context, path string, schema *arrow.Schema, batches []arrow.RecordBatch, rowGroupRows int, meta map[string]string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !Supports(schema) {
		return fmt.Errorf("duckwrite: schema %s has types DuckDB does not round-trip", schema)
	}
	meta = maps.Clone(meta)
	if meta == nil {
		meta = map[string]string{}
	}
	meta["ARROW:schema"] = base64.StdEncoding.EncodeToString(flight.SerializeSchema(schema, memory.DefaultAllocator))
	name := fmt.Sprintf("__duckwrite_%d", w.scans.Add(1))
	return w.withConn(func(conn bindings.Connection) error {
		stop := duckarrow.InterruptOnDone(ctx, conn)
		err := duckarrow.With(conn, name, schema, batches, func() error {
			return exec(conn, copySQL(name, path, rowGroupRows, meta))
		})
		stop() // before the connection is closed
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return err
	})
}

// copySQL is the COPY statement writing view name to path.
func copySQL(name, path string, rowGroupRows int, meta map[string]string) string {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]string, len(keys))
	for i, k := range keys {
		kv[i] = duckarrow.Ident(k) + ": " + duckarrow.String(meta[k])
	}
	opts := []string{"FORMAT parquet", "COMPRESSION lz4_raw", "KV_METADATA {" + strings.Join(kv, ", ") + "}"}
	if rowGroupRows > 0 {
		opts = append(opts, fmt.Sprintf("ROW_GROUP_SIZE %d", rowGroupRows))
	}
	return fmt.Sprintf("COPY (SELECT * FROM %s) TO %s (%s)", duckarrow.Ident(name), duckarrow.String(path), strings.Join(opts, ", "))
}

func (w *Writer) withConn(f func(bindings.Connection) error) error {
	var conn bindings.Connection
	if bindings.Connect(w.db, &conn) == bindings.StateError {
		return errors.New("duckwrite: connect to duckdb")
	}
	defer bindings.Disconnect(&conn)
	return f(conn)
}

func exec(conn bindings.Connection, sql string) error {
	var res bindings.Result
	defer bindings.DestroyResult(&res)
	if bindings.Query(conn, sql, &res) == bindings.StateError {
		return fmt.Errorf("duckwrite: %s", bindings.ResultError(&res))
	}
	return nil
}

// Supports is the package's Supports, for callers that take the Writer
// as an interface.
func (w *Writer) Supports(schema *arrow.Schema) bool { return Supports(schema) }

// Supports reports whether every column of schema is of a type DuckDB's
// Arrow scan takes and its Parquet writer stores so that arrow-go reads
// it back as the same Arrow type (writer_test.go checks each).
// Column names must differ in more than case: DuckDB's identifiers do
// not, and it would rename one of the columns.
func Supports(schema *arrow.Schema) bool {
	names := map[string]bool{}
	for _, f := range schema.Fields() {
		lower := strings.ToLower(f.Name)
		if !supported(f.Type) || names[lower] {
			return false
		}
		names[lower] = true
	}
	return true
}

func supported(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY, arrow.DATE32:
		return true
	case arrow.DECIMAL128:
		return t.(*arrow.Decimal128Type).Precision <= 38
	case arrow.TIMESTAMP:
		// DuckDB stores seconds, and every unit with a time zone
		// (TIMESTAMPTZ), as microseconds.
		ts := t.(*arrow.TimestampType)
		return ts.Unit == arrow.Microsecond || (ts.TimeZone == "" && ts.Unit != arrow.Second)
	}
	return false
}
