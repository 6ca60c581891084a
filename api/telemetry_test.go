package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
	"github.com/miniodb/miniodb/ingest"
)

// TestRequestLogs: one line per request, REST and gRPC, each with its
// request id and table; probes at debug.
func TestRequestLogs(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := metadata.AppendToOutgoingContext(context.Background(), RequestIDHeader, "grpc-req-7")
	if _, err := e.olap.Write(ctx, &olapv1.WriteRequest{Table: "logs", Id: "1"}); err != nil {
		t.Fatal(err)
	}
	grpcLines := e.logs.FilterMessage("finished call").FilterField(zap.String("request_id", "grpc-req-7"))
	if grpcLines.Len() != 1 {
		t.Fatalf("%d gRPC log lines for the request, want 1: %v", grpcLines.Len(), e.logs.All())
	}
	line := grpcLines.All()[0]
	if line.Level != zap.InfoLevel || line.ContextMap()["table"] != "logs" || line.ContextMap()["grpc.method"] != "Write" {
		t.Errorf("gRPC line %v %v", line.Level, line.ContextMap())
	}
	resp, _ := e.do("POST", "/v1/query", "application/json", `{"sql":"SELECT * FROM logs"}`)
	id := resp.Header.Get(RequestIDHeader)
	restLines := e.logs.FilterMessage("finished request").FilterField(zap.String("request_id", id))
	if restLines.Len() != 1 {
		t.Fatalf("%d REST log lines for %s, want 1", restLines.Len(), id)
	}
	if m := restLines.All()[0].ContextMap(); m["table"] != "logs" || m["method"] != "query" || m["http.status"] != int64(200) {
		t.Errorf("REST line %v", m)
	}
	e.do("GET", "/v1/health", "", "")
	for _, l := range e.logs.FilterMessage("finished request").FilterField(zap.String("http.path", "/v1/health")).All() {
		if l.Level != zap.DebugLevel {
			t.Errorf("health probe logged at %s, want debug", l.Level)
		}
	}
	resp, _ = e.do("GET", "/v1/tables/nope", "", "")
	nf := e.logs.FilterMessage("finished request").FilterField(zap.String("request_id", resp.Header.Get(RequestIDHeader))).All()
	if len(nf) != 1 || nf[0].Level != zap.InfoLevel {
		t.Errorf("not-found logged as %v, want one line at info", nf)
	}
}

// TestSlowQueryLog: a query over the threshold is logged at warn with its
// SQL, request id and tables, and counted.
func TestSlowQueryLog(t *testing.T) {
	e := newEnv(t, envOpts{slowQuery: time.Nanosecond})
	e.mustDo(200, "POST", "/v1/data", `{"table":"slow","id":"1","payload":{"v":1}}`)
	resp, _ := e.do("POST", "/v1/query", "application/json", `{"sql":"SELECT sum(v) FROM slow"}`)
	slow := e.logs.FilterMessage("slow query").All()
	if len(slow) != 1 {
		t.Fatalf("%d slow-query lines, want 1", len(slow))
	}
	m := slow[0].ContextMap()
	if slow[0].Level != zap.WarnLevel || m["sql"] != "SELECT sum(v) FROM slow" || m["request_id"] != resp.Header.Get(RequestIDHeader) || m["table"] != "slow" {
		t.Errorf("slow-query line %s %v", slow[0].Level, m)
	}
	if e.metrics.slow.Load() != 1 {
		t.Errorf("slow queries counted %d, want 1", e.metrics.slow.Load())
	}
	fast := newEnv(t, envOpts{slowQuery: -1})
	fast.mustDo(200, "POST", "/v1/query", `{"sql":"SELECT 1"}`)
	if n := fast.logs.FilterMessage("slow query").Len(); n != 0 {
		t.Errorf("disabled threshold logged %d slow queries", n)
	}
}

// TestMetricsAcrossPaths: gRPC and REST count under the same method names;
// flushes, cache and table state show up.
func TestMetricsAcrossPaths(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	if _, err := e.olap.Write(ctx, &olapv1.WriteRequest{Table: "m", Id: "1"}); err != nil {
		t.Fatal(err)
	}
	e.mustDo(200, "POST", "/v1/data", `{"table":"m","id":"2","payload":{"x":1}}`)
	e.olap.Query(ctx, &olapv1.QueryRequest{Sql: "SELECT * FROM nope"})
	if err := e.ingest.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	e.mustDo(200, "POST", "/v1/query", `{"sql":"SELECT count(*) FROM m"}`) // reads the flushed file through the cache
	body := string(e.mustDo(200, "GET", "/metrics", ""))
	for _, want := range []string{
		`miniodb_requests_total{method="write",status="success",table="m"} 2`,
		`miniodb_requests_total{method="query",status="not_found",table=""} 1`,
		`miniodb_requests_duration_seconds_count{method="write",table="m"} 2`,
		`miniodb_data_points_total{table="m"} 2`,
		`miniodb_flushes_total{status="success",table="m"} 1`,
		`miniodb_flush_rows_total{table="m"} 2`,
		`miniodb_flush_files_total{table="m"}`,
		`miniodb_storage_objects_total{bucket="objects",table="m"}`,
		`miniodb_table_file_count{table="m"}`,
		`miniodb_table_record_count{table="m"} 2`,
		`miniodb_table_buffer_utilization{table="m"} 0`,
		`miniodb_query_latency_seconds_count{sql_type="select",table="m"} 1`,
		`miniodb_cache_objects`,
		`miniodb_cache_hits_total`,
		`miniodb_wal_bytes`,
		`miniodb_pool_max_connections{pool="duckdb"} 4`,
		`miniodb_ingest_duration_seconds_count{status="success"} 2`,
		`process_start_time_seconds`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	e.metrics.BackupFile("m", "success")
	if body := string(e.mustDo(200, "GET", "/metrics", "")); !strings.Contains(body, `miniodb_backup_files_total{status="success",table="m"} 1`) {
		t.Error("/metrics lacks miniodb_backup_files_total")
	}
}

// TestWidenColumn: an integer column that receives a fraction becomes
// DOUBLE, and the rows written before read back as numbers, from the
// buffer and from Parquet alike.
func TestWidenColumn(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	e.mustDo(200, "POST", "/v1/data", `[{"table":"w","id":"1","payload":{"score":95}},{"table":"w","id":"2","payload":{"score":80}}]`)
	if err := e.ingest.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	e.mustDo(200, "POST", "/v1/data", `{"table":"w","id":"3","payload":{"score":7}}`)
	e.mustDo(200, "POST", "/v1/data", `{"table":"w","id":"4","payload":{"score":95.5}}`)
	check := func(when string) {
		t.Helper()
		qr, err := e.olap.Query(ctx, &olapv1.QueryRequest{Sql: "SELECT id, score FROM w ORDER BY id"})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		want := `[{"id":"1","score":95},{"id":"2","score":80},{"id":"3","score":7},{"id":"4","score":95.5}]`
		if qr.ResultJson != want || qr.Columns[1].Type != "float64" {
			t.Errorf("%s: %s %v, want %s as float64", when, qr.ResultJson, qr.Columns, want)
		}
	}
	check("files and buffer")
	if err := e.ingest.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	check("files only")
	body := e.mustDo(400, "POST", "/v1/data", `{"table":"w","id":"5","payload":{"score":"high"}}`)
	if !strings.Contains(string(body), `column \"score\" has type float64`) {
		t.Errorf("string into the widened column: %s", body)
	}
}

// TestQueryFailsMidStream: a query that fails after rows went out ends a
// JSON answer with an error member and cuts an Arrow stream short.
func TestQueryFailsMidStream(t *testing.T) {
	e := newEnv(t, envOpts{})
	const n = 1 << 20 // enough that DuckDB streams: a small result is computed whole before the first batch
	b := array.NewInt64Builder(memory.DefaultAllocator)
	for i := range n {
		b.Append(int64(i))
	}
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, n)
	col.Release()
	rdr, _ := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	rec.Release()
	if _, err := e.ingest.Ingest(context.Background(), ingest.Request{Table: "big", IfMissing: ingest.CreateIfMissing, IfExists: ingest.Append, Batches: rdr}); err != nil {
		t.Fatal(err)
	}
	rdr.Release()
	sql := fmt.Sprintf(`{"sql":"SELECT CASE WHEN v >= %d THEN error('boom at ' || v) ELSE v END AS v FROM big"}`, n-1000)
	resp, body := e.do("POST", "/v1/query", "application/json", sql)
	switch resp.StatusCode {
	case 200:
		var got struct {
			Rows     []map[string]any `json:"rows"`
			RowCount int              `json:"row_count"`
			Error    *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("answer is not JSON: %v", err)
		}
		if got.Error == nil || !strings.Contains(got.Error.Message, "boom") || got.RowCount != len(got.Rows) || got.RowCount >= n {
			t.Errorf("row_count %d, error %+v", got.RowCount, got.Error)
		}
	default:
		t.Fatalf("status %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", e.rest.URL+"/v1/query", strings.NewReader(sql))
	req.Header.Set("Accept", ArrowStreamType)
	aresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer aresp.Body.Close()
	if aresp.StatusCode != 200 {
		t.Fatalf("Arrow: status %d", aresp.StatusCode)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ar, err := ipc.NewReader(aresp.Body, ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Release()
	for ar.Next() {
	}
	if ar.Err() == nil {
		t.Error("a failed Arrow stream read as complete")
	}
}

// TestPanicRecovery: a handler that panics answers 500 with a JSON error
// naming the request, and the server goes on.
func TestPanicRecovery(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	tel := NewTelemetry(TelemetryConfig{Log: zap.New(core), Metrics: NewMetrics("n")})
	srv := httptest.NewServer(tel.wrapHTTP("boom", false, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("bad") })))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get(RequestIDHeader)
	if resp.StatusCode != 500 || !strings.Contains(string(body), `"code":13`) || !strings.Contains(string(body), id) {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	if logs.FilterMessage("panic serving a request").Len() != 1 {
		t.Error("panic not logged")
	}
	if statusLabel(codes.Internal) != "internal" || statusLabel(codes.OK) != "success" || statusLabel(codes.InvalidArgument) != "invalid_argument" {
		t.Error("status labels")
	}
	if methodLabel("olap.v1.OlapService", "CreateTable") != "create_table" || methodLabel("arrow.flight.protocol.FlightService", "DoPut") != "flight_do_put" {
		t.Error("method labels")
	}
}
