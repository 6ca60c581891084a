package ingest

import (
	"encoding/hex"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestCommitRecordFormat pins the COMMIT layout of
// docs/format/ingest-wal-records.md.
func TestCommitRecordFormat(t *testing.T) {
	tests := []struct {
		name, incarnation, want string
	}{
		{"without incarnation", "", "02" + "0807060504030201" + "0200" + "7431" + "00" + "8877665544332211" + "00000000"},
		{"with incarnation", "AB", "02" + "0807060504030201" + "0200" + "7431" + "02" + "8877665544332211" + "00000000" + "0200" + "4142"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encodeCommit(0x0102030405060708, "t1", false, 0x1122334455667788, nil, tt.incarnation)
			if got := hex.EncodeToString(b); got != tt.want {
				t.Fatalf("COMMIT bytes\n got %s\nwant %s", got, tt.want)
			}
			c, err := decodeRecord(b, memory.DefaultAllocator)
			if err != nil || c.incarnation != tt.incarnation || c.replace {
				t.Fatalf("decoded %+v, %v", c, err)
			}
		})
	}
}

// TestPrepareAbortRecordFormat pins the PREPARE and ABORT layouts.
func TestPrepareAbortRecordFormat(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want string
		rec  walRecord
	}{
		{"prepare", encodePrepare(0x0102030405060708, "t1", "G7", "AB"),
			"03" + "0807060504030201" + "0200" + "7431" + "0200" + "4737" + "0200" + "4142",
			walRecord{kind: kindPrepare, txn: 0x0102030405060708, table: "t1", gid: "G7", incarnation: "AB"}},
		{"abort", encodeAbort(9, "t1"), "04" + "0900000000000000" + "0200" + "7431",
			walRecord{kind: kindAbort, txn: 9, table: "t1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hex.EncodeToString(tt.b); got != tt.want {
				t.Fatalf("bytes\n got %s\nwant %s", got, tt.want)
			}
			got, err := decodeRecord(tt.b, memory.DefaultAllocator)
			if err != nil || got != tt.rec {
				t.Fatalf("decoded %+v, %v; want %+v", got, err, tt.rec)
			}
			for n := range len(tt.b) - 1 {
				if _, err := decodeRecord(tt.b[:n], memory.DefaultAllocator); err == nil {
					t.Fatalf("%d of %d bytes decoded", n, len(tt.b))
				}
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, []bool{true, false, true})
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()

	data, err := encodeData(42, "events", rec)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(data[:13]) != "01"+"2a00000000000000"+"0600"+"6576" {
		t.Fatalf("DATA header %x", data[:13])
	}
	got, err := decodeRecord(data, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer got.batch.Release()
	if got.kind != kindData || got.txn != 42 || got.table != "events" || !array.RecordEqual(got.batch, rec) {
		t.Fatalf("decoded %+v", got)
	}

	c, err := decodeRecord(encodeCommit(42, "events", true, 99, schema, "01INC"), mem)
	if err != nil {
		t.Fatal(err)
	}
	if c.kind != kindCommit || !c.replace || c.arrival != 99 || !c.schema.Equal(schema) || c.incarnation != "01INC" {
		t.Fatalf("decoded commit %+v", c)
	}
}

func TestDecodeRejectsTruncatedRecords(t *testing.T) {
	full := encodeCommit(1, "table", true, 5, arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int32}}, nil), "01INCARNATION")
	for n := 0; n < len(full); n++ {
		if _, err := decodeRecord(full[:n], memory.DefaultAllocator); err == nil {
			t.Fatalf("a COMMIT cut to %d of %d bytes decoded without error", n, len(full))
		}
	}
}
