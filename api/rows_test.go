package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/objstore"
	"github.com/miniodb/miniodb/query"
)

func payloadRows(t *testing.T, payloads ...string) []row {
	t.Helper()
	var b strings.Builder
	for _, p := range payloads {
		b.WriteString(`{"table":"t","id":"x","payload":` + p + "}\n")
	}
	rows, err := decodeRows(strings.NewReader(b.String()), 100)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func field(name string, typ arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: typ, Nullable: true}
}

func TestPlanColumns(t *testing.T) {
	i64, f64, str, bl := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String, arrow.FixedWidthTypes.Boolean
	existing := arrow.NewSchema([]arrow.Field{field("id", str), field("timestamp", timeType), field("n", i64),
		field("d", f64), field("s", str), field("b", bl), field("small", arrow.PrimitiveTypes.Int8),
		field("when", timeType), field("blob", arrow.BinaryTypes.Binary)}, nil)
	tests := []struct {
		name     string
		have     *arrow.Schema
		payloads []string
		want     map[string]arrow.DataType // payload columns only
		widen    string
		err      string // substring of the InvalidArgument message
	}{
		{"integers", nil, []string{`{"age":30}`, `{"age":-7}`}, map[string]arrow.DataType{"age": i64}, "", ""},
		{"fractions", nil, []string{`{"score":95.5}`}, map[string]arrow.DataType{"score": f64}, "", ""},
		{"integers_widen_with_fractions", nil, []string{`{"v":1}`, `{"v":2.5}`}, map[string]arrow.DataType{"v": f64}, "", ""},
		{"exponent_is_double", nil, []string{`{"v":1e3}`}, map[string]arrow.DataType{"v": f64}, "", ""},
		{"beyond_int64_is_double", nil, []string{`{"v":99999999999999999999}`}, map[string]arrow.DataType{"v": f64}, "", ""},
		{"booleans", nil, []string{`{"ok":true}`, `{"ok":false}`}, map[string]arrow.DataType{"ok": bl}, "", ""},
		{"strings", nil, []string{`{"name":"John"}`}, map[string]arrow.DataType{"name": str}, "", ""},
		{"nested_as_json_text", nil, []string{`{"o":{"a":1}}`, `{"o":[1,2]}`, `{"o":"plain"}`}, map[string]arrow.DataType{"o": str}, "", ""},
		{"all_null_left_out", nil, []string{`{"gone":null}`}, map[string]arrow.DataType{}, "", ""},
		{"null_among_values", nil, []string{`{"v":null}`, `{"v":3}`}, map[string]arrow.DataType{"v": i64}, "", ""},
		{"number_and_string_refused", nil, []string{`{"v":1}`, `{"v":"1"}`}, nil, "", `column "v": row 0 sends a integer, row 1 a string`},
		{"bool_and_number_refused", nil, []string{`{"v":true}`, `{"v":1}`}, nil, "", "row 1 a integer"},
		{"payload_id_collides", nil, []string{`{"ID":1}`}, nil, "", `payload field "ID" collides with the row's id`},
		{"payload_timestamp_collides", nil, []string{`{"timestamp":"x"}`}, nil, "", "collides"},
		{"case_duplicates_refused", nil, []string{`{"a":1,"A":2}`}, nil, "", "differ only in case"},
		{"int_into_double_column", existing, []string{`{"d":3}`}, map[string]arrow.DataType{"d": f64}, "", ""},
		{"integral_double_into_int_column", existing, []string{`{"n":3.0}`}, map[string]arrow.DataType{"n": i64}, "", ""},
		{"fraction_widens_int_column", existing, []string{`{"n":1}`, `{"n":2.5}`}, map[string]arrow.DataType{"n": f64}, "n", ""},
		{"string_into_int_column_refused", existing, []string{`{"n":"7"}`}, nil, "", `column "n" has type int64; row 0 sends a string ("7")`},
		{"fraction_with_string_refused", existing, []string{`{"n":2.5}`, `{"n":"x"}`}, nil, "", `row 1 sends a string ("x")`},
		{"number_into_bool_column_refused", existing, []string{`{"b":1}`}, nil, "", `column "b" has type bool`},
		{"out_of_range_refused", existing, []string{`{"small":300}`}, nil, "", "300 is out of range"},
		{"time_string_into_timestamp_column", existing, []string{`{"when":"2024-01-01T10:00:00Z"}`}, map[string]arrow.DataType{"when": timeType}, "", ""},
		{"bad_time_string_refused", existing, []string{`{"when":"yesterday"}`}, nil, "", "not an RFC 3339 time"},
		{"json_into_string_column", existing, []string{`{"s":{"k":"v"}}`}, map[string]arrow.DataType{"s": str}, "", ""},
		{"case_insensitive_match_keeps_table_spelling", existing, []string{`{"N":5}`}, map[string]arrow.DataType{"n": i64}, "", ""},
		{"binary_column_refused", existing, []string{`{"blob":"x"}`}, nil, "", "cannot write binary columns"},
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := payloadRows(t, tt.payloads...)
			cols, err := planColumns("t", tt.have, rows, now)
			if tt.err != "" {
				if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want InvalidArgument containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cols[0].name != "id" || cols[1].name != "timestamp" {
				t.Fatalf("first columns %s, %s; want id, timestamp", cols[0].name, cols[1].name)
			}
			got := map[string]arrow.DataType{}
			for _, c := range cols[2:] {
				got[c.name] = c.typ
				if c.widen != (c.name == tt.widen) {
					t.Errorf("column %s widen = %v", c.name, c.widen)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("columns %v, want %v", got, tt.want)
			}
			for n, typ := range tt.want {
				if !arrow.TypeEqual(got[n], typ) {
					t.Errorf("column %s: %v, want %v", n, got[n], typ)
				}
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rec := buildBatch(mem, cols, rows)
			if rec.NumRows() != int64(len(rows)) {
				t.Errorf("batch has %d rows, want %d", rec.NumRows(), len(rows))
			}
			rec.Release()
		})
	}
}

func TestBuildBatchValues(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	rows, err := decodeRows(strings.NewReader(`[
		{"table":"t","id":"a","timestamp":"2024-01-01T10:00:00Z","payload":{"n":1,"f":2.5,"b":true,"s":"x","o":{"z":1,"a":[true,null]}}},
		{"table":"t","id":42,"payload":{"n":null}}]`), 10)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := planColumns("t", nil, rows, now)
	if err != nil {
		t.Fatal(err)
	}
	rec := buildBatch(mem, cols, rows)
	defer rec.Release()
	want := []string{`["a" "42"]`, `[1704103200000000 1735787045000000]`, `[true (null)]`, `[2.5 (null)]`, `[1 (null)]`,
		`["{\"a\":[true,null],\"z\":1}" (null)]`, `["x" (null)]`}
	names := []string{"id", "timestamp", "b", "f", "n", "o", "s"}
	for i, col := range rec.Columns() {
		if rec.ColumnName(i) != names[i] {
			t.Errorf("column %d is %s, want %s", i, rec.ColumnName(i), names[i])
		}
		if got := col.String(); got != want[i] {
			t.Errorf("column %s = %s, want %s", rec.ColumnName(i), got, want[i])
		}
	}
}

func TestRowFromProto(t *testing.T) {
	payload, err := structpb.NewStruct(map[string]any{"name": "John", "age": 30, "score": 95.5, "tags": []any{"a"}, "nil": nil})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)
	r, err := rowFromProto(&olapv1.WriteRequest{Table: "users", Id: "user-123", Timestamp: timestamppb.New(ts), Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	if r.table != "users" || r.id != "user-123" || !r.ts.Equal(ts) {
		t.Errorf("row = %+v", r)
	}
	want := map[string]kind{"name": kindString, "age": kindInt, "score": kindFloat, "tags": kindJSON, "nil": kindNull}
	for n, k := range want {
		if r.fields[n].kind != k {
			t.Errorf("field %s is %s, want %s", n, r.fields[n].kind, k)
		}
	}
	if _, err := rowFromProto(&olapv1.WriteRequest{Timestamp: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("invalid timestamp: %v, want InvalidArgument", err)
	}
	empty := &structpb.Struct{Fields: map[string]*structpb.Value{"name": {}}}
	if _, err := rowFromProto(&olapv1.WriteRequest{Payload: empty}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `"name"`) {
		t.Errorf("a value without kind: %v, want InvalidArgument naming the field", err)
	}
}

func TestDecodeRows(t *testing.T) {
	tests := []struct {
		name, body string
		rows       int
		err        string
	}{
		{"single", `{"table":"t","id":"1","payload":{"a":1}}`, 1, ""},
		{"array", `[{"table":"t"},{"table":"u"}]`, 2, ""},
		{"ndjson", "{\"table\":\"t\"}\n{\"table\":\"t\"}\n\n{\"table\":\"t\"}\n", 3, ""},
		{"leading_space", "  \n[{}]", 1, ""},
		{"empty", "  ", 0, "the body is empty"},
		{"empty_array", "[]", 0, "holds no rows"},
		{"scalar", "42", 0, "must be a row object"},
		{"malformed", `{"table":`, 0, "malformed JSON"},
		{"trailing_after_array", `[{}] {}`, 0, "unexpected data after"},
		{"unknown_field", `{"tabel":"t"}`, 0, `unknown field "tabel"`},
		{"bad_timestamp", `{"timestamp":"2024-13-01"}`, 0, "is not RFC 3339"},
		{"numeric_timestamp", `{"timestamp":1700000000}`, 0, "must be an RFC 3339 string"},
		{"object_id", `{"id":{"x":1}}`, 0, "id must be a string"},
		{"too_many_rows", strings.Repeat("{}\n", 6), 0, "more than 5 rows"},
		{"too_many_rows_array", "[" + strings.Repeat("{},", 5) + "{}]", 0, "more than 5 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := decodeRows(strings.NewReader(tt.body), 5)
			if tt.err != "" {
				if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want InvalidArgument containing %q", err, tt.err)
				}
				return
			}
			if err != nil || len(rows) != tt.rows {
				t.Fatalf("rows = %d, err = %v; want %d rows", len(rows), err, tt.rows)
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		err  error
		code codes.Code
		http int
	}{
		{fmt.Errorf("x: %w", ingest.ErrInvalid), codes.InvalidArgument, 400},
		{fmt.Errorf("x: %w", query.ErrInvalid), codes.InvalidArgument, 400},
		{fmt.Errorf("x: %w", ingest.ErrTableExists), codes.AlreadyExists, 409},
		{fmt.Errorf("x: %w", ingest.ErrTableNotFound), codes.NotFound, 404},
		{fmt.Errorf("x: %w", catalog.ErrTableNotFound), codes.NotFound, 404},
		{fmt.Errorf("x: %w", ingest.ErrTableLimit), codes.ResourceExhausted, 429},
		{fmt.Errorf("x: %w", ingest.ErrBackpressure), codes.ResourceExhausted, 429},
		{fmt.Errorf("x: %w", query.ErrResources), codes.ResourceExhausted, 429},
		{fmt.Errorf("x: %w", ingest.ErrClosed), codes.Unavailable, 503},
		{fmt.Errorf("x: %w", objstore.ErrUnavailable), codes.Unavailable, 503},
		{fmt.Errorf("x: %w", catalog.ErrCatalogLost), codes.Unavailable, 503},
		{fmt.Errorf("x: %w", query.ErrRefused), codes.PermissionDenied, 403},
		{fmt.Errorf("x: %w", query.ErrCanceled), codes.Canceled, 499},
		{context.DeadlineExceeded, codes.DeadlineExceeded, 504},
		{errUnimplementedBackup, codes.Unimplemented, 501},
		{status.Error(codes.FailedPrecondition, "x"), codes.FailedPrecondition, 412},
		{errors.New("disk on fire"), codes.Internal, 500},
		{&http.MaxBytesError{Limit: 10}, codes.ResourceExhausted, 413},
	}
	for _, tt := range tests {
		h, c, msg := restStatus(tt.err)
		if c != tt.code || h != tt.http || msg == "" {
			t.Errorf("%v: %d %s %q, want %d %s", tt.err, h, c, msg, tt.http, tt.code)
		}
	}
}
