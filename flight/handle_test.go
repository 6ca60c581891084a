package flight

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/miniodb/miniodb/shard"
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
	for _, want := range []string{"| version |", "`2`", "| kind    |", "| id      |", "Arrow IPC stream", "rows_affected", "arrow-flight-reuse-connection://?", "TestHandleFormatGolden", "Kind 3, scoped statement", "TestHandleScopeRoundTrip"} {
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

// A scoped ticket (one endpoint of a scan split by node) carries its scope
// through encode and decode; kind 1 tickets issued before scopes existed
// still decode, as whole-table statements.
func TestHandleScopeRoundTrip(t *testing.T) {
	id := [idLen]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	h := handle{kind: kindStatement, id: id, sql: "SELECT 1", scope: &shard.Scope{Buffers: []string{"node-a"}, Files: []string{"", "n"}, Partial: true}}
	b, err := h.encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "02" + "03" + "000102030405060708090a0b0c0d0e0f" +
		"01" + "0100" + "06" + hex.EncodeToString([]byte("node-a")) + "0200" + "00" + "01" + hex.EncodeToString([]byte("n")) +
		"08000000" + hex.EncodeToString([]byte("SELECT 1"))
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("encode = %s, want %s", got, want)
	}
	back, err := decodeHandle(b, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	if back.kind != kindStatement || back.sql != "SELECT 1" || back.id != id || back.scope == nil ||
		!reflect.DeepEqual(*back.scope, *h.scope) {
		t.Fatalf("decode = %+v (scope %+v), want %+v", back, back.scope, *h.scope)
	}

	whole, err := handle{kind: kindStatement, id: id, sql: "SELECT 1", scope: &shard.Scope{Partial: true}}.encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err = decodeHandle(whole, memory.DefaultAllocator)
	if err != nil || back.scope == nil || !back.scope.Partial || !back.scope.Whole() {
		t.Fatalf("whole-table partial scope: %+v, %v", back.scope, err)
	}

	old, _ := hex.DecodeString("02" + "01" + "000102030405060708090a0b0c0d0e0f" + "08000000" + hex.EncodeToString([]byte("SELECT 1")))
	back, err = decodeHandle(old, memory.DefaultAllocator)
	if err != nil || back.scope != nil || back.sql != "SELECT 1" {
		t.Fatalf("kind 1 ticket: %+v, %v", back, err)
	}
	for name, bad := range map[string][]byte{
		"unknown_flag":       append(append([]byte{}, b[:18]...), 0x80, 0, 0, 0, 0),
		"ids_overrun":        append(append([]byte{}, b[:18]...), 0, 5, 0, 1, 'x'),
		"id_overruns":        append(append([]byte{}, b[:18]...), 0, 1, 0, 9, 'x'),
		"no_sql_after_scope": append(append([]byte{}, b[:18]...), 0, 0, 0, 0, 0),
		"truncated_scope":    b[:19],
	} {
		if _, err := decodeHandle(bad, memory.DefaultAllocator); !errors.Is(err, errBadTicket) {
			t.Errorf("%s: decodeHandle(%x) = %v, want errBadTicket", name, bad, err)
		}
	}
}

// Version 2 handles carry a seal: the issuing key opens them, a changed
// byte or another key does not, and a version 1 handle (SQL only) needs
// none.
func TestHandleSeal(t *testing.T) {
	a := NewServer(refuser{}, refuser{}, Config{HandleKey: []byte("cluster key")})
	b := NewServer(refuser{}, refuser{}, Config{HandleKey: []byte("cluster key")})
	other := NewServer(refuser{}, refuser{}, Config{HandleKey: []byte("another key")})
	sealed, err := a.encodeHandle(statementHandle("SELECT 1", nil))
	if err != nil {
		t.Fatal(err)
	}
	if h, err := b.decodeHandle(sealed); err != nil || h.sql != "SELECT 1" {
		t.Fatalf("a node with the same key: %+v, %v", h, err)
	}
	unsealed, _ := statementHandle("SELECT 1", nil).encode()
	flipped := append([]byte(nil), sealed...)
	flipped[len(flipped)-20] ^= 1
	for name, bad := range map[string][]byte{"other key": sealed, "changed byte": flipped, "no seal": unsealed, "short": sealed[:10]} {
		srv := a
		if name == "other key" {
			srv = other
		}
		if _, err := srv.decodeHandle(bad); !errors.Is(err, errBadTicket) {
			t.Errorf("%s: %v, want errBadTicket", name, err)
		}
	}
	if h, err := other.decodeHandle(append([]byte{handleV1}, "SELECT 2"...)); err != nil || h.sql != "SELECT 2" {
		t.Fatalf("version 1 handle: %+v, %v", h, err)
	}
}
