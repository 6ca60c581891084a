package query

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/query/sandbox"
)

// A verbatim scan (sandbox.Analysis.Verbatim: SELECT * or bare columns of
// one table, no WHERE) answers with the table's stored values. When this
// node still holds a file's batches in memory (Config.Memory: the rows it
// flushed or decoded a moment ago), the scan streams those batches, cut to
// the selected columns, instead of having DuckDB decode the file and
// export the same values again; the buffer's batches are streamed the same
// way. A scan of every column decodes the other files of the table's
// current schema itself (filescan.go), after the batches; DuckDB reads
// what is left, last.
//
// The result schema is the one DuckDB described for the query
// (Describe's cache, which GetFlightInfo filled), so a client sees the
// same schema whichever way a batch came. A column is streamed from memory
// only when its Arrow type is exactly the described one; otherwise, and
// for a query this engine has not described yet, DuckDB runs the whole
// query (describing it on the way, for the next time).

// verbatim runs a verbatim scan, from memory where it can.
func (s *session) verbatim(ctx context.Context, run string, an *sandbox.Analysis) (*Stream, error) {
	key, ok := s.e.described.key(s.e.src, run, an)
	described, found := s.e.described.get(key)
	if !ok || !found {
		st, err := s.describeQuery(ctx, run, an, nil) // defines the views
		if err != nil {
			return nil, err
		}
		if ok {
			s.e.described.put(key, st)
		}
		return s.execute(ctx, run, nil)
	}
	out := described.Result
	sn, err := s.snapshot(ctx, an.Tables[0].Name)
	if err != nil {
		return nil, err
	}
	cols, ok := columnsOf(out, sn.Schema)
	if !ok {
		if err := s.defineView(ctx, 0, an.Tables[0].Name, sn); err != nil {
			return nil, err
		}
		return s.execute(ctx, run, nil)
	}
	var held []arrow.RecordBatch
	var decode, rest []catalog.File // decoded by filescan.go, read by DuckDB
	hash := ingest.SchemaHash(sn.Schema)
	decodable := coversAll(cols, sn.Schema.NumFields()) && s.e.readsBack(hash, sn.Schema)
	for _, f := range sn.Files {
		if f.SchemaHash == hash {
			if bs, ok := s.e.cfg.Memory.Get(f.Key); ok {
				if cut, ok := project(bs, cols, out); ok {
					held = append(held, cut...)
					continue
				}
			}
			if decodable {
				decode = append(decode, f)
				continue
			}
		}
		rest = append(rest, f)
	}
	buffered, ok := project(retained(sn.Batches), cols, out)
	if !ok { // conformed to sn.Schema, which columnsOf checked: not expected
		releaseBatches(held)
		return nil, fmt.Errorf("%w: buffer of %s does not have the table's schema", ErrInternal, sn.Table)
	}
	held = append(held, buffered...)
	st := &Stream{s: s, ctx: ctx, cap: resultCap{maxRows: s.e.cfg.MaxResultRows, maxBytes: s.e.cfg.MaxResultBytes}}
	if len(rest) > 0 {
		// DuckDB reads the files neither in memory nor decoded here,
		// after the rest.
		onDisk := &ingest.Snapshot{Table: sn.Table, Schema: sn.Schema, Files: rest, Node: sn.Node,
			FlushedLSN: sn.FlushedLSN, Incarnation: sn.Incarnation}
		if err := s.defineView(ctx, 0, an.Tables[0].Name, onDisk); err != nil {
			releaseBatches(held)
			return nil, err
		}
		if st, err = s.execute(ctx, run, nil); err != nil {
			releaseBatches(held)
			return nil, err
		}
	}
	st.schema, st.held = out, held
	if len(decode) > 0 {
		st.files = s.startFileScan(ctx, decode, sn.Schema, cols, out)
	}
	return st, nil
}

// firstRows bounds the first batch a stream takes from memory or from
// its own decoding (Stream.ahead): batches kept in memory are as large as
// their writers sent them (often tens of thousands of rows), a client
// waits for the whole first one before it sees a row, and a new
// connection's flow control lets a large first message through slowly.
const firstRows = 2048

// firstBytes bounds the first batch's size too: HTTP/2 lets 64 KiB of a new
// stream through before the client's first window update, which a busy
// client sends late (an execution trace of a cold lineitem scan showed the
// ≈ 370 KB first batch waiting 6 ms for it).
const firstBytes = 32 << 10

// columnsOf maps each field of the described result to the table column
// it shows (by name, as DuckDB names a bare column reference), requiring
// the same Arrow type.
func columnsOf(out, table *arrow.Schema) ([]int, bool) {
	cols := make([]int, out.NumFields())
	for i, f := range out.Fields() {
		cols[i] = -1
		for j, c := range table.Fields() {
			if c.Name == f.Name || (cols[i] < 0 && strings.EqualFold(c.Name, f.Name)) {
				cols[i] = j
			}
		}
		if cols[i] < 0 || !arrow.TypeEqual(table.Field(cols[i]).Type, f.Type) {
			return nil, false
		}
	}
	return cols, true
}

// project cuts batches to the columns cols under schema out, taking over
// the caller's references; ok is false (and every batch released) when a
// batch's columns do not have out's types.
func project(batches []arrow.RecordBatch, cols []int, out *arrow.Schema) ([]arrow.RecordBatch, bool) {
	defer releaseBatches(batches)
	cut := make([]arrow.RecordBatch, 0, len(batches))
	arrays := make([]arrow.Array, len(cols))
	for _, b := range batches {
		for i, c := range cols {
			if c >= int(b.NumCols()) || !arrow.TypeEqual(b.Column(c).DataType(), out.Field(i).Type) {
				releaseBatches(cut)
				return nil, false
			}
			arrays[i] = b.Column(c)
		}
		cut = append(cut, array.NewRecordBatch(out, arrays, b.NumRows()))
	}
	return cut, true
}

func retained(batches []arrow.RecordBatch) []arrow.RecordBatch {
	out := make([]arrow.RecordBatch, len(batches))
	for i, b := range batches {
		b.Retain()
		out[i] = b
	}
	return out
}

func releaseBatches(batches []arrow.RecordBatch) {
	for _, b := range batches {
		b.Release()
	}
}
