package flight

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestHandleFormatGolden pins the layout of docs/format/ticket.md.
func TestHandleFormatGolden(t *testing.T) {
	id := [idLen]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	tests := []struct {
		name string
		h    handle
		want string
	}{
		{"statement", handle{kind: kindStatement, id: id, sql: "SELECT 1"},
			"02" + "01" + "000102030405060708090a0b0c0d0e0f" + "08000000" + hex.EncodeToString([]byte("SELECT 1"))},
		{"result", handle{kind: kindResult, id: id, rows: 258},
			"02" + "02" + "000102030405060708090a0b0c0d0e0f" + "0201000000000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.h.encode()
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.want {
				t.Fatalf("encode = %s, want %s", got, tc.want)
			}
			back, err := decodeHandle(b, memory.DefaultAllocator)
			if err != nil {
				t.Fatal(err)
			}
			if back.kind != tc.h.kind || back.id != tc.h.id || back.sql != tc.h.sql || back.rows != tc.h.rows {
				t.Fatalf("decode = %+v, want %+v", back, tc.h)
			}
		})
	}
	v1, err := decodeHandle(append([]byte{1}, "SELECT 2"...), memory.DefaultAllocator)
	if err != nil || v1.sql != "SELECT 2" || v1.id != ([idLen]byte{}) {
		t.Fatalf("version 1 ticket: %+v, %v", v1, err)
	}
}

func TestHandleCarriesParameters(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"x", ""}, []bool{true, false})
	params := b.NewRecordBatch()
	b.Release()
	h := statementHandle("SELECT $1, $2", params)
	enc, err := h.encode()
	params.Release()
	if err != nil {
		t.Fatal(err)
	}
	other := statementHandle("SELECT $1, $2", nil)
	if other.id == h.id {
		t.Fatal("two handles share an id")
	}
	back, err := decodeHandle(enc, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer back.release()
	if back.sql != "SELECT $1, $2" || back.params == nil || back.params.NumRows() != 2 {
		t.Fatalf("decoded %+v", back)
	}
	if got := back.params.Column(0).(*array.Int64).Value(1); got != 2 || !back.params.Column(1).IsNull(1) {
		t.Fatalf("parameters %v", back.params)
	}
}

func TestHandleRejectsMalformed(t *testing.T) {
	good, _ := handle{kind: kindStatement, sql: "SELECT 1"}.encode()
	tests := map[string][]byte{
		"empty":           nil,
		"unknown_version": append([]byte{9}, good[1:]...),
		"unknown_kind":    append([]byte{2, 7}, good[2:]...),
		"short_header":    good[:10],
		"sql_overruns":    append(append([]byte{}, good[:18]...), 0xff, 0, 0, 0, 'x'),
		"empty_sql":       append(append([]byte{}, good[:18]...), 0, 0, 0, 0),
		"bad_utf8":        append(append([]byte{}, good[:18]...), 1, 0, 0, 0, 0xff),
		"bad_params":      append(append([]byte{}, good...), 1, 2, 3),
		"result_short":    {2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		"v1_bad_utf8":     {1, 0xff},
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			h, err := decodeHandle(b, memory.DefaultAllocator)
			if !errors.Is(err, errBadTicket) {
				t.Fatalf("decodeHandle(%x) = %+v, %v; want errBadTicket", b, h, err)
			}
		})
	}
}

func TestTicketFormatDocumented(t *testing.T) {
	doc := readDoc(t, "../docs/format/ticket.md")
	for _, want := range []string{"| version |", "`2`", "| kind    |", "| id      |", "Arrow IPC stream", "rows_affected", "arrow-flight-reuse-connection://?", "TestHandleFormatGolden"} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/format/ticket.md does not mention %q", want)
		}
	}
}

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(b))
}
