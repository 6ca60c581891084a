package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// WAL record payloads (see docs/format/ingest-wal-records.md):
//
//	DATA:   kind=1 | txn u64 | table len u16 | table | Arrow IPC stream (schema + one batch)
//	COMMIT: kind=2 | txn u64 | table len u16 | table | flags u8 | arrival unix nanos i64 | schema len u32 | schema IPC
//	        [| incarnation len u16 | incarnation]   (flags bit 1)
//	PREPARE: kind=3 | txn u64 | table len u16 | table | gid len u16 | gid | incarnation len u16 | incarnation
//	ABORT:  kind=4 | txn u64 | table len u16 | table
//
// Integers are little-endian. flags bit 0 = replace; the schema is present
// only for a replace (it becomes the table's schema). flags bit 1 = the
// table incarnation follows (catalog.Table.Incarnation; absent in records
// written before incarnations).
const (
	kindData    byte = 1
	kindCommit  byte = 2
	kindPrepare byte = 3
	kindAbort   byte = 4

	flagReplace     byte = 1
	flagIncarnation byte = 2
)

var errBadRecord = errors.New("malformed ingest WAL record")

type walRecord struct {
	kind    byte
	txn     uint64
	table   string
	batch   arrow.RecordBatch // DATA
	replace bool              // COMMIT
	arrival int64             // COMMIT, unix nanos
	schema  *arrow.Schema     // COMMIT with replace
	// incarnation is the table's life the COMMIT or PREPARE belongs to:
	// for a replace, the new one ("" in old records).
	incarnation string
	gid         string // PREPARE: the split ingest's id (catalog.Decisions)
}

func appendHeader(b []byte, kind byte, txn uint64, table string) []byte {
	b = append(b, kind)
	b = binary.LittleEndian.AppendUint64(b, txn)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(table)))
	return append(b, table...)
}

func encodeData(txn uint64, table string, rec arrow.RecordBatch) ([]byte, error) {
	var buf bytes.Buffer
	if err := appendData(&buf, txn, table, rec); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// appendData writes the DATA record of rec into buf.
func appendData(buf *bytes.Buffer, txn uint64, table string, rec arrow.RecordBatch) error {
	// Sized up front: growing by doubling cleared and copied the buffer
	// over and over, 7% of a node's CPU ingesting lineitem (pprof). The IPC
	// stream adds the schema, the batch's metadata and 8-byte padding per
	// buffer to the buffers' bytes.
	buf.Grow(int(BatchBytes(rec)) + 64*int(rec.NumCols()) + 4096)
	buf.Write(appendHeader(nil, kindData, txn, table))
	w := ipc.NewWriter(buf, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	return w.Close()
}

func encodeCommit(txn uint64, table string, replace bool, arrival int64, schema *arrow.Schema, incarnation string) []byte {
	b := appendHeader(nil, kindCommit, txn, table)
	var flags byte
	var sch []byte
	if replace {
		flags |= flagReplace
		sch = serializeSchema(schema)
	}
	if incarnation != "" {
		flags |= flagIncarnation
	}
	b = append(b, flags)
	b = binary.LittleEndian.AppendUint64(b, uint64(arrival))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(sch)))
	b = append(b, sch...)
	if incarnation != "" {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(incarnation)))
		b = append(b, incarnation...)
	}
	return b
}

// encodePrepare marks txn as one owner's prepared part of the split ingest
// gid: durable, waiting for the outcome the Decisions register records.
func encodePrepare(txn uint64, table, gid, incarnation string) []byte {
	b := appendHeader(nil, kindPrepare, txn, table)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(gid)))
	b = append(b, gid...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(incarnation)))
	return append(b, incarnation...)
}

// encodeAbort ends a prepared transaction without its rows, so that a
// replay need not ask for its outcome.
func encodeAbort(txn uint64, table string) []byte {
	return appendHeader(nil, kindAbort, txn, table)
}

func serializeSchema(s *arrow.Schema) []byte {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s))
	w.Close()
	return buf.Bytes()
}

func deserializeSchema(b []byte) (*arrow.Schema, error) {
	r, err := ipc.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer r.Release()
	return r.Schema(), nil
}

func decodeRecord(p []byte, mem memory.Allocator) (walRecord, error) {
	if len(p) < 11 {
		return walRecord{}, errBadRecord
	}
	rec := walRecord{kind: p[0], txn: binary.LittleEndian.Uint64(p[1:9])}
	n := int(binary.LittleEndian.Uint16(p[9:11]))
	if len(p) < 11+n {
		return walRecord{}, errBadRecord
	}
	rec.table, p = string(p[11:11+n]), p[11+n:]
	switch rec.kind {
	case kindData:
		return rec, decodeBatch(&rec, p, mem)
	case kindCommit:
		return rec, decodeCommit(&rec, p)
	case kindPrepare:
		var ok bool
		if rec.gid, p, ok = cutString16(p); !ok {
			return walRecord{}, errBadRecord
		}
		if rec.incarnation, p, ok = cutString16(p); !ok || len(p) != 0 {
			return walRecord{}, errBadRecord
		}
		return rec, nil
	case kindAbort:
		if len(p) != 0 {
			return walRecord{}, errBadRecord
		}
		return rec, nil
	}
	return walRecord{}, fmt.Errorf("%w: kind %d", errBadRecord, rec.kind)
}

func decodeBatch(rec *walRecord, p []byte, mem memory.Allocator) error {
	r, err := ipc.NewReader(bytes.NewReader(p), ipc.WithAllocator(mem))
	if err != nil {
		return fmt.Errorf("decode batch: %w", err)
	}
	defer r.Release()
	if !r.Next() {
		return fmt.Errorf("%w: no batch: %v", errBadRecord, r.Err())
	}
	rec.batch = r.RecordBatch()
	rec.batch.Retain()
	return nil
}

func decodeCommit(rec *walRecord, p []byte) error {
	if len(p) < 13 {
		return errBadRecord
	}
	rec.replace = p[0]&flagReplace != 0
	rec.arrival = int64(binary.LittleEndian.Uint64(p[1:9]))
	n := int(binary.LittleEndian.Uint32(p[9:13]))
	if len(p) < 13+n {
		return errBadRecord
	}
	if rec.replace {
		s, err := deserializeSchema(p[13 : 13+n])
		if err != nil {
			return fmt.Errorf("decode replace schema: %w", err)
		}
		rec.schema = s
	}
	if p[0]&flagIncarnation != 0 {
		p = p[13+n:]
		if len(p) < 2 || len(p) < 2+int(binary.LittleEndian.Uint16(p)) {
			return errBadRecord
		}
		rec.incarnation = string(p[2 : 2+int(binary.LittleEndian.Uint16(p))])
	}
	return nil
}

// cutString16 splits a u16-length-prefixed string off p.
func cutString16(p []byte) (string, []byte, bool) {
	if len(p) < 2 {
		return "", nil, false
	}
	n := int(binary.LittleEndian.Uint16(p))
	if len(p) < 2+n {
		return "", nil, false
	}
	return string(p[2 : 2+n]), p[2+n:], true
}
