package flight

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Statement handles (docs/format/ticket.md). The server keeps no state
// between calls: a handle carries everything needed to run its statement.
//
//	version 1:  0x01 | SQL (UTF-8)                       (earlier tickets; still read)
//	version 2:  0x02 | kind u8 | id [16]byte | body
//	  kind 1 (statement): SQL length u32 LE | SQL | parameters (Arrow IPC stream, may be absent)
//	  kind 2 (result):    affected rows i64 LE
//
// The id is random per handle; CancelFlightInfo finds a running query by
// it. A kind 2 handle is the result of a DDL/DML statement already run by
// GetFlightInfo; DoGet only reports its row count.
const (
	handleV1 byte = 1
	handleV2 byte = 2

	kindStatement byte = 1
	kindResult    byte = 2

	idLen       = 16
	v2HeaderLen = 2 + idLen
)

// errBadTicket marks a statement handle this server did not make.
var errBadTicket = errors.New("malformed statement handle")

// handle is a decoded statement handle.
type handle struct {
	kind   byte
	id     [idLen]byte
	sql    string
	params arrow.RecordBatch // kindStatement: bound parameters, or nil
	rows   int64             // kindResult: affected rows
}

func newID() [idLen]byte {
	var id [idLen]byte
	rand.Read(id[:]) // never fails (crypto/rand)
	return id
}

// statementHandle returns a new handle for sql with parameters (may be
// nil), under a fresh id.
func statementHandle(sql string, params arrow.RecordBatch) handle {
	return handle{kind: kindStatement, id: newID(), sql: sql, params: params}
}

// resultHandle returns a new handle reporting an update's row count.
func resultHandle(rows int64) handle {
	return handle{kind: kindResult, id: newID(), rows: rows}
}

// release frees the parameters a decoded handle holds.
func (h *handle) release() {
	if h.params != nil {
		h.params.Release()
		h.params = nil
	}
}

// encode lays the handle out in version 2.
func (h handle) encode() ([]byte, error) {
	b := append([]byte{handleV2, h.kind}, h.id[:]...)
	if h.kind == kindResult {
		return binary.LittleEndian.AppendUint64(b, uint64(h.rows)), nil
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(h.sql)))
	b = append(b, h.sql...)
	if h.params == nil {
		return b, nil
	}
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(h.params.Schema()))
	if err := w.Write(h.params); err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	return append(b, buf.Bytes()...), nil
}

// decodeHandle reads a handle of either version; the result must be
// released.
func decodeHandle(b []byte, mem memory.Allocator) (handle, error) {
	if len(b) >= 2 && b[0] == handleV1 {
		if !utf8.Valid(b[1:]) {
			return handle{}, errBadTicket
		}
		return handle{kind: kindStatement, sql: string(b[1:])}, nil
	}
	if len(b) < v2HeaderLen || b[0] != handleV2 {
		return handle{}, errBadTicket
	}
	h := handle{kind: b[1]}
	copy(h.id[:], b[2:v2HeaderLen])
	body := b[v2HeaderLen:]
	switch h.kind {
	case kindResult:
		if len(body) != 8 {
			return handle{}, errBadTicket
		}
		h.rows = int64(binary.LittleEndian.Uint64(body))
		return h, nil
	case kindStatement:
		return h, decodeStatement(&h, body, mem)
	}
	return handle{}, errBadTicket
}

func decodeStatement(h *handle, body []byte, mem memory.Allocator) error {
	if len(body) < 4 {
		return errBadTicket
	}
	n := binary.LittleEndian.Uint32(body)
	body = body[4:]
	if uint64(n) > uint64(len(body)) || n == 0 || !utf8.Valid(body[:n]) {
		return errBadTicket
	}
	h.sql, body = string(body[:n]), body[n:]
	if len(body) == 0 {
		return nil
	}
	params, err := readParams(bytes.NewReader(body), mem)
	if err != nil {
		return fmt.Errorf("%w: parameters: %v", errBadTicket, err)
	}
	h.params = params
	return nil
}

// readParams reads an Arrow IPC stream of parameter rows into one batch.
func readParams(r *bytes.Reader, mem memory.Allocator) (arrow.RecordBatch, error) {
	rdr, err := ipc.NewReader(r, ipc.WithAllocator(mem))
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	return concatBatches(rdr, mem)
}

// batchReader is the part of an Arrow stream reader concatBatches needs.
type batchReader interface {
	Schema() *arrow.Schema
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
}

// concatBatches reads every batch of a stream into one batch (the bound
// parameter sets of a prepared statement: usually one row).
func concatBatches(rdr batchReader, mem memory.Allocator) (arrow.RecordBatch, error) {
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := rdr.Err(); err != nil {
		return nil, err
	}
	schema := rdr.Schema()
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		if len(parts) == 0 {
			cols[i] = array.MakeArrayOfNull(mem, schema.Field(i).Type, 0)
			continue
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, err
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(schema, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}
