package flight

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/miniodb/miniodb/shard"
)

// Statement handles (docs/format/ticket.md). The server keeps no state
// between calls: a handle carries everything needed to run its statement.
//
//	version 1:  0x01 | SQL (UTF-8)                       (earlier tickets; still read)
//	version 2:  0x02 | kind u8 | id [16]byte | body
//	  kind 1 (statement): SQL length u32 LE | SQL | parameters (Arrow IPC stream, may be absent)
//	  kind 2 (result):    affected rows i64 LE
//	  kind 3 (scoped statement): scope | then as kind 1
//	    scope: flags u8 (bit 0: partial results) | buffers: count u16 LE, each node id (length u8 | bytes)
//	           | files: count u16 LE, each node id (length u8 | bytes)
//
// The id is random per handle; CancelFlightInfo finds a running query by
// it. A kind 2 handle is the result of a DDL/DML statement already run by
// GetFlightInfo; DoGet only reports its row count. A kind 3 handle runs
// its statement over one part of a table (shard.Scope): one endpoint of a
// scan split by node, or a whole-table query that allows partial results.
const (
	handleV1 byte = 1
	handleV2 byte = 2

	kindStatement byte = 1
	kindResult    byte = 2
	kindScoped    byte = 3

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
	scope  *shard.Scope      // kindStatement: the part of the table to read; nil: all of it
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

// encode lays the handle out in version 2; a statement with a scope is
// kind 3.
func (h handle) encode() ([]byte, error) {
	kind := h.kind
	if kind == kindStatement && h.scope != nil {
		kind = kindScoped
	}
	b := append([]byte{handleV2, kind}, h.id[:]...)
	if h.kind == kindResult {
		return binary.LittleEndian.AppendUint64(b, uint64(h.rows)), nil
	}
	if h.scope != nil {
		var err error
		if b, err = appendScope(b, *h.scope); err != nil {
			return nil, err
		}
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
	case kindScoped:
		sc, rest, err := readScope(body)
		if err != nil {
			return handle{}, err
		}
		h.kind, h.scope = kindStatement, &sc
		return h, decodeStatement(&h, rest, mem)
	}
	return handle{}, errBadTicket
}

// scopePartial is the flag bit of a scope that allows partial results.
const scopePartial byte = 1

// appendScope lays out a scope: flags, then the two node lists.
func appendScope(b []byte, sc shard.Scope) ([]byte, error) {
	var flags byte
	if sc.Partial {
		flags |= scopePartial
	}
	b = append(b, flags)
	for _, ids := range [][]string{sc.Buffers, sc.Files} {
		if len(ids) > math.MaxUint16 {
			return nil, fmt.Errorf("scope of %d nodes", len(ids))
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(len(ids)))
		for _, id := range ids {
			if len(id) > math.MaxUint8 {
				return nil, fmt.Errorf("node id %q too long for a ticket", id)
			}
			b = append(append(b, byte(len(id))), id...)
		}
	}
	return b, nil
}

// readScope reads a scope and returns the bytes after it.
func readScope(b []byte) (shard.Scope, []byte, error) {
	if len(b) < 1 || b[0]&^scopePartial != 0 {
		return shard.Scope{}, nil, errBadTicket
	}
	sc := shard.Scope{Partial: b[0]&scopePartial != 0}
	b = b[1:]
	var err error
	if sc.Buffers, b, err = readNodeIDs(b); err != nil {
		return shard.Scope{}, nil, err
	}
	if sc.Files, b, err = readNodeIDs(b); err != nil {
		return shard.Scope{}, nil, err
	}
	return sc, b, nil
}

// readNodeIDs reads a count u16 and as many (length u8 | bytes) node ids.
func readNodeIDs(b []byte) ([]string, []byte, error) {
	if len(b) < 2 {
		return nil, nil, errBadTicket
	}
	n := int(binary.LittleEndian.Uint16(b))
	b = b[2:]
	var ids []string
	for range n {
		if len(b) < 1 || len(b) < 1+int(b[0]) || !utf8.Valid(b[1:1+int(b[0])]) {
			return nil, nil, errBadTicket
		}
		ids = append(ids, string(b[1:1+int(b[0])]))
		b = b[1+int(b[0]):]
	}
	return ids, b, nil
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
