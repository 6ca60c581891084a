package api

import (
	"bytes"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
)

// FuzzRESTRows maps arbitrary POST /v1/data bodies to rows, columns and an
// Arrow batch: each body is refused with InvalidArgument or becomes a
// batch with one row per input row, never a panic or a leaked buffer. The
// second argument plays the table's existing schema (an int64 column x or
// none).
func FuzzRESTRows(f *testing.F) {
	for _, s := range []string{
		`{"table":"t","id":"1","payload":{"a":1,"b":"x","c":true,"d":[1,2],"e":{"k":null}}}`,
		`[{"id":"1","timestamp":"2024-01-01T00:00:00Z","payload":{"x":1.5}},{"id":"2","payload":{"x":2}}]`,
		"{\"id\":\"1\",\"payload\":{}}\n{\"id\":\"2\",\"payload\":{\"y\":null}}",
		`{"payload":{"id":1}}`, `{"payload":{"":1}}`, `[]`, `x`, `{"payload":{"x":1e400}}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, existing bool) {
		rows, err := decodeRows(bytes.NewReader(body), 100)
		if err != nil {
			requireInvalid(t, err)
			return
		}
		var have *arrow.Schema
		if existing {
			have = arrow.NewSchema(append(rowSchema().Fields(), arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), nil)
		}
		cols, err := planColumns("t", have, rows, time.Unix(0, 0))
		if err != nil {
			requireInvalid(t, err)
			return
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		rec := buildBatch(mem, cols, rows)
		defer rec.Release()
		if rec.NumRows() != int64(len(rows)) {
			t.Fatalf("%d rows became %d", len(rows), rec.NumRows())
		}
	})
}

// FuzzOlapWriteRequest maps arbitrary OlapService Write requests (as
// protojson) to rows: InvalidArgument or a row, never a panic.
func FuzzOlapWriteRequest(f *testing.F) {
	f.Add([]byte(`{"table":"t","id":"1","timestamp":"2024-01-01T00:00:00Z","payload":{"a":1,"b":"x","n":null,"l":[1,"a"]}}`))
	f.Add([]byte(`{"payload":{"x":{"y":{"z":[]}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req olapv1.WriteRequest
		if protojson.Unmarshal(b, &req) != nil {
			return
		}
		if _, err := rowFromProto(&req); err != nil {
			requireInvalid(t, err)
		}
	})
}

func requireInvalid(t *testing.T, err error) {
	t.Helper()
	if c := status.Code(toStatus(err)); c != codes.InvalidArgument && c != codes.ResourceExhausted {
		t.Fatalf("refused with %s, want InvalidArgument: %v", c, err)
	}
}
